//! Small products without packing.
//!
//! Packing (driver.rs) pays for itself when every packed element is reused
//! many times. In a product of a few thousand multiply-adds — one attention
//! head's `softmax(QKᵀ) V` at 20 tokens, a 1-row or 1-column product — it is
//! not: copying A and B into slivers and padding edge tiles costs more than
//! the arithmetic: a Transformer's 20 x 64 x 20 head products run at a small
//! fraction of the GEMM's rate through the packed path.
//!
//! Here C is computed straight from the operands, in whichever of two
//! orders keeps the inner loop on contiguous memory:
//!
//! ```text
//! rows of op(B) contiguous:     c_i  = beta c_i + alpha sum_p a_ip b_p   (4 rows x 2 vectors in registers)
//! columns of op(B) contiguous:  c_ij = beta c_ij + alpha <a_i, b_j>      (4 dot products at a time)
//! ```
//!
//! `beta == 0` overwrites C without reading it, as everywhere in gemm.

use super::View;
use crate::simd::{dispatch, Simd};
use crate::softmax::{put, vectors};
use crate::Isa;

/// Products up to this many multiply-adds take this path (64³).
pub(super) const SMALL_FMAS: usize = 1 << 18;

/// `C = alpha op(A) op(B) + beta C` for an `m x n` block of C at `c`.
#[allow(clippy::too_many_arguments)]
pub(super) fn small(
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
) {
    dispatch!(isa, s => rows(s, m, n, k, alpha, a, b, beta, c, ldc, bias))
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn rows<S: Simd>(
    s: S,
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
) {
    let out = Dst {
        c,
        ldc,
        alpha,
        beta,
        bias,
    };
    if b.cs == 1 {
        axpy_rows(s, m, n, k, a, b, out);
    } else {
        dot_rows(s, m, n, k, a, b, out);
    }
}

/// Where a block of results goes: `C = alpha * acc + beta * C (+ bias)`.
struct Dst<'c> {
    c: &'c mut [f32],
    ldc: usize,
    alpha: f32,
    beta: f32,
    bias: Option<&'c [f32]>,
}

impl<'c> Dst<'c> {
    /// Write `acc` (lanes `0..n` of it) to row `i`, columns `j..j + n`.
    #[inline(always)]
    fn put<S: Simd>(&mut self, s: S, i: usize, j: usize, n: usize, acc: S::V) {
        let row = &mut self.c[i * self.ldc + j..];
        let v = s.mul(acc, s.splat(self.alpha));
        let v = if self.beta == 0.0 {
            v // C is not read
        } else {
            s.mul_add(s.load_n(row, n, 0.0), s.splat(self.beta), v)
        };
        let v = match self.bias {
            Some(bias) => s.add(v, s.load_n(&bias[j..], n, 0.0)),
            None => v,
        };
        put(s, row, 0, n, v);
    }
}

/// Rows of op(B) contiguous: `c_i = Σ_p a_ip b_p`, for blocks of up to 4
/// rows of C by 2 vectors of columns, whose sums stay in (up to 8) registers
/// for the whole k loop: per step of k, 2 loads of B and a broadcast per row
/// feed 8 multiply-adds, and C is written once. (An `axpy` per step of k,
/// as first written here, loaded and stored the row of C on every step.)
#[inline(always)]
fn axpy_rows<S: Simd>(s: S, m: usize, n: usize, k: usize, a: View, b: View, mut out: Dst) {
    let w = 2 * S::LANES;
    for i in (0..m).step_by(4) {
        for j in (0..n).step_by(w) {
            let cols = w.min(n - j);
            match (m - i).min(4) {
                4 => axpy_block::<S, 4>(s, i, j, cols, k, a, b, &mut out),
                3 => axpy_block::<S, 3>(s, i, j, cols, k, a, b, &mut out),
                2 => axpy_block::<S, 2>(s, i, j, cols, k, a, b, &mut out),
                _ => axpy_block::<S, 1>(s, i, j, cols, k, a, b, &mut out),
            }
        }
    }
}

