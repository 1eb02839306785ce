//! Elementwise kernels: unary maps, broadcasting binary ops, `where`.
//!
//! Each kernel is a loop over whole vectors plus one partial vector for the
//! tail (loaded with padding and stored masked), so every element — tail
//! included — goes through the same vector formula and the result does not
//! depend on where a chunk boundary falls. Large inputs are cut into
//! [`TASK_ELEMS`]-sized pieces for rayon before dispatching to the SIMD code.

use crate::isa::isa;
use crate::layout::{coalesce, for_each_run};
use crate::math;
use crate::par::{worth_parallel, TASK_ELEMS};
use crate::reference::erf;
use crate::simd::{dispatch, Simd, MAX_LANES};
use rayon::prelude::*;

/// Declares the unary ops, one row each, and derives from the rows
/// everything that lists them: the [`UnaryOp`] enum, [`UnaryOp::ALL`], the
/// op's number in the WGSL switch ([`UnaryOp::code`]), its scalars
/// ([`UnaryOp::scalars`]), the SIMD kernel's dispatch and the reference's
/// definition. A row reads
///
/// ```text
/// Name(param: f32 = sample, ..) = code,
///     fast |s, v| <vector formula over the Simd token s>,
///     exact |x| <the defining formula in f64, for `reference`>;
/// ```
///
/// The two formulas are written differently on purpose: `fast` is what ships
/// (the polynomial approximations of `math.rs`, masks and selects), `exact` is
/// the textbook definition on libm's f64 functions, so the reference test
/// compares two independent derivations instead of one formula with itself.
macro_rules! unary_ops {
    ($(
        $(#[$meta:meta])*
        $name:ident $(( $($p:ident: $t:ty = $sample:expr),+ ))? = $code:literal,
            fast |$s:ident, $v:ident| $fast:expr,
            exact |$x:ident| $exact:expr;
    )*) => {
        /// A one-input elementwise function.
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub enum UnaryOp {
            $( $(#[$meta])* $name $(( $($t),+ ))?, )*
        }

        // The numbers as enum discriminants, so a number given twice is a
        // compile error rather than two ops sharing one WGSL case.
        #[repr(u32)]
        enum Code {
            $( $name = $code, )*
        }

        impl UnaryOp {
            /// Every op once (those with parameters at a sample value): the
            /// list the kernel tests of both backends walk, so a new op is
            /// tested against the reference without a new test line.
            pub const ALL: &'static [UnaryOp] = &[ $( UnaryOp::$name $(( $($sample),+ ))?, )* ];

            /// The op's number: the `case` of `unary_op` in
            /// shaders/elementwise.wgsl that computes it.
            pub fn code(self) -> u32 {
                match self {
                    $( UnaryOp::$name { .. } => Code::$name as u32, )*
                }
            }

            /// The op's parameters in declaration order, zero-padded: the
            /// shader's `a` and `b`.
            pub fn scalars(self) -> [f32; 2] {
                let given: &[f32] = match self {
                    $( UnaryOp::$name $(( $($p),+ ))? => &[$($($p),+)?], )*
                };
                let mut both = [0.0; 2];
                both[..given.len()].copy_from_slice(given);
                both
            }

            /// The defining formula in f64 (see `reference::unary_scalar`).
            pub(crate) fn exact(self, x: f64) -> f64 {
                match self {
                    $( UnaryOp::$name $(( $($p),+ ))? => { let $x = x; $exact } )*
                }
            }
        }

        #[inline(always)]
        fn unary_simd<S: Simd>(s: S, op: UnaryOp, x: &[f32], out: &mut [f32]) {
            // Each closure is forced inline so it is compiled inside the ISA
            // trampoline too.
            match op {
                $( UnaryOp::$name $(( $($p),+ ))? => map(s, x, out, #[inline(always)] |$v| {
                    let $s = s;
                    $fast
                }), )*
            }
        }
    };
}

unary_ops! {
    Neg = 0,
        fast |s, v| s.neg(v),
        exact |x| -x;
    Exp = 1,
        fast |s, v| math::exp(s, v),
        exact |x| x.exp();
    Log = 2,
        fast |s, v| math::ln(s, v),
        exact |x| x.ln();
    Sqrt = 3,
        fast |s, v| s.sqrt(v),
        exact |x| x.sqrt();
    Tanh = 4,
        fast |s, v| math::tanh(s, v),
        exact |x| x.tanh();
    Sigmoid = 5,
        fast |s, v| math::sigmoid(s, v),
        exact |x| 1.0 / (1.0 + (-x).exp());
    // select, not max: relu(NaN) stays NaN as in torch.
    Relu = 6,
        fast |s, v| s.select(s.lt(s.zero(), v), v, s.select(s.is_nan(v), v, s.zero())),
        exact |x| if x > 0.0 || x.is_nan() { x } else { 0.0 };
    /// Exact erf form, as torch's default `gelu`.
    Gelu = 7,
        fast |s, v| math::gelu(s, v),
        exact |x| 0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2));
    Abs = 8,
        fast |s, v| s.abs(v),
        exact |x| x.abs();
    Recip = 9,
        fast |s, v| s.div(s.splat(1.0), v),
        exact |x| 1.0 / x;
    Square = 10,
        fast |s, v| s.mul(v, v),
        exact |x| x * x;
    /// d gelu / dx: a derivative kernel for the backward rules.
    GeluGrad = 11,
        fast |s, v| math::gelu_grad(s, v),
        exact |x| {
            let cdf = 0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2));
            let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
            cdf + x * pdf
        };
    /// 1.0 if x > 0 else 0.0: the relu derivative, for the backward rules.
    Step = 12,
        fast |s, v| s.select(s.lt(s.zero(), v), s.splat(1.0), s.zero()),
        exact |x| if x > 0.0 { 1.0 } else { 0.0 };
    /// x^p.
    // No vector pow: x^p for negative x and integral p needs libm's care.
    Powf(p: f32 = 3.0) = 13,
        fast |s, v| if p == 2.0 { s.mul(v, v) } else { per_lane(s, v, |e| e.powf(p)) },
        exact |x| x.powf(f64::from(p));
    /// min(max(x, lo), hi).
    Clamp(lo: f32 = -0.5, hi: f32 = 0.75) = 14,
        fast |s, v| s.min(s.max(v, s.splat(lo)), s.splat(hi)),
        exact |x| x.max(f64::from(lo)).min(f64::from(hi));
    /// 1.0 if lo <= x <= hi else 0.0: the clamp derivative, for the backward
    /// rules.
    InRange(lo: f32 = -0.5, hi: f32 = 0.75) = 15,
        fast |s, v| {
            let inside = s.select(s.le(v, s.splat(hi)), s.splat(1.0), s.zero());
            s.select(s.le(s.splat(lo), v), inside, s.zero())
        },
        exact |x| if f64::from(lo) <= x && x <= f64::from(hi) { 1.0 } else { 0.0 };
    AddScalar(c: f32 = 1.5) = 16,
        fast |s, v| s.add(v, s.splat(c)),
        exact |x| x + f64::from(c);
    MulScalar(c: f32 = -2.5) = 17,
        fast |s, v| s.mul(v, s.splat(c)),
        exact |x| x * f64::from(c);
    /// x·σ(x) (SiLU, swish), the activation of Marian-style models.
    Silu = 18,
        fast |s, v| s.mul(v, math::sigmoid(s, v)),
        exact |x| x / (1.0 + (-x).exp());
}

