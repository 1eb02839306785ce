//! Layer normalisation over the last axis, forward and backward.
//!
//! Forward, per row of `cols` values:
//! `mean = sum x / cols`, `var = sum (x - mean)^2 / cols` (biased, like torch),
//! `rstd = 1 / sqrt(var + eps)`, `y = (x - mean) * rstd * gamma + beta`.
//! The variance uses two passes over the row (mean first, then squared
//! deviations) rather than `E[x^2] - E[x]^2`, which cancels catastrophically
//! when |mean| >> std. A row is at most a few thousand floats, so the second
//! pass hits L1 and costs little.
//!
//! Backward, with `xhat = (x - mean) * rstd` and `g = gy * gamma`:
//! `gx = rstd * (g - mean(g) - xhat * mean(g * xhat))`,
//! `ggamma = sum_rows gy * xhat`, `gbeta = sum_rows gy`.
//! Rows run in parallel; each task keeps its own partial `ggamma`/`gbeta` and
//! the partials are added in task order, so the result is deterministic.
//!
//! An empty row (`cols == 0`) is defined to have mean 0 and variance 0.

use crate::isa::isa;
use crate::par::{rows_per_task, worth_parallel};
use crate::reduce::sum_slice;
use crate::simd::{dispatch, Simd};
use crate::softmax::{put, vectors};
use rayon::prelude::*;

/// `y = (x - mean) * rstd * gamma + beta` per row; writes `mean` and `rstd`
/// (length `rows`) for the backward pass. `gamma`/`beta` default to 1/0.
#[allow(clippy::too_many_arguments)]
pub fn layer_norm(
    x: &[f32],
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    rows: usize,
    cols: usize,
    eps: f32,
    y: &mut [f32],
    mean: &mut [f32],
    rstd: &mut [f32],
) {
    assert_eq!(x.len(), rows * cols, "layer_norm: x length");
    assert_eq!(y.len(), rows * cols, "layer_norm: y length");
    assert!(
        mean.len() == rows && rstd.len() == rows,
        "layer_norm: mean/rstd length"
    );
    assert!(
        gamma.is_none_or(|g| g.len() == cols),
        "layer_norm: gamma length"
    );
    assert!(
        beta.is_none_or(|b| b.len() == cols),
        "layer_norm: beta length"
    );
    if rows == 0 {
        return;
    }
    if cols == 0 {
        mean.fill(0.0);
        rstd.fill(1.0 / eps.sqrt());
        return;
    }
    let isa = isa();
    let body = |x: &[f32], y: &mut [f32], mean: &mut [f32], rstd: &mut [f32]| {
        dispatch!(isa, s => {
            for (r, (xr, yr)) in x.chunks_exact(cols).zip(y.chunks_exact_mut(cols)).enumerate() {
                (mean[r], rstd[r]) = layer_norm_row(s, xr, gamma, beta, eps, yr);
            }
        })
    };
    if worth_parallel(rows * cols) {
        let rpt = rows_per_task(cols);
        y.par_chunks_mut(rpt * cols)
            .zip(x.par_chunks(rpt * cols))
            .zip(mean.par_chunks_mut(rpt).zip(rstd.par_chunks_mut(rpt)))
            .for_each(|((y, x), (m, r))| body(x, y, m, r));
    } else {
        body(x, y, mean, rstd);
    }
}

#[inline(always)]
fn layer_norm_row<S: Simd>(
    s: S,
    x: &[f32],
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    eps: f32,
    y: &mut [f32],
) -> (f32, f32) {
    let n = x.len() as f32;
    let mean = sum_slice(s, x) / n;
    let vm = s.splat(mean);
    let mut acc = s.zero();
    // Tail lanes are filled with the mean so they add zero deviation.
    for (_, _, v) in vectors(s, x, mean) {
        let d = s.sub(v, vm);
        acc = s.mul_add(d, d, acc);
    }
    let var = s.reduce_sum(acc) / n;
    let rstd = 1.0 / (var + eps).sqrt();
    let vr = s.splat(rstd);
    for (i, k, v) in vectors(s, x, 0.0) {
        let mut out = s.mul(s.sub(v, vm), vr);
        if let Some(g) = gamma {
            out = s.mul(out, s.load_n(&g[i..], k, 0.0));
        }
        if let Some(b) = beta {
            out = s.add(out, s.load_n(&b[i..], k, 0.0));
        }
        put(s, y, i, k, out);
    }
    (mean, rstd)
}

