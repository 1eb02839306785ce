//! Cross-entropy with label smoothing and an ignore index, on `rows x cols`
//! logits with one target class per row.
//!
//! With `lse = ln sum_j e^{x_j}` (computed stably, see `softmax`) the log
//! probabilities are `x_j - lse`, so the per-row loss
//! `(1-eps) * -logp[t] + eps * mean_j(-logp[j])` simplifies to
//! `(1-eps) * (lse - x_t) + eps * (lse - mean_j x_j)` — no log-softmax row is
//! ever materialised. The backward pass re-reads the logits and the saved `lse`:
//! `gx = gloss * (e^{x_j - lse} - (1-eps)[j == t] - eps/cols)`.
//!
//! Targets travel as `f32` holding exact integers; a row whose target equals
//! `ignore_index` gets loss 0 and gradient 0 and is not counted.

use crate::isa::isa;
use crate::math;
use crate::par::{rows_per_task, worth_parallel};
use crate::reduce::sum_slice;
use crate::simd::{dispatch, Simd};
use crate::softmax::{logsumexp_row, put, vectors};
use rayon::prelude::*;

/// The target class of a row, or `None` for an ignored row.
#[inline]
fn target_of(t: f32, ignore_index: i64, cols: usize) -> Option<usize> {
    let t = t as i64;
    if t == ignore_index {
        return None;
    }
    assert!(
        t >= 0 && (t as usize) < cols,
        "cross_entropy: target {t} out of range 0..{cols}"
    );
    Some(t as usize)
}

/// Per-row smoothed cross-entropy; writes `loss` and `lse` (length `rows`) and
/// returns the number of rows not ignored.
#[allow(clippy::too_many_arguments)]
pub fn cross_entropy(
    logits: &[f32],
    targets: &[f32],
    rows: usize,
    cols: usize,
    ignore_index: i64,
    smoothing: f32,
    loss: &mut [f32],
    lse: &mut [f32],
) -> usize {
    assert_eq!(logits.len(), rows * cols, "cross_entropy: logits length");
    assert!(
        targets.len() == rows && loss.len() == rows && lse.len() == rows,
        "cross_entropy: per-row lengths"
    );
    if rows == 0 {
        return 0;
    }
    assert!(cols > 0, "cross_entropy: no classes");
    let isa = isa();
    let body = |r0: usize, x: &[f32], loss: &mut [f32], lse: &mut [f32]| -> usize {
        let mut counted = 0;
        for (k, xr) in x.chunks_exact(cols).enumerate() {
            let t = targets[r0 + k];
            let (l, m, counts) = dispatch!(isa, s => row_loss(s, xr, t, ignore_index, smoothing));
            (loss[k], lse[k]) = (l, m);
            counted += counts as usize;
        }
        counted
    };
    if worth_parallel(rows * cols) {
        let rpt = rows_per_task(cols);
        logits
            .par_chunks(rpt * cols)
            .zip(loss.par_chunks_mut(rpt).zip(lse.par_chunks_mut(rpt)))
            .enumerate()
            .map(|(t, (x, (loss, lse)))| body(t * rpt, x, loss, lse))
            .sum()
    } else {
        body(0, logits, loss, lse)
    }
}

/// `(loss, lse, counted)` for one row.
#[inline(always)]
fn row_loss<S: Simd>(s: S, x: &[f32], t: f32, ignore_index: i64, eps: f32) -> (f32, f32, bool) {
    let cols = x.len();
    let lse = logsumexp_row(s, x);
    match target_of(t, ignore_index, cols) {
        None => (0.0, lse, false),
        Some(t) => {
            let nll = lse - x[t];
            let loss = if eps == 0.0 {
                nll
            } else {
                let mean_x = sum_slice(s, x) / cols as f32;
                (1.0 - eps) * nll + eps * (lse - mean_x)
            };
            (loss, lse, true)
        }
    }
}

/// `gx[r, j] = gloss[r] * (softmax_j - (1-eps)[j == t] - eps/cols)`; zero rows
/// for ignored targets. `gx` is overwritten.
#[allow(clippy::too_many_arguments)]
pub fn cross_entropy_backward(
    logits: &[f32],
    targets: &[f32],
    lse: &[f32],
    gloss: &[f32],
    rows: usize,
    cols: usize,
    ignore_index: i64,
    smoothing: f32,
    gx: &mut [f32],
) {
    assert_eq!(
        logits.len(),
        rows * cols,
        "cross_entropy_backward: logits length"
    );
    assert_eq!(gx.len(), rows * cols, "cross_entropy_backward: gx length");
    assert!(
        targets.len() == rows && lse.len() == rows && gloss.len() == rows,
        "cross_entropy_backward: per-row lengths"
    );
    if rows == 0 || cols == 0 {
        return;
    }
    let isa = isa();
    let body = |r0: usize, x: &[f32], gx: &mut [f32]| {
        for (k, (xr, gr)) in x
            .chunks_exact(cols)
            .zip(gx.chunks_exact_mut(cols))
            .enumerate()
        {
            let r = r0 + k;
            match target_of(targets[r], ignore_index, cols) {
                None => gr.fill(0.0),
                Some(t) => {
                    dispatch!(isa, s => backward_row(s, xr, lse[r], gloss[r], smoothing, gr));
                    gr[t] -= gloss[r] * (1.0 - smoothing);
                }
            }
        }
    };
    if worth_parallel(rows * cols) {
        let rpt = rows_per_task(cols);
        gx.par_chunks_mut(rpt * cols)
            .zip(logits.par_chunks(rpt * cols))
            .enumerate()
            .for_each(|(t, (gx, x))| body(t * rpt, x, gx));
    } else {
        body(0, logits, gx);
    }
}

/// `gx_j = gloss * (e^{x_j - lse} - eps/cols)`; the target term is added by the caller.
#[inline(always)]
fn backward_row<S: Simd>(s: S, x: &[f32], lse: f32, gloss: f32, eps: f32, gx: &mut [f32]) {
    let (vl, vg) = (s.splat(lse), s.splat(gloss));
    let off = s.splat(eps / x.len() as f32);
    for (i, k, v) in vectors(s, x, 0.0) {
        let p = math::exp(s, s.sub(v, vl));
        put(s, gx, i, k, s.mul(vg, s.sub(p, off)));
    }
}