/// A two-input elementwise function; comparisons give 1.0 / 0.0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}

/// `out[i] = op(x[i])`.
pub fn unary(op: UnaryOp, x: &[f32], out: &mut [f32]) {
    assert_eq!(x.len(), out.len(), "unary: input and output lengths differ");
    let isa = isa();
    if worth_parallel(x.len()) {
        out.par_chunks_mut(TASK_ELEMS)
            .zip(x.par_chunks(TASK_ELEMS))
            .for_each(|(o, xc)| dispatch!(isa, s => unary_simd(s, op, xc, o)));
    } else {
        dispatch!(isa, s => unary_simd(s, op, x, out));
    }
}

/// Apply the vector function `f` to every element, tail included.
#[inline(always)]
fn map<S: Simd>(s: S, x: &[f32], out: &mut [f32], f: impl Fn(S::V) -> S::V) {
    let l = S::LANES;
    let full = x.len() / l * l;
    for (xc, oc) in x[..full]
        .chunks_exact(l)
        .zip(out[..full].chunks_exact_mut(l))
    {
        s.store(oc, f(s.load(xc)));
    }
    if full < x.len() {
        let v = f(s.load_partial(&x[full..], 0.0));
        s.store_partial(&mut out[full..], v);
    }
}

/// `f` on each lane of `v`, for the ops without a vector formula.
#[inline(always)]
fn per_lane<S: Simd>(s: S, v: S::V, f: impl Fn(f32) -> f32) -> S::V {
    let mut lanes = [0.0; MAX_LANES];
    s.store(&mut lanes, v);
    for lane in &mut lanes[..S::LANES] {
        *lane = f(*lane);
    }
    s.load(&lanes)
}

