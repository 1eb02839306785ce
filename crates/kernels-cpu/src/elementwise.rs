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
use crate::simd::{dispatch, Simd, MAX_LANES};
use rayon::prelude::*;

/// A one-input elementwise function.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryOp {
    Neg,
    Exp,
    Log,
    Sqrt,
    Tanh,
    Sigmoid,
    Relu,
    /// Exact erf form, as torch's default `gelu`.
    Gelu,
    Abs,
    Recip,
    Square,
    /// d gelu / dx.
    GeluGrad,
    /// 1.0 if x > 0 else 0.0 (the relu derivative).
    Step,
    /// x^p.
    Powf(f32),
    /// min(max(x, lo), hi).
    Clamp(f32, f32),
    /// 1.0 if lo <= x <= hi else 0.0 (the clamp derivative).
    InRange(f32, f32),
    AddScalar(f32),
    MulScalar(f32),
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

#[inline(always)]
fn unary_simd<S: Simd>(s: S, op: UnaryOp, x: &[f32], out: &mut [f32]) {
    let one = s.splat(1.0);
    let zero = s.zero();
    // `each!(|v| f(v))` maps the vector expression over the slice. The closure
    // is forced inline so it is compiled inside the ISA trampoline too.
    macro_rules! each {
        (|$v:ident| $e:expr) => {
            map(
                s,
                x,
                out,
                #[inline(always)]
                |$v| $e,
            )
        };
    }
    match op {
        UnaryOp::Neg => each!(|v| s.neg(v)),
        UnaryOp::Exp => each!(|v| math::exp(s, v)),
        UnaryOp::Log => each!(|v| math::ln(s, v)),
        UnaryOp::Sqrt => each!(|v| s.sqrt(v)),
        UnaryOp::Tanh => each!(|v| math::tanh(s, v)),
        UnaryOp::Sigmoid => each!(|v| math::sigmoid(s, v)),
        // select, not max: relu(NaN) stays NaN as in torch.
        UnaryOp::Relu => each!(|v| s.select(s.lt(zero, v), v, s.select(s.is_nan(v), v, zero))),
        UnaryOp::Gelu => each!(|v| math::gelu(s, v)),
        UnaryOp::Abs => each!(|v| s.abs(v)),
        UnaryOp::Recip => each!(|v| s.div(one, v)),
        UnaryOp::Square => each!(|v| s.mul(v, v)),
        UnaryOp::GeluGrad => each!(|v| math::gelu_grad(s, v)),
        UnaryOp::Step => each!(|v| s.select(s.lt(zero, v), one, zero)),
        UnaryOp::Powf(2.0) => each!(|v| s.mul(v, v)),
        // No vector pow: x^p for negative x and integral p needs libm's care.
        UnaryOp::Powf(p) => {
            for (o, &v) in out.iter_mut().zip(x) {
                *o = v.powf(p);
            }
        }
        UnaryOp::Clamp(lo, hi) => each!(|v| s.min(s.max(v, s.splat(lo)), s.splat(hi))),
        UnaryOp::InRange(lo, hi) => each!(|v| {
            let inside = s.select(s.le(v, s.splat(hi)), one, zero);
            s.select(s.le(s.splat(lo), v), inside, zero)
        }),
        UnaryOp::AddScalar(c) => each!(|v| s.add(v, s.splat(c))),
        UnaryOp::MulScalar(c) => each!(|v| s.mul(v, s.splat(c))),
    }
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
