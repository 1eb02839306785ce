//! Small products without packing.
//!
//! Packing (driver.rs) pays for itself when every packed element is reused
//! many times. In a product of a few thousand multiply-adds — one attention
//! head's `softmax(QKᵀ) V` at 20 tokens, a 1-row or 1-column product — it is
//! not: copying A and B into slivers and padding edge tiles costs more than
//! the arithmetic. Measured in a Transformer training step, the 20 x 64 x 20
//! head products ran at ~3 GFLOP/s through the packed path (docs/benchmarks.md).
//!
//! Here each row of C is computed straight from the operands, in whichever
//! of two orders keeps the inner loop on contiguous memory:
//!
//! ```text
//! rows of op(B) contiguous:     c_i  = beta c_i + sum_p (alpha a_ip) b_p      (axpy per p)
//! columns of op(B) contiguous:  c_ij = beta c_ij + alpha <a_i, b_j>          (dot per j)
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
) {
    dispatch!(isa, s => rows(s, m, n, k, alpha, a, b, beta, c, ldc))
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
) {
    if b.cs == 1 {
        for i in 0..m {
            let ci = &mut c[i * ldc..i * ldc + n];
            scale_row(s, ci, beta);
            for p in 0..k {
                let bp = &b.data[p * b.rs..p * b.rs + n];
                axpy(s, alpha * a.data[i * a.rs + p * a.cs], bp, ci);
            }
        }
    } else {
        // Columns of op(B) are contiguous: B is stored transposed (b.rs == 1).
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
            for j in 0..n {
                let bj = &b.data[j * b.cs..j * b.cs + k];
                let cij = &mut c[i * ldc + j];
                let prior = if beta == 0.0 { 0.0 } else { beta * *cij };
                *cij = prior + alpha * dot(s, ai, bj);
            }
        }
    }
}

/// `row *= beta`, or `row = 0` without reading it when `beta == 0`.
#[inline(always)]
fn scale_row<S: Simd>(s: S, row: &mut [f32], beta: f32) {
    if beta == 0.0 {
        row.fill(0.0);
    } else if beta != 1.0 {
        let vb = s.splat(beta);
        let mut i = 0;
        while i < row.len() {
            let n = S::LANES.min(row.len() - i);
            let v = s.load_n(&row[i..], n, 0.0);
            put(s, row, i, n, s.mul(v, vb));
            i += n;
        }
    }
}

/// `y += alpha x`.
#[inline(always)]
fn axpy<S: Simd>(s: S, alpha: f32, x: &[f32], y: &mut [f32]) {
    let va = s.splat(alpha);
    for (i, n, v) in vectors(s, x, 0.0) {
        let w = s.load_n(&y[i..], n, 0.0);
        put(s, y, i, n, s.mul_add(va, v, w));
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