/// Broadcasting binary op.
///
/// `out_shape` is the broadcast shape; `a_strides`/`b_strides` are element
/// strides of a and b aligned to out_shape (0 on broadcast dims). Same-shape
/// contiguous operands, a scalar operand and a row broadcast (bias add) all
/// reduce, after dimension coalescing, to runs with inner stride 1 or 0.
pub fn binary(
    op: BinaryOp,
    a: &[f32],
    a_strides: &[usize],
    b: &[f32],
    b_strides: &[usize],
    out_shape: &[usize],
    out: &mut [f32],
) {
    let n: usize = out_shape.iter().product();
    assert_eq!(
        out.len(),
        n,
        "binary: output length does not match out_shape"
    );
    assert_eq!(a_strides.len(), out_shape.len(), "binary: a_strides rank");
    assert_eq!(b_strides.len(), out_shape.len(), "binary: b_strides rank");
    if n == 0 {
        return;
    }
    let isa = isa();
    let (shape, [sa, sb]) = coalesce(out_shape, [a_strides, b_strides]);
    let strides = [sa, sb];
    let run_range = |start: usize, out: &mut [f32]| {
        dispatch!(isa, s => for_each_run(&shape, &strides, start, start + out.len(), #[inline(always)] |pos, len, [oa, ob]| {
            let o = &mut out[pos - start..pos - start + len];
            let ia = *strides[0].last().unwrap();
            let ib = *strides[1].last().unwrap();
            binary_run(s, op, &a[oa..], ia, &b[ob..], ib, o);
        }))
    };
    if worth_parallel(n) {
        out.par_chunks_mut(TASK_ELEMS)
            .enumerate()
            .for_each(|(i, chunk)| run_range(i * TASK_ELEMS, chunk));
    } else {
        run_range(0, out);
    }
}

/// Lanes `i..i+n` of a run read with inner stride `stride` (n <= LANES).
#[inline(always)]
fn fetch<S: Simd>(s: S, src: &[f32], stride: usize, i: usize, n: usize) -> S::V {
    match stride {
        0 => s.splat(src[0]),
        1 if n == S::LANES => s.load(&src[i..]),
        1 => s.load_partial(&src[i..i + n], 0.0),
        _ => {
            let mut buf = [0.0; MAX_LANES];
            for (j, slot) in buf[..n].iter_mut().enumerate() {
                *slot = src[(i + j) * stride];
            }
            s.load(&buf)
        }
    }
}

/// One run: `out[i] = op(a[i*ia], b[i*ib])`.
#[inline(always)]
fn binary_run<S: Simd>(
    s: S,
    op: BinaryOp,
    a: &[f32],
    ia: usize,
    b: &[f32],
    ib: usize,
    out: &mut [f32],
) {
    let one = s.splat(1.0);
    let zero = s.zero();
    macro_rules! go {
        (|$x:ident, $y:ident| $e:expr) => {{
            let mut i = 0;
            while i < out.len() {
                let n = S::LANES.min(out.len() - i);
                let $x = fetch(s, a, ia, i, n);
                let $y = fetch(s, b, ib, i, n);
                let r = $e;
                if n == S::LANES {
                    s.store(&mut out[i..], r);
                } else {
                    s.store_partial(&mut out[i..i + n], r);
                }
                i += n;
            }
        }};
    }
    match op {
        BinaryOp::Add => go!(|x, y| s.add(x, y)),
        BinaryOp::Sub => go!(|x, y| s.sub(x, y)),
        BinaryOp::Mul => go!(|x, y| s.mul(x, y)),
        BinaryOp::Div => go!(|x, y| s.div(x, y)),
        BinaryOp::Max => go!(|x, y| s.max(x, y)),
        BinaryOp::Min => go!(|x, y| s.min(x, y)),
        BinaryOp::Eq => go!(|x, y| s.select(s.eq(x, y), one, zero)),
        BinaryOp::Gt => go!(|x, y| s.select(s.lt(y, x), one, zero)),
        BinaryOp::Ge => go!(|x, y| s.select(s.le(y, x), one, zero)),
        BinaryOp::Lt => go!(|x, y| s.select(s.lt(x, y), one, zero)),
        BinaryOp::Le => go!(|x, y| s.select(s.le(x, y), one, zero)),
    }
}

/// `out[i] = if cond[i] != 0 { a[i] } else { b[i] }` (all the same length).
pub fn where_select(cond: &[f32], a: &[f32], b: &[f32], out: &mut [f32]) {
    let n = out.len();
    assert!(
        cond.len() == n && a.len() == n && b.len() == n,
        "where_select: lengths differ"
    );
    let isa = isa();
    let body = |c: &[f32], a: &[f32], b: &[f32], o: &mut [f32]| dispatch!(isa, s => where_simd(s, c, a, b, o));
    if worth_parallel(n) {
        out.par_chunks_mut(TASK_ELEMS)
            .zip(cond.par_chunks(TASK_ELEMS))
            .zip(a.par_chunks(TASK_ELEMS).zip(b.par_chunks(TASK_ELEMS)))
            .for_each(|((o, c), (a, b))| body(c, a, b, o));
    } else {
        body(cond, a, b, out);
    }
}

#[inline(always)]
fn where_simd<S: Simd>(s: S, c: &[f32], a: &[f32], b: &[f32], out: &mut [f32]) {
    let mut i = 0;
    while i < out.len() {
        let n = S::LANES.min(out.len() - i);
        // cond == 0 picks b; anything else (NaN included) picks a.
        let m = s.eq(fetch(s, c, 1, i, n), s.zero());
        let r = s.select(m, fetch(s, b, 1, i, n), fetch(s, a, 1, i, n));
        if n == S::LANES {
            s.store(&mut out[i..], r);
        } else {
            s.store_partial(&mut out[i..i + n], r);
        }
        i += n;
    }
}
