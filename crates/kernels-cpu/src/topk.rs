//! The k best entries of each row, best first, the lower index first on
//! ties; a non-finite entry ranks below every finite one and is returned as
//! [`TOPK_NONE`]. The GPU's `topk_rows` gives the same numbers; beam search
//! takes its candidates from here instead of reading whole rows.
//!
//! [`log_softmax_topk`] is the beam's step in one pass over the logits:
//! the k best of `log_softmax(x) = x - lse(x)` without writing the
//! `[rows, cols]` distribution (a vocabulary's worth of floats per beam,
//! written and read back only for k of them to be kept). Each value is
//! `x + (-lse)` with the lse of [`crate::log_softmax`], so both give the
//! same bits and the same order.
//!
//! The scan keeps a short sorted list (k is a beam's width, a row a
//! vocabulary): once it holds k entries, a whole vector of the row is
//! skipped when none of its lanes beats the k-th best, which is almost
//! every vector of a trained model's logits.

use crate::isa::isa;
use crate::par::{rows_per_task, worth_parallel};
use crate::simd::{dispatch, Simd};
use crate::softmax::logsumexp_row;
use rayon::prelude::*;

/// A non-finite entry's value in the output: finite, so both devices
/// return the same number (WGSL promises nothing about infinities).
pub const TOPK_NONE: f32 = -3.0e38;

/// `values[r, j]`, `indices[r, j]` (as f32) of the j-th best entry of row r
/// of `x` `[rows, cols]`, for j < k ≤ cols.
pub fn topk_rows(x: &[f32], cols: usize, k: usize, values: &mut [f32], indices: &mut [f32]) {
    best_rows(x, cols, k, values, indices, false, "topk_rows")
}

/// [`topk_rows`] of `log_softmax(x)` along the rows, computed without
/// the full `log_softmax` output.
pub fn log_softmax_topk(x: &[f32], cols: usize, k: usize, values: &mut [f32], indices: &mut [f32]) {
    best_rows(x, cols, k, values, indices, true, "log_softmax_topk")
}

fn best_rows(
    x: &[f32],
    cols: usize,
    k: usize,
    values: &mut [f32],
    indices: &mut [f32],
    log_softmax: bool,
    name: &str,
) {
    assert!(k >= 1 && k <= cols, "{name}: k = {k} for rows of {cols}");
    let rows = x.len() / cols;
    assert!(
        x.len() == rows * cols && values.len() == rows * k && indices.len() == rows * k,
        "{name}: {} inputs, {} values, {} indices for rows of {cols}, k = {k}",
        x.len(),
        values.len(),
        indices.len()
    );
    let isa = isa();
    let block = |x: &[f32], values: &mut [f32], indices: &mut [f32]| {
        let mut best: Vec<(u32, f32)> = Vec::with_capacity(k + 1);
        dispatch!(isa, s => for (r, row) in x.chunks_exact(cols).enumerate() {
            // Adding -0.0 leaves every float as it is, -0.0 included.
            let shift = match log_softmax {
                true => -logsumexp_row(s, row),
                false => -0.0,
            };
            best_of_row(s, row, shift, k, &mut best);
            for (j, &(c, v)) in best.iter().enumerate() {
                values[r * k + j] = v;
                indices[r * k + j] = c as f32;
            }
        })
    };
    if rows > 1 && worth_parallel(rows * cols) {
        let per = rows_per_task(cols);
        x.par_chunks(per * cols)
            .zip(values.par_chunks_mut(per * k))
            .zip(indices.par_chunks_mut(per * k))
            .for_each(|((x, v), i)| block(x, v, i));
    } else {
        block(x, values, indices);
    }
}

/// The k best `(column, row[c] + shift)` of one row into `best`, best first.
#[inline(always)]
fn best_of_row<S: Simd>(s: S, row: &[f32], shift: f32, k: usize, best: &mut Vec<(u32, f32)>) {
    best.clear();
    let mut c = 0;
    while best.len() < k {
        consider(row, c, shift, k, best);
        c += 1;
    }
    let (vshift, below, above) = (s.splat(shift), s.splat(-1.0), s.splat(1.0));
    while c + S::LANES <= row.len() {
        let v = s.add(s.load(&row[c..]), vshift);
        // 1 in every lane that is not ≤ the k-th best (NaN lanes included:
        // the scalar path ranks them as TOPK_NONE)
        let beats = s.select(s.le(v, s.splat(best[k - 1].1)), below, above);
        if s.reduce_max(beats) > 0.0 {
            for j in c..c + S::LANES {
                consider(row, j, shift, k, best);
            }
        }
        c += S::LANES;
    }
    for j in c..row.len() {
        consider(row, j, shift, k, best);
    }
}

/// Inserts column `c` into `best` if it is among the k best so far: after
/// every entry ≥ it, so that lower indices win ties.
#[inline(always)]
fn consider(row: &[f32], c: usize, shift: f32, k: usize, best: &mut Vec<(u32, f32)>) {
    let v = row[c] + shift;
    let v = if v.is_finite() { v } else { TOPK_NONE };
    if best.len() == k && v <= best[k - 1].1 {
        return;
    }
    let at = best.partition_point(|&(_, w)| w >= v);
    best.insert(at, (c as u32, v));
    best.truncate(k);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_first_lower_index_on_ties_non_finite_last() {
        let x = [1.0, f32::NAN, 3.0, 3.0, f32::NEG_INFINITY, -2.0];
        let (mut v, mut i) = ([0.0; 5], [0.0; 5]);
        topk_rows(&x, 6, 5, &mut v, &mut i);
        assert_eq!(i, [2.0, 3.0, 0.0, 5.0, 1.0]);
        assert_eq!(v, [3.0, 3.0, 1.0, -2.0, TOPK_NONE]);
    }

    #[test]
    fn negative_zero_comes_back_as_it_went_in() {
        let (mut v, mut i) = ([0.0; 1], [0.0; 1]);
        topk_rows(&[-0.0], 1, 1, &mut v, &mut i);
        assert!(v[0] == 0.0 && v[0].is_sign_negative());
    }
}
