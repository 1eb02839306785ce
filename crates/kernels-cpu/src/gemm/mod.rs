//! Single-precision matrix multiply: `C = alpha * op(A) * op(B) + beta * C`.
//!
//! Structure (a compact version of the BLIS/Goto design; a later issue grows it
//! into the full one):
//!
//! ```text
//! for jc in columns of C, NC at a time            B panel: KC x NC
//!   for pc in the k dimension, KC at a time       -> packed into NR-wide slivers
//!     for ic in rows of C, MC at a time           A block: MC x KC
//!                                                 -> packed into MR-tall slivers
//!       for each MR x NR tile of C: micro-kernel
//! ```
//!
//! Packing copies the operands into the exact order the micro-kernel reads them,
//! which (1) makes both transpose flags cost only a different gather during
//! packing, (2) pads ragged edges with zeros so the micro-kernel never branches,
//! and (3) makes every load in the inner loop contiguous and cache-resident.
//!
//! The micro-kernel keeps an `MR x NR` tile of C in registers (`MR = 6` rows of
//! two vectors: 12 accumulators, 6x16 with AVX2, 6x32 with AVX-512) and
//! performs one rank-1 update per step of k: two vector loads of B, six
//! broadcasts of A, twelve FMAs.
//!
//! `beta` is applied when a tile is written for the first slice of k (later
//! slices accumulate). `beta == 0` means C is *overwritten without being read*
//! (C may hold NaN or garbage), as in BLAS. `alpha == 0` or `k == 0` leave
//! `beta * C` without reading A or B.
//!
//! Threads: large products are split into independent row blocks of C (or, when
//! C has few rows, column blocks computed into private buffers); each task runs
//! the whole blocked algorithm on its part.

mod blocked;

use crate::isa::isa;
use crate::simd::{dispatch, MAX_LANES};
use crate::Isa;
use blocked::gemm_blocked;
use rayon::prelude::*;

/// Rows of the micro-kernel tile.
const MR: usize = 6;
/// Depth of one packed slice of k (A sliver + B sliver stay in L1/L2).
const KC: usize = 256;
/// Rows of C per packed A block (a multiple of MR).
const MC: usize = 16 * MR;
/// Columns of C per packed B panel.
const NC: usize = 2048;
/// Products with fewer multiply-adds than this stay on one thread.
const PAR_FLOPS: usize = 1 << 18;

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
    let (ar, ac) = if trans_a { (k, m) } else { (m, k) };
    let (br, bc) = if trans_b { (n, k) } else { (k, n) };
    assert!(ar <= 1 || lda >= ac, "sgemm: lda {lda} < {ac}");
    assert!(br <= 1 || ldb >= bc, "sgemm: ldb {ldb} < {bc}");
    assert!(m <= 1 || ldc >= n, "sgemm: ldc {ldc} < {n}");
    assert!(a.len() >= span(ar, ac, lda), "sgemm: A too short");
    assert!(b.len() >= span(br, bc, ldb), "sgemm: B too short");
    assert!(c.len() >= span(m, n, ldc), "sgemm: C too short");
    let a = View::new(a, lda, trans_a);
    let b = View::new(b, ldb, trans_b);
    gemm_parallel(isa(), m, n, k, alpha, a, b, beta, c, ldc, true);
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
    let one = |i: usize, c: &mut [f32], allow_par: bool| {
        let (ar, ac) = if trans_a { (k, m) } else { (m, k) };
        let (br, bc) = if trans_b { (n, k) } else { (k, n) };
        let a = &a[i * stride_a..];
        let b = &b[i * stride_b..];
        assert!(a.len() >= span(ar, ac, lda), "sgemm_batched: A too short");
        assert!(b.len() >= span(br, bc, ldb), "sgemm_batched: B too short");
        let a = View::new(a, lda, trans_a);
        let b = View::new(b, ldb, trans_b);
        gemm_parallel(isa, m, n, k, alpha, a, b, beta, c, ldc, allow_par);
    };
    let per = m * n * k.max(1);
    if batch > 1 && per < PAR_FLOPS && per * batch >= PAR_FLOPS && rayon::current_num_threads() > 1
    {
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

/// Split a product across threads when it is large, then run [`gemm_serial`].
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
    allow_par: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    let c = &mut c[..span(m, n, ldc)];
    let threads = rayon::current_num_threads();
    let big = allow_par && threads > 1 && m * n * k >= PAR_FLOPS;
    if big && m >= 2 * MR * threads.min(4) {
        // Row blocks of C: disjoint slices, A rows offset, B shared.
        let rows = m.div_ceil(2 * threads).next_multiple_of(MR);
        c.par_chunks_mut(rows * ldc)
            .enumerate()
            .for_each(|(t, ct)| {
                let i0 = t * rows;
                let mt = rows.min(m - i0);
                gemm_serial(isa, mt, n, k, alpha, a.at(i0, 0), b, beta, ct, ldc);
            });
    } else if big && n >= 512 {
        // Few rows, many columns (e.g. batch-1 decoding into a vocabulary):
        // column blocks into private buffers, copied back.
        let cols = n.div_ceil(2 * threads).next_multiple_of(2 * MAX_LANES);
        let blocks: Vec<(usize, Vec<f32>)> = (0..n.div_ceil(cols))
            .into_par_iter()
            .map(|t| {
                let j0 = t * cols;
                let w = cols.min(n - j0);
                let mut local = vec![0.0; m * w];
                if beta != 0.0 {
                    for i in 0..m {
                        local[i * w..(i + 1) * w]
                            .copy_from_slice(&c[i * ldc + j0..i * ldc + j0 + w]);
                    }
                }
                gemm_serial(isa, m, w, k, alpha, a, b.at(0, j0), beta, &mut local, w);
                (j0, local)
            })
            .collect();
        for (j0, local) in blocks {
            let w = local.len() / m;
            for i in 0..m {
                c[i * ldc + j0..i * ldc + j0 + w].copy_from_slice(&local[i * w..(i + 1) * w]);
            }
        }
    } else {
        gemm_serial(isa, m, n, k, alpha, a, b, beta, c, ldc);
    }
}

/// `beta * C` alone (k == 0 or alpha == 0): A and B are not read.
fn scale_c(m: usize, n: usize, beta: f32, c: &mut [f32], ldc: usize) {
    for i in 0..m {
        let row = &mut c[i * ldc..i * ldc + n];
        if beta == 0.0 {
            row.fill(0.0);
        } else if beta != 1.0 {
            row.iter_mut().for_each(|x| *x *= beta);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn gemm_serial(
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
) {
    if k == 0 || alpha == 0.0 {
        scale_c(m, n, beta, c, ldc);
        return;
    }
    dispatch!(isa, s => gemm_blocked(s, m, n, k, alpha, a, b, beta, c, ldc))
}
