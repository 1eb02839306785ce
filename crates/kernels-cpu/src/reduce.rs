//! Reductions over the middle axis of `x` viewed as `[outer, len, inner]`.
//!
//! Two memory layouts need two loops:
//! * `inner == 1` (reducing the last axis): each output is one contiguous row,
//!   reduced with several vector accumulators (which both hides the FP add
//!   latency and keeps rounding error growth low) and one horizontal reduce.
//! * `inner > 1`: the reduced elements are `inner` apart, but neighbouring
//!   outputs are neighbours in memory, so a vector holds `LANES` outputs and
//!   walks down the `len` rows — every load is contiguous.
//!
//! `sum_all` cuts the input into fixed blocks (independent of the thread count,
//! so the result is reproducible), sums each block in `f32` vectors and adds the
//! block sums in `f64`.

use crate::isa::isa;
use crate::par::{rows_per_task, worth_parallel, TASK_ELEMS};
use crate::simd::{dispatch, Simd};
use rayon::prelude::*;

/// Which reduction [`reduce`] performs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ReduceOp {
    Sum,
    Mean,
    Max,
    Min,
}

impl ReduceOp {
    /// The value of the reduction over nothing (torch: 0 for sum, NaN for mean).
    fn empty_value(self) -> f32 {
        match self {
            ReduceOp::Sum => 0.0,
            ReduceOp::Mean => f32::NAN,
            ReduceOp::Max => f32::NEG_INFINITY,
            ReduceOp::Min => f32::INFINITY,
        }
    }
}

/// `out[o, i] = op_l x[o, l, i]`; `out` has `outer * inner` elements.
/// NaN inputs give an unspecified result for Max/Min.
pub fn reduce(op: ReduceOp, x: &[f32], outer: usize, len: usize, inner: usize, out: &mut [f32]) {
    assert_eq!(x.len(), outer * len * inner, "reduce: x length");
    assert_eq!(out.len(), outer * inner, "reduce: out length");
    if out.is_empty() {
        return;
    }
    if len == 0 {
        out.fill(op.empty_value());
        return;
    }
    if inner == 1 && outer == 1 && matches!(op, ReduceOp::Sum | ReduceOp::Mean) {
        // One long row: the blocked, parallel total is both faster and more accurate.
        let total = sum_all(x);
        out[0] = if op == ReduceOp::Mean {
            total / len as f32
        } else {
            total
        };
        return;
    }
    let isa = isa();
    if inner == 1 {
        let rows_body =
            |xr: &[f32], o: &mut [f32]| dispatch!(isa, s => reduce_rows(s, op, xr, len, o));
        if worth_parallel(x.len()) {
            let rpt = rows_per_task(len);
            out.par_chunks_mut(rpt)
                .zip(x.par_chunks(rpt * len))
                .for_each(|(o, xr)| rows_body(xr, o));
        } else {
            rows_body(x, out);
        }
    } else {
        // Split the flat output; each piece walks its own (o, i) segments.
        let cols_body = |start: usize, o: &mut [f32]| dispatch!(isa, s => reduce_strided(s, op, x, len, inner, start, o));
        if worth_parallel(x.len()) {
            let chunk = (TASK_ELEMS / len).max(256);
            out.par_chunks_mut(chunk)
                .enumerate()
                .for_each(|(i, o)| cols_body(i * chunk, o));
        } else {
            cols_body(0, out);
        }
    }
}

/// Sum of one contiguous slice with four vector accumulators.
#[inline(always)]
pub(crate) fn sum_slice<S: Simd>(s: S, x: &[f32]) -> f32 {
    let l = S::LANES;
    let mut acc = [s.zero(); 4];
    let mut chunks = x.chunks_exact(4 * l);
    for c in &mut chunks {
        for (k, a) in acc.iter_mut().enumerate() {
            *a = s.add(*a, s.load(&c[k * l..]));
        }
    }
    let rest = chunks.remainder();
    let mut i = 0;
    while i < rest.len() {
        let n = l.min(rest.len() - i);
        acc[0] = s.add(acc[0], s.load_n(&rest[i..], n, 0.0));
        i += n;
    }
    s.reduce_sum(s.add(s.add(acc[0], acc[1]), s.add(acc[2], acc[3])))
}

