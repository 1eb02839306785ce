//! Single-precision matrix multiply: `C = alpha * op(A) * op(B) + beta * C`.
//!
//! The BLIS/Goto design (docs/kernels/gemm.md explains it step by step):
//!
//! ```text
//! for jc in columns of C, NC at a time            B panel: KC x NC
//!   for pc in the k dimension, KC at a time       -> packed into NR-wide slivers
//!     for ic in rows of C, MC at a time           A block: MC x KC
//!                                                 -> packed into MR-tall slivers
//!       for each MR x NR tile of C: micro-kernel  (registers)
//! ```
//!
//! * `kernel.rs`: the register-tile micro-kernel, written once over a tiny
//!   vector trait and instantiated for AVX-512 (12 x 32), AVX2+FMA (6 x 16) and
//!   portable code (4 x 8); edge tiles use narrower instantiations (fewer rows,
//!   fewer vectors, masked stores) rather than a scalar path.
//! * `driver.rs`: packing and the loop nest, monomorphised per ISA inside a
//!   `#[target_feature]` function. Packing copies the operands into the exact
//!   order the micro-kernel reads them, so both transpose flags cost only a
//!   different gather while packing, and every load in the inner loop is
//!   contiguous and cache-resident.
//! * `small.rs`: products of at most 64³ multiply-adds, computed straight
//!   from the operands (packing would cost more than the arithmetic).
//! * this file: argument checks, batching and the split across threads.
//!
//! `beta` is applied when a tile is written for the first slice of k (later
//! slices accumulate). `beta == 0` means C is *overwritten without being read*
//! (C may hold NaN or garbage), as in BLAS. `alpha == 0` or `k == 0` leave
//! `beta * C` without reading A or B.
//!
//! Threads: a product of at least [`PAR_FMAS`] multiply-adds is cut into one
//! block of C per rayon thread, along M when `m >= n` (each thread packs only
//! its rows of A; B is packed by each) and along N otherwise (for the
//! small-M shapes: each thread packs only its columns of B). Each block runs
//! the whole serial algorithm; blocks are disjoint, so no synchronisation.

mod driver;
mod heads;
mod kernel;
mod small;

pub use heads::{sgemm_heads, HeadMats};

use crate::isa::isa;
use crate::Isa;
use driver::{run, tile_shape, Job};
use rayon::prelude::*;
use small::{small, SMALL_FMAS};
use std::cell::Cell;

/// Products with fewer multiply-adds than this stay on one thread: below it,
/// waking a worker (a few microseconds) costs more than it saves.
const PAR_FMAS: usize = 1 << 21;

thread_local! {
    /// Set by [`with_packed_gemm`]: small products take the packed path too.
    static PACKED_ONLY: Cell<bool> = const { Cell::new(false) };
}

/// Run `f` with every product on this thread (and the batches it fans out)
/// going through the packed path, even those below the small-product
/// threshold (small.rs) — so tests reach the packed path's edge handling
/// with small shapes. The previous setting is restored afterwards.
pub fn with_packed_gemm<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            PACKED_ONLY.with(|p| p.set(self.0));
        }
    }
    let _restore = Restore(PACKED_ONLY.with(|p| p.replace(true)));
    f()
}

/// How one operand is stored: element `(r, c)` of `op(X)` lives at
/// `r * rs + c * cs` (a transposed operand just swaps the strides).
#[derive(Clone, Copy)]
struct View<'a> {
    data: &'a [f32],
    rs: usize,
    cs: usize,
}

impl<'a> View<'a> {
    fn new(data: &'a [f32], ld: usize, trans: bool) -> Self {
        if trans {
            View {
                data,
                rs: 1,
                cs: ld,
            }
        } else {
            View {
                data,
                rs: ld,
                cs: 1,
            }
        }
    }
    /// The sub-view starting at `(r, c)`.
    fn at(self, r: usize, c: usize) -> Self {
        View {
            data: &self.data[r * self.rs + c * self.cs..],
            ..self
        }
    }
}

/// Minimum slice length holding a `rows x cols` matrix with row stride `ld`.
fn span(rows: usize, cols: usize, ld: usize) -> usize {
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * ld + cols
    }
}