/// One `R x cols` block (`cols <= 2 * LANES`) of [`axpy_rows`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn axpy_block<S: Simd, const R: usize>(
    s: S,
    i: usize,
    j: usize,
    cols: usize,
    k: usize,
    a: View,
    b: View,
    out: &mut Dst,
) {
    let n0 = cols.min(S::LANES);
    let n1 = cols - n0; // 0 when one vector covers the block
    let mut acc = [[s.zero(); 2]; R];
    for p in 0..k {
        let bp = &b.data[p * b.rs + j..];
        let b0 = s.load_n(bp, n0, 0.0);
        let b1 = if n1 > 0 {
            s.load_n(&bp[S::LANES..], n1, 0.0)
        } else {
            s.zero()
        };
        for (r, acc) in acc.iter_mut().enumerate() {
            let x = s.splat(a.data[(i + r) * a.rs + p * a.cs]);
            acc[0] = s.mul_add(x, b0, acc[0]);
            if n1 > 0 {
                acc[1] = s.mul_add(x, b1, acc[1]);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        out.put(s, i + r, j, n0, acc[0]);
        if n1 > 0 {
            out.put(s, i + r, j + S::LANES, n1, acc[1]);
        }
    }
}

/// Columns of op(B) contiguous (B stored transposed, `b.rs == 1`):
/// `c_ij = <a_i, b_j>`, four columns at a time, so that each load of a row
/// of A feeds four independent multiply-add chains (one chain per dot
/// product waited on each multiply-add's latency).
#[inline(always)]
fn dot_rows<S: Simd>(s: S, m: usize, n: usize, k: usize, a: View, b: View, mut out: Dst) {
    let mut row = vec![0.0; if a.cs == 1 { 0 } else { k }];
    for i in 0..m {
        let ai: &[f32] = if a.cs == 1 {
            &a.data[i * a.rs..i * a.rs + k]
        } else {
            for (p, x) in row.iter_mut().enumerate() {
                *x = a.data[i * a.rs + p * a.cs];
            }
            &row
        };
        let col = |j: usize| &b.data[j * b.cs..j * b.cs + k];
        let mut j = 0;
        while j + 4 <= n {
            let (b0, b1, b2, b3) = (col(j), col(j + 1), col(j + 2), col(j + 3));
            let mut acc = [s.zero(); 4];
            for (p, w, x) in vectors(s, ai, 0.0) {
                acc[0] = s.mul_add(x, s.load_n(&b0[p..], w, 0.0), acc[0]);
                acc[1] = s.mul_add(x, s.load_n(&b1[p..], w, 0.0), acc[1]);
                acc[2] = s.mul_add(x, s.load_n(&b2[p..], w, 0.0), acc[2]);
                acc[3] = s.mul_add(x, s.load_n(&b3[p..], w, 0.0), acc[3]);
            }
            for (t, acc) in acc.into_iter().enumerate() {
                out.scalar(i, j + t, s.reduce_sum(acc));
            }
            j += 4;
        }
        for j in j..n {
            out.scalar(i, j, dot(s, ai, col(j)));
        }
    }
}

impl Dst<'_> {
    /// `C[i, j] = alpha * x + beta * C[i, j]`.
    #[inline(always)]
    fn scalar(&mut self, i: usize, j: usize, x: f32) {
        let cij = &mut self.c[i * self.ldc + j];
        let prior = if self.beta == 0.0 {
            0.0
        } else {
            self.beta * *cij
        };
        *cij = prior + self.alpha * x + self.bias.map_or(0.0, |b| b[j]);
    }
}

/// `<x, y>` with vector partial sums.
#[inline(always)]
fn dot<S: Simd>(s: S, x: &[f32], y: &[f32]) -> f32 {
    let mut acc = s.zero();
    for (i, n, v) in vectors(s, x, 0.0) {
        acc = s.mul_add(v, s.load_n(&y[i..], n, 0.0), acc);
    }
    s.reduce_sum(acc)
}