/// Sum of squares of one contiguous slice, like [`sum_slice`].
#[inline(always)]
pub(crate) fn sum_sq_slice<S: Simd>(s: S, x: &[f32]) -> f32 {
    let l = S::LANES;
    let mut acc = [s.zero(); 4];
    let mut chunks = x.chunks_exact(4 * l);
    for c in &mut chunks {
        for (k, a) in acc.iter_mut().enumerate() {
            let v = s.load(&c[k * l..]);
            *a = s.mul_add(v, v, *a);
        }
    }
    let rest = chunks.remainder();
    let mut i = 0;
    while i < rest.len() {
        let n = l.min(rest.len() - i);
        let v = s.load_n(&rest[i..], n, 0.0);
        acc[0] = s.mul_add(v, v, acc[0]);
        i += n;
    }
    s.reduce_sum(s.add(s.add(acc[0], acc[1]), s.add(acc[2], acc[3])))
}

/// Max (or min, with `is_max = false`) of a non-empty contiguous slice.
#[inline(always)]
pub(crate) fn extreme_slice<S: Simd>(s: S, x: &[f32], is_max: bool) -> f32 {
    let l = S::LANES;
    let fill = if is_max {
        f32::NEG_INFINITY
    } else {
        f32::INFINITY
    };
    let mut acc = [s.splat(fill); 2];
    let mut chunks = x.chunks_exact(2 * l);
    for c in &mut chunks {
        acc[0] = pick(s, is_max, acc[0], s.load(c));
        acc[1] = pick(s, is_max, acc[1], s.load(&c[l..]));
    }
    let rest = chunks.remainder();
    let mut i = 0;
    while i < rest.len() {
        let n = l.min(rest.len() - i);
        acc[0] = pick(s, is_max, acc[0], s.load_partial(&rest[i..i + n], fill));
        i += n;
    }
    let v = pick(s, is_max, acc[0], acc[1]);
    if is_max {
        s.reduce_max(v)
    } else {
        s.reduce_min(v)
    }
}

#[inline(always)]
fn pick<S: Simd>(s: S, is_max: bool, a: S::V, b: S::V) -> S::V {
    if is_max {
        s.max(a, b)
    } else {
        s.min(a, b)
    }
}

#[inline(always)]
fn reduce_rows<S: Simd>(s: S, op: ReduceOp, x: &[f32], len: usize, out: &mut [f32]) {
    for (o, row) in out.iter_mut().zip(x.chunks_exact(len)) {
        *o = match op {
            ReduceOp::Sum => sum_slice(s, row),
            ReduceOp::Mean => sum_slice(s, row) / len as f32,
            ReduceOp::Max => extreme_slice(s, row, true),
            ReduceOp::Min => extreme_slice(s, row, false),
        };
    }
}

/// Vectors of columns summed per pass of [`reduce_strided`].
const SWEEP: usize = 16;

/// Outputs `start .. start + out.len()` of the `inner > 1` layout.
#[inline(always)]
fn reduce_strided<S: Simd>(
    s: S,
    op: ReduceOp,
    x: &[f32],
    len: usize,
    inner: usize,
    start: usize,
    out: &mut [f32],
) {
    let mut pos = start;
    let end = start + out.len();
    let combine = |a: S::V, b: S::V| match op {
        ReduceOp::Sum | ReduceOp::Mean => s.add(a, b),
        ReduceOp::Max => s.max(a, b),
        ReduceOp::Min => s.min(a, b),
    };
    while pos < end {
        let (o, i0) = (pos / inner, pos % inner);
        let base = o * len * inner + i0;
        if (inner - i0).min(end - pos) >= SWEEP * S::LANES {
            // SWEEP vectors of columns per pass down the rows: each row is
            // visited for SWEEP * LANES contiguous floats, not one vector
            // (the column sums of a bias gradient, 1280 x 5000: a 64-byte
            // read every 20 KB stalled on every row). Same order of
            // additions per column as the one-vector loop below.
            let mut acc: [S::V; SWEEP] = std::array::from_fn(|v| s.load(&x[base + v * S::LANES..]));
            for l in 1..len {
                let row = &x[base + l * inner..][..SWEEP * S::LANES];
                for (v, a) in acc.iter_mut().enumerate() {
                    *a = combine(*a, s.load(&row[v * S::LANES..]));
                }
            }
            for (v, a) in acc.into_iter().enumerate() {
                let a = if op == ReduceOp::Mean {
                    s.div(a, s.splat(len as f32))
                } else {
                    a
                };
                let at = pos - start + v * S::LANES;
                s.store_partial(&mut out[at..at + S::LANES], a);
            }
            pos += SWEEP * S::LANES;
            continue;
        }
        let n = S::LANES.min(inner - i0).min(end - pos);
        let mut acc = s.load_n(&x[base..], n, 0.0);
        for l in 1..len {
            let v = s.load_n(&x[base + l * inner..], n, 0.0);
            acc = match op {
                ReduceOp::Sum | ReduceOp::Mean => s.add(acc, v),
                ReduceOp::Max => s.max(acc, v),
                ReduceOp::Min => s.min(acc, v),
            };
        }
        if op == ReduceOp::Mean {
            acc = s.div(acc, s.splat(len as f32));
        }
        s.store_partial(&mut out[pos - start..pos - start + n], acc);
        pos += n;
    }
}