/// `C = alpha * op(A) * op(B) + beta * C`; row-major; `op(A)` is `m x k`,
/// `op(B)` is `k x n`. `lda`/`ldb`/`ldc` are the row strides of the *stored*
/// matrices (A is stored `k x m` when `trans_a`).
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    let (a, b) = checked_views(
        "sgemm",
        [m, n, k],
        (trans_a, a, lda),
        (trans_b, b, ldb),
        c,
        ldc,
    );
    let small_ok = !PACKED_ONLY.with(Cell::get);
    gemm_parallel(
        isa(),
        m,
        n,
        k,
        alpha,
        a,
        b,
        beta,
        c,
        ldc,
        None,
        true,
        small_ok,
    );
}

/// The operands as views, after checking that the strides and lengths
/// cover an `m x k` op(A), a `k x n` op(B) and an `m x n` C (`what` names
/// the caller in the panic message).
fn checked_views<'a>(
    what: &str,
    [m, n, k]: [usize; 3],
    (trans_a, a, lda): (bool, &'a [f32], usize),
    (trans_b, b, ldb): (bool, &'a [f32], usize),
    c: &[f32],
    ldc: usize,
) -> (View<'a>, View<'a>) {
    let (ar, ac) = if trans_a { (k, m) } else { (m, k) };
    let (br, bc) = if trans_b { (n, k) } else { (k, n) };
    assert!(ar <= 1 || lda >= ac, "{what}: lda {lda} < {ac}");
    assert!(br <= 1 || ldb >= bc, "{what}: ldb {ldb} < {bc}");
    assert!(m <= 1 || ldc >= n, "{what}: ldc {ldc} < {n}");
    assert!(a.len() >= span(ar, ac, lda), "{what}: A too short");
    assert!(b.len() >= span(br, bc, ldb), "{what}: B too short");
    assert!(c.len() >= span(m, n, ldc), "{what}: C too short");
    (View::new(a, lda, trans_a), View::new(b, ldb, trans_b))
}

/// `C = alpha * op(A) * op(B) + bias`, with `bias` (`n` floats) added to
/// every row of C in the micro-kernel's write-back (a Linear layer's
/// `x Wᵀ + b` without a second pass over C). Arguments as [`sgemm`];
/// C is overwritten without being read.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_bias(
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    bias: &[f32],
    c: &mut [f32],
    ldc: usize,
) {
    assert_eq!(
        bias.len(),
        n,
        "sgemm_bias: bias has {} floats, n = {n}",
        bias.len()
    );
    let (a, b) = checked_views(
        "sgemm_bias",
        [m, n, k],
        (trans_a, a, lda),
        (trans_b, b, ldb),
        c,
        ldc,
    );
    let small_ok = !PACKED_ONLY.with(Cell::get);
    gemm_parallel(
        isa(),
        m,
        n,
        k,
        alpha,
        a,
        b,
        0.0,
        c,
        ldc,
        Some(bias),
        true,
        small_ok,
    );
}

/// Strided batches: matrix `i` of A starts at `i * stride_a` (likewise B, C);
/// a stride of 0 broadcasts one A or B to every batch. C matrices must not overlap.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_batched(
    batch: usize,
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    stride_a: usize,
    b: &[f32],
    ldb: usize,
    stride_b: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
    stride_c: usize,
) {
    if batch == 0 || m == 0 || n == 0 {
        return;
    }
    let c_span = span(m, n, ldc);
    assert!(
        batch == 1 || stride_c >= c_span,
        "sgemm_batched: C matrices overlap"
    );
    assert!(
        c.len() >= (batch - 1) * stride_c + c_span,
        "sgemm_batched: C too short"
    );
    let isa = isa();
    let small_ok = !PACKED_ONLY.with(Cell::get); // read here: workers have their own
    let one = |i: usize, c: &mut [f32], allow_par: bool| {
        let (ar, ac) = if trans_a { (k, m) } else { (m, k) };
        let (br, bc) = if trans_b { (n, k) } else { (k, n) };
        let a = &a[i * stride_a..];
        let b = &b[i * stride_b..];
        assert!(a.len() >= span(ar, ac, lda), "sgemm_batched: A too short");
        assert!(b.len() >= span(br, bc, ldb), "sgemm_batched: B too short");
        let a = View::new(a, lda, trans_a);
        let b = View::new(b, ldb, trans_b);
        gemm_parallel(
            isa, m, n, k, alpha, a, b, beta, c, ldc, None, allow_par, small_ok,
        );
    };
    let per = m * n * k.max(1);
    if batch > 1 && per < PAR_FMAS && per * batch >= PAR_FMAS && crate::par::threads() > 1 {
        // Many small products: one task per matrix.
        c.par_chunks_mut(stride_c)
            .take(batch)
            .enumerate()
            .for_each(|(i, ci)| one(i, ci, false));
    } else {
        for i in 0..batch {
            one(i, &mut c[i * stride_c..], true);
        }
    }
}

