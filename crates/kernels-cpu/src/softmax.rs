//! Softmax and log-softmax along the last axis of a `rows x cols` matrix, and
//! their backward passes.
//!
//! Stability: `softmax(x) = softmax(x - max x)`, so each row first finds its
//! max; the largest exponent is then `e^0 = 1`, nothing overflows, and the sum
//! is at least 1 (so its log and reciprocal are safe). A row of all `-inf`
//! (a fully masked attention row) gives NaN, as in torch.
//!
//! Rows are independent, so rayon splits by whole rows.

use crate::isa::isa;
use crate::math;
use crate::par::{rows_per_task, worth_parallel};
use crate::reduce::{extreme_slice, sum_slice};
use crate::simd::{dispatch, Simd};
use rayon::prelude::*;

/// Apply `f(row_in_a, row_in_b, row_out)` to blocks of whole rows, in parallel when large.
fn for_row_blocks(
    a: &[f32],
    b: &[f32],
    out: &mut [f32],
    rows: usize,
    cols: usize,
    f: impl Fn(&[f32], &[f32], &mut [f32]) + Sync,
) {
    if rows == 0 || cols == 0 {
        return;
    }
    if worth_parallel(rows * cols) {
        let chunk = rows_per_task(cols) * cols;
        out.par_chunks_mut(chunk)
            .zip(a.par_chunks(chunk).zip(b.par_chunks(chunk)))
            .for_each(|(o, (a, b))| f(a, b, o));
    } else {
        f(a, b, out);
    }
}

/// `out[r, :] = softmax(x[r, :])`.
pub fn softmax(x: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
    check(x, rows, cols, out.len(), "softmax");
    let isa = isa();
    for_row_blocks(x, x, out, rows, cols, |x, _, o| {
        dispatch!(isa, s => for (xr, or) in x.chunks_exact(cols).zip(o.chunks_exact_mut(cols)) {
            softmax_row(s, xr, or)
        })
    });
}

/// `out[r, :] = log_softmax(x[r, :]) = x - max - ln(sum e^(x - max))`.
pub fn log_softmax(x: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
    check(x, rows, cols, out.len(), "log_softmax");
    let isa = isa();
    for_row_blocks(x, x, out, rows, cols, |x, _, o| {
        dispatch!(isa, s => for (xr, or) in x.chunks_exact(cols).zip(o.chunks_exact_mut(cols)) {
            let lse = logsumexp_row(s, xr);
            add_scalar_row(s, xr, -lse, or);
        })
    });
}

/// `gx = y * (gy - sum_j gy_j y_j)` with `y` the softmax output.
pub fn softmax_backward(y: &[f32], gy: &[f32], rows: usize, cols: usize, gx: &mut [f32]) {
    check(y, rows, cols, gx.len(), "softmax_backward");
    check(gy, rows, cols, gx.len(), "softmax_backward");
    let isa = isa();
    for_row_blocks(y, gy, gx, rows, cols, |y, gy, gx| {
        dispatch!(isa, s => for ((yr, gr), xr) in y.chunks_exact(cols).zip(gy.chunks_exact(cols)).zip(gx.chunks_exact_mut(cols)) {
            softmax_backward_row(s, yr, gr, xr)
        })
    });
}

/// `gx = gy - exp(y) * sum_j gy_j` with `y` the log-softmax output.
pub fn log_softmax_backward(y: &[f32], gy: &[f32], rows: usize, cols: usize, gx: &mut [f32]) {
    check(y, rows, cols, gx.len(), "log_softmax_backward");
    check(gy, rows, cols, gx.len(), "log_softmax_backward");
    let isa = isa();
    for_row_blocks(y, gy, gx, rows, cols, |y, gy, gx| {
        dispatch!(isa, s => for ((yr, gr), xr) in y.chunks_exact(cols).zip(gy.chunks_exact(cols)).zip(gx.chunks_exact_mut(cols)) {
            log_softmax_backward_row(s, yr, gr, xr)
        })
    });
}

fn check(x: &[f32], rows: usize, cols: usize, out_len: usize, name: &str) {
    assert_eq!(
        x.len(),
        rows * cols,
        "{name}: input length is not rows * cols"
    );
    assert_eq!(
        out_len,
        rows * cols,
        "{name}: output length is not rows * cols"
    );
}