/// Gradients of [`layer_norm`]: `gx` (rows*cols) and, when given, `ggamma` and
/// `gbeta` (cols) are overwritten.
#[allow(clippy::too_many_arguments)]
pub fn layer_norm_backward(
    x: &[f32],
    gamma: Option<&[f32]>,
    mean: &[f32],
    rstd: &[f32],
    gy: &[f32],
    rows: usize,
    cols: usize,
    gx: &mut [f32],
    ggamma: Option<&mut [f32]>,
    gbeta: Option<&mut [f32]>,
) {
    assert!(
        x.len() == rows * cols && gy.len() == rows * cols,
        "layer_norm_backward: x/gy length"
    );
    assert_eq!(gx.len(), rows * cols, "layer_norm_backward: gx length");
    assert!(
        mean.len() == rows && rstd.len() == rows,
        "layer_norm_backward: mean/rstd length"
    );
    assert!(
        gamma.is_none_or(|g| g.len() == cols),
        "layer_norm_backward: gamma length"
    );
    let want_params = ggamma.is_some() || gbeta.is_some();
    let isa = isa();
    // One task: rows `r0..` of x/gy/gx; returns partial [ggamma | gbeta] sums.
    let task = |r0: usize, x: &[f32], gy: &[f32], gx: &mut [f32]| -> Vec<f32> {
        let mut partial = if want_params {
            vec![0.0; 2 * cols]
        } else {
            Vec::new()
        };
        dispatch!(isa, s => {
            for (k, ((xr, gr), dr)) in x.chunks_exact(cols).zip(gy.chunks_exact(cols)).zip(gx.chunks_exact_mut(cols)).enumerate() {
                let (m, rs) = (mean[r0 + k], rstd[r0 + k]);
                backward_row(s, xr, gamma, m, rs, gr, dr, &mut partial);
            }
        });
        partial
    };
    let partials: Vec<Vec<f32>> = if rows == 0 || cols == 0 {
        Vec::new()
    } else if worth_parallel(rows * cols) {
        let rpt = rows_per_task(cols);
        gx.par_chunks_mut(rpt * cols)
            .zip(x.par_chunks(rpt * cols).zip(gy.par_chunks(rpt * cols)))
            .enumerate()
            .map(|(t, (gx, (x, gy)))| task(t * rpt, x, gy, gx))
            .collect()
    } else {
        vec![task(0, x, gy, gx)]
    };
    let total = |offset: usize, out: &mut [f32]| {
        out.fill(0.0);
        for p in &partials {
            for (o, v) in out.iter_mut().zip(&p[offset..offset + cols]) {
                *o += v;
            }
        }
    };
    if let Some(gg) = ggamma {
        assert_eq!(gg.len(), cols, "layer_norm_backward: ggamma length");
        total(0, gg);
    }
    if let Some(gb) = gbeta {
        assert_eq!(gb.len(), cols, "layer_norm_backward: gbeta length");
        total(cols, gb);
    }
}

/// `gy * gamma` for lanes `i..i+k` (gamma defaults to 1).
#[inline(always)]
fn scaled_grad<S: Simd>(s: S, gy: &[f32], gamma: Option<&[f32]>, i: usize, k: usize) -> S::V {
    let g = s.load_n(&gy[i..], k, 0.0);
    match gamma {
        Some(w) => s.mul(g, s.load_n(&w[i..], k, 0.0)),
        None => g,
    }
}

/// One row of the backward pass; adds this row's `gy*xhat` and `gy` into
/// `partial[..cols]` and `partial[cols..]` when `partial` is not empty.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn backward_row<S: Simd>(
    s: S,
    x: &[f32],
    gamma: Option<&[f32]>,
    mean: f32,
    rstd: f32,
    gy: &[f32],
    gx: &mut [f32],
    partial: &mut [f32],
) {
    let cols = x.len();
    let (vm, vr) = (s.splat(mean), s.splat(rstd));
    // Pass 1: mean(g) and mean(g * xhat). Tail lanes have g = 0 so add nothing.
    let (mut sum_g, mut sum_gx) = (s.zero(), s.zero());
    for (i, k, v) in vectors(s, x, 0.0) {
        let xhat = s.mul(s.sub(v, vm), vr);
        let g = scaled_grad(s, gy, gamma, i, k);
        sum_g = s.add(sum_g, g);
        sum_gx = s.mul_add(g, xhat, sum_gx);
    }
    let inv_n = 1.0 / cols as f32;
    let a = s.splat(s.reduce_sum(sum_g) * inv_n);
    let b = s.splat(s.reduce_sum(sum_gx) * inv_n);
    // Pass 2: gx, and the parameter-gradient partial sums.
    let with_params = !partial.is_empty();
    for (i, k, v) in vectors(s, x, 0.0) {
        let xhat = s.mul(s.sub(v, vm), vr);
        let g = scaled_grad(s, gy, gamma, i, k);
        let d = s.sub(s.sub(g, a), s.mul(xhat, b));
        put(s, gx, i, k, s.mul(d, vr));
        if with_params {
            let gyv = s.load_n(&gy[i..], k, 0.0);
            let (pg, pb) = partial.split_at_mut(cols);
            let acc_g = s.mul_add(gyv, xhat, s.load_n(&pg[i..], k, 0.0));
            put(s, pg, i, k, acc_g);
            let acc_b = s.add(gyv, s.load_n(&pb[i..], k, 0.0));
            put(s, pb, i, k, acc_b);
        }
    }
}