/// A pointer to C that may cross threads: each task writes a disjoint block.
#[derive(Clone, Copy)]
struct CPtr(*mut f32);
// SAFETY: tasks write disjoint blocks of C (see `gemm_parallel`).
unsafe impl Send for CPtr {}
// SAFETY: as above.
unsafe impl Sync for CPtr {}

impl CPtr {
    /// A method (not `.0`) so closures capture the whole `Send` wrapper.
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// Split a product across threads when it is large, then run the serial
/// blocked algorithm on each block; small products skip packing (small.rs).
/// `bias` (`n` floats) is added to every row of C.
#[allow(clippy::too_many_arguments)]
fn gemm_parallel(
    isa: Isa,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: View,
    b: View,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
    bias: Option<&[f32]>,
    allow_par: bool,
    small_ok: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    let c = &mut c[..span(m, n, ldc)];
    if k == 0 || alpha == 0.0 {
        scale_c(m, n, beta, c, ldc, bias);
        return;
    }
    if small_ok && m * n * k <= SMALL_FMAS {
        small(isa, m, n, k, alpha, a, b, beta, c, ldc, bias);
        return;
    }
    let job = Job {
        m,
        n,
        k,
        alpha,
        a,
        b,
        beta,
        c: c.as_mut_ptr(),
        ldc,
        bias: bias.map_or(std::ptr::null(), <[f32]>::as_ptr),
    };
    let threads = crate::par::threads();
    let (mr, nr) = tile_shape(isa);
    let split_m = m >= n;
    let (len, unit) = if split_m { (m, mr) } else { (n, nr) };
    let tasks = threads.min(len.div_ceil(unit));
    if !allow_par || tasks < 2 || m * n * k < PAR_FMAS {
        // SAFETY: `c` covers the whole m x n block (checked by the callers),
        // `isa` came from `isa()`, and k > 0.
        unsafe { run(isa, job) };
        return;
    }
    crate::par::keep_warm();
    let part = len.div_ceil(tasks).next_multiple_of(unit);
    let cp = CPtr(job.c);
    // The bias entries of columns `j..` (a raw pointer cannot cross threads).
    let bias_from = |j: usize| bias.map_or(std::ptr::null(), |b| b[j..].as_ptr());
    (0..len.div_ceil(part)).into_par_iter().for_each(|t| {
        let lo = t * part;
        let w = part.min(len - lo);
        let j = if split_m {
            Job {
                m: w,
                a: a.at(lo, 0),
                // SAFETY: row `lo` lies inside C's span.
                c: unsafe { cp.get().add(lo * ldc) },
                bias: bias_from(0),
                ..job
            }
        } else {
            Job {
                n: w,
                b: b.at(0, lo),
                // SAFETY: column `lo < n` lies inside C's span.
                c: unsafe { cp.get().add(lo) },
                bias: bias_from(lo),
                ..job
            }
        };
        // SAFETY: task `t` writes only rows (or columns) `lo..lo + w` of C,
        // disjoint from every other task; the block lies inside C's span.
        unsafe { run(isa, j) };
    });
}

/// `beta * C (+ bias)` alone (k == 0 or alpha == 0): A and B are not read.
fn scale_c(m: usize, n: usize, beta: f32, c: &mut [f32], ldc: usize, bias: Option<&[f32]>) {
    for i in 0..m {
        let row = &mut c[i * ldc..i * ldc + n];
        if beta == 0.0 {
            row.fill(0.0);
        } else if beta != 1.0 {
            row.iter_mut().for_each(|x| *x *= beta);
        }
        if let Some(bias) = bias {
            row.iter_mut().zip(bias).for_each(|(x, b)| *x += b);
        }
    }
}