/// Iterate over a row as `(offset, lanes, vector)`: whole vectors, then one
/// tail vector whose missing lanes hold `fill` (chosen per use so the padding
/// cannot change the result: -inf before an exp, 0 before a sum).
///
/// An iterator rather than a callback because a `for` body is plain inline
/// code, which is always compiled inside the ISA trampoline.
#[inline(always)]
pub(crate) fn vectors<S: Simd>(s: S, x: &[f32], fill: f32) -> Vectors<'_, S> {
    Vectors { s, x, fill, i: 0 }
}

pub(crate) struct Vectors<'a, S: Simd> {
    s: S,
    x: &'a [f32],
    fill: f32,
    i: usize,
}

impl<S: Simd> Iterator for Vectors<'_, S> {
    type Item = (usize, usize, S::V);

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        let i = self.i;
        if i >= self.x.len() {
            return None;
        }
        let n = S::LANES.min(self.x.len() - i);
        self.i += n;
        Some((i, n, self.s.load_n(&self.x[i..], n, self.fill)))
    }
}

/// Store `v` at `out[i..i+n]` (a whole or partial vector).
#[inline(always)]
pub(crate) fn put<S: Simd>(s: S, out: &mut [f32], i: usize, n: usize, v: S::V) {
    if n == S::LANES {
        s.store(&mut out[i..], v);
    } else {
        s.store_partial(&mut out[i..i + n], v);
    }
}

/// `ln(sum_j e^{x_j})`, computed stably as `max + ln(sum_j e^{x_j - max})`.
#[inline(always)]
pub(crate) fn logsumexp_row<S: Simd>(s: S, x: &[f32]) -> f32 {
    let m = extreme_slice(s, x, true);
    let vm = s.splat(m);
    let mut acc = s.zero();
    // Tail lanes are filled with -inf, whose exp is exactly 0.
    for (_, _, v) in vectors(s, x, f32::NEG_INFINITY) {
        acc = s.add(acc, math::exp(s, s.sub(v, vm)));
    }
    m + s.reduce_sum(acc).ln()
}

#[inline(always)]
fn add_scalar_row<S: Simd>(s: S, x: &[f32], c: f32, out: &mut [f32]) {
    let vc = s.splat(c);
    for (i, n, v) in vectors(s, x, 0.0) {
        put(s, out, i, n, s.add(v, vc));
    }
}

#[inline(always)]
fn softmax_row<S: Simd>(s: S, x: &[f32], out: &mut [f32]) {
    let vm = s.splat(extreme_slice(s, x, true));
    let mut acc = s.zero();
    // First pass stores the exponentials so they are computed only once.
    for (i, n, v) in vectors(s, x, f32::NEG_INFINITY) {
        let e = math::exp(s, s.sub(v, vm));
        acc = s.add(acc, e);
        put(s, out, i, n, e);
    }
    let inv = s.splat(1.0 / s.reduce_sum(acc));
    let mut i = 0;
    while i < out.len() {
        let n = S::LANES.min(out.len() - i);
        let v = s.load_n(&out[i..], n, 0.0);
        put(s, out, i, n, s.mul(v, inv));
        i += n;
    }
}

#[inline(always)]
fn softmax_backward_row<S: Simd>(s: S, y: &[f32], gy: &[f32], gx: &mut [f32]) {
    let mut acc = s.zero();
    for (i, n, v) in vectors(s, y, 0.0) {
        let g = s.load_n(&gy[i..], n, 0.0);
        acc = s.mul_add(v, g, acc);
    }
    let dot = s.splat(s.reduce_sum(acc));
    for (i, n, v) in vectors(s, y, 0.0) {
        let g = s.load_n(&gy[i..], n, 0.0);
        put(s, gx, i, n, s.mul(v, s.sub(g, dot)));
    }
}

#[inline(always)]
fn log_softmax_backward_row<S: Simd>(s: S, y: &[f32], gy: &[f32], gx: &mut [f32]) {
    let total = s.splat(sum_slice(s, gy));
    for (i, n, v) in vectors(s, y, 0.0) {
        let g = s.load_n(&gy[i..], n, 0.0);
        put(s, gx, i, n, s.sub(g, s.mul(math::exp(s, v), total)));
    }
}