/// Index of the first maximum along the middle axis, as an exact `f32`.
/// NaN inputs give an unspecified (but in-range) index.
pub fn argmax(x: &[f32], outer: usize, len: usize, inner: usize, out: &mut [f32]) {
    assert_eq!(x.len(), outer * len * inner, "argmax: x length");
    assert_eq!(out.len(), outer * inner, "argmax: out length");
    if out.is_empty() {
        return;
    }
    assert!(len > 0, "argmax: cannot take the argmax of an empty axis");
    let isa = isa();
    let body =
        |start: usize, o: &mut [f32]| dispatch!(isa, s => argmax_simd(s, x, len, inner, start, o));
    if worth_parallel(x.len()) {
        let chunk = (TASK_ELEMS / len).max(64);
        out.par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, o)| body(i * chunk, o));
    } else {
        body(0, out);
    }
}

#[inline(always)]
fn argmax_simd<S: Simd>(s: S, x: &[f32], len: usize, inner: usize, start: usize, out: &mut [f32]) {
    if inner == 1 {
        // Vector max, then the first position holding it (a short scan).
        for (k, o) in out.iter_mut().enumerate() {
            let row = &x[(start + k) * len..(start + k + 1) * len];
            let m = extreme_slice(s, row, true);
            *o = row.iter().position(|&v| v == m).unwrap_or(0) as f32;
        }
        return;
    }
    let mut pos = start;
    let end = start + out.len();
    while pos < end {
        let (o, i0) = (pos / inner, pos % inner);
        let n = S::LANES.min(inner - i0).min(end - pos);
        let base = o * len * inner + i0;
        let mut best = s.load_n(&x[base..], n, 0.0);
        let mut best_idx = s.zero();
        for l in 1..len {
            let v = s.load_n(&x[base + l * inner..], n, 0.0);
            // Strictly greater: ties keep the earlier index.
            let better = s.lt(best, v);
            best = s.select(better, v, best);
            best_idx = s.select(better, s.splat(l as f32), best_idx);
        }
        s.store_partial(&mut out[pos - start..pos - start + n], best_idx);
        pos += n;
    }
}

/// Block size for [`sum_all`]: fixed, so the summation order (and the result)
/// does not depend on the number of threads.
const SUM_BLOCK: usize = 4096;

/// Sum of all elements: `f32` vector sums per block, blocks added in `f64`.
pub fn sum_all(x: &[f32]) -> f32 {
    let isa = isa();
    blocked(x, |b| dispatch!(isa, s => sum_slice(s, b)))
}

/// Sum of squares of all elements, blocked like [`sum_all`].
pub fn sum_squares(x: &[f32]) -> f32 {
    let isa = isa();
    blocked(x, |b| dispatch!(isa, s => sum_sq_slice(s, b)))
}

fn blocked(x: &[f32], block_sum: impl Fn(&[f32]) -> f32 + Sync) -> f32 {
    if worth_parallel(x.len()) {
        let partial: Vec<f32> = x.par_chunks(SUM_BLOCK).map(&block_sum).collect();
        partial.iter().map(|&p| p as f64).sum::<f64>() as f32
    } else {
        x.chunks(SUM_BLOCK)
            .map(|b| block_sum(b) as f64)
            .sum::<f64>() as f32
    }
}
