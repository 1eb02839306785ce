//! The GRU cell's gate equations as one kernel, and their gradients as
//! another, in PyTorch's gate order (r, z, n):
//!
//! ```text
//! gi = W_i x + b_i,  gh = W_h h + b_h            (the two GEMMs, done before)
//! r  = σ(gi_r + gh_r)
//! z  = σ(gi_z + gh_z)
//! n  = tanh(gi_n + r ⊙ gh_n)
//! h' = (1 − z) ⊙ n + z ⊙ h
//! ```
//!
//! Why fuse: composed from tensor ops this is ~12 kernels forward and ~25
//! backward per step, each a pass over `[B, H]` plus an autograd node, and
//! `chunk(3)` makes three zero-padded `[B, 3H]` gradients that are summed.
//! At the sizes we train (B = 64, H = 256) those passes, not the arithmetic,
//! are most of a recurrent step outside the GEMMs.
//!
//! The forward pass saves `ws = [r, z, n, gh_n]` (`[B, 4H]`) for the
//! backward pass, which from `g = ∂L/∂h'` computes
//!
//! ```text
//! ∂n = g ⊙ (1 − z) ⊙ (1 − n²)      ∂gi_n = ∂n        ∂gh_n = ∂n ⊙ r
//! ∂r = ∂n ⊙ gh_n ⊙ r (1 − r)       ∂gi_r = ∂gh_r = ∂r
//! ∂z = g ⊙ (h − n) ⊙ z (1 − z)     ∂gi_z = ∂gh_z = ∂z
//! ∂h = g ⊙ z
//! ```

use crate::isa::isa;
use crate::math;
use crate::par::{rows_per_task, worth_parallel};
use crate::simd::{dispatch, Simd};
use rayon::prelude::*;

/// `h' = GRU(gi, gh, h)` for `rows` rows of `hidden` units; `gi`, `gh` are
/// `[rows, 3·hidden]`, `h` and `out` `[rows, hidden]`, `ws` `[rows, 4·hidden]`.
pub fn gru_cell(
    gi: &[f32],
    gh: &[f32],
    h: &[f32],
    rows: usize,
    hidden: usize,
    out: &mut [f32],
    ws: &mut [f32],
) {
    let hh = hidden;
    assert!(
        gi.len() == rows * 3 * hh && gh.len() == rows * 3 * hh,
        "gru_cell: gates are not [rows, 3H]"
    );
    assert!(
        h.len() == rows * hh && out.len() == rows * hh,
        "gru_cell: state is not [rows, H]"
    );
    assert_eq!(
        ws.len(),
        rows * 4 * hh,
        "gru_cell: workspace is not [rows, 4H]"
    );
    let isa = isa();
    let block = |r0: usize, out: &mut [f32], ws: &mut [f32]| {
        let n = out.len() / hh.max(1);
        let (gi, gh, h) = (
            &gi[r0 * 3 * hh..][..n * 3 * hh],
            &gh[r0 * 3 * hh..][..n * 3 * hh],
            &h[r0 * hh..][..n * hh],
        );
        dispatch!(isa, s => forward_rows(s, gi, gh, h, hh, out, ws))
    };
    if hh == 0 || rows == 0 {
        return;
    }
    if worth_parallel(rows * hh) {
        let per = rows_per_task(hh);
        out.par_chunks_mut(per * hh)
            .zip(ws.par_chunks_mut(per * 4 * hh))
            .enumerate()
            .for_each(|(t, (o, w))| block(t * per, o, w));
    } else {
        block(0, out, ws);
    }
}

/// Gradients of [`gru_cell`]: from `g` (`[rows, hidden]`), the saved `ws`
/// and the old state `h`, writes `d_gi`, `d_gh` (`[rows, 3·hidden]`) and `d_h`.
#[allow(clippy::too_many_arguments)]
pub fn gru_cell_backward(
    ws: &[f32],
    h: &[f32],
    g: &[f32],
    rows: usize,
    hidden: usize,
    d_gi: &mut [f32],
    d_gh: &mut [f32],
    d_h: &mut [f32],
) {
    let hh = hidden;
    assert_eq!(
        ws.len(),
        rows * 4 * hh,
        "gru_cell_backward: workspace is not [rows, 4H]"
    );
    assert!(
        h.len() == rows * hh && g.len() == rows * hh && d_h.len() == rows * hh,
        "gru_cell_backward: state is not [rows, H]"
    );
    assert!(
        d_gi.len() == rows * 3 * hh && d_gh.len() == rows * 3 * hh,
        "gru_cell_backward: gates are not [rows, 3H]"
    );
    if hh == 0 || rows == 0 {
        return;
    }
    let isa = isa();
    let block = |r0: usize, d_gi: &mut [f32], d_gh: &mut [f32], d_h: &mut [f32]| {
        let n = d_h.len() / hh;
        let (ws, h, g) = (
            &ws[r0 * 4 * hh..][..n * 4 * hh],
            &h[r0 * hh..][..n * hh],
            &g[r0 * hh..][..n * hh],
        );
        dispatch!(isa, s => backward_rows(s, ws, h, g, hh, d_gi, d_gh, d_h))
    };
    if worth_parallel(rows * hh) {
        let per = rows_per_task(hh);
        d_gi.par_chunks_mut(per * 3 * hh)
            .zip(d_gh.par_chunks_mut(per * 3 * hh))
            .zip(d_h.par_chunks_mut(per * hh))
            .enumerate()
            .for_each(|(t, ((a, b), c))| block(t * per, a, b, c));
    } else {
        block(0, d_gi, d_gh, d_h);
    }
}

/// Lanes `j..j+w` of a row slice.
#[inline(always)]
fn ld<S: Simd>(s: S, x: &[f32], j: usize, w: usize) -> S::V {
    s.load_n(&x[j..], w, 0.0)
}

#[inline(always)]
fn st<S: Simd>(s: S, x: &mut [f32], j: usize, w: usize, v: S::V) {
    crate::softmax::put(s, x, j, w, v)
}

#[inline(always)]
fn forward_rows<S: Simd>(
    s: S,
    gi: &[f32],
    gh: &[f32],
    h: &[f32],
    hh: usize,
    out: &mut [f32],
    ws: &mut [f32],
) {
    for (row, (o, w)) in out
        .chunks_exact_mut(hh)
        .zip(ws.chunks_exact_mut(4 * hh))
        .enumerate()
    {
        let (gi, gh, h) = (
            &gi[row * 3 * hh..][..3 * hh],
            &gh[row * 3 * hh..][..3 * hh],
            &h[row * hh..][..hh],
        );
        let mut j = 0;
        while j < hh {
            let wd = S::LANES.min(hh - j);
            let r = math::sigmoid(s, s.add(ld(s, gi, j, wd), ld(s, gh, j, wd)));
            let z = math::sigmoid(s, s.add(ld(s, gi, hh + j, wd), ld(s, gh, hh + j, wd)));
            let ghn = ld(s, gh, 2 * hh + j, wd);
            let n = math::tanh(s, s.mul_add(r, ghn, ld(s, gi, 2 * hh + j, wd)));
            // h' = (1 − z) n + z h = n + z (h − n)
            let hv = ld(s, h, j, wd);
            st(s, o, j, wd, s.mul_add(z, s.sub(hv, n), n));
            st(s, w, j, wd, r);
            st(s, w, hh + j, wd, z);
            st(s, w, 2 * hh + j, wd, n);
            st(s, w, 3 * hh + j, wd, ghn);
            j += wd;
        }
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn backward_rows<S: Simd>(
    s: S,
    ws: &[f32],
    h: &[f32],
    g: &[f32],
    hh: usize,
    d_gi: &mut [f32],
    d_gh: &mut [f32],
    d_h: &mut [f32],
) {
    let one = s.splat(1.0);
    for (row, ((dgi, dgh), dh)) in d_gi
        .chunks_exact_mut(3 * hh)
        .zip(d_gh.chunks_exact_mut(3 * hh))
        .zip(d_h.chunks_exact_mut(hh))
        .enumerate()
    {
        let (w, h, g) = (
            &ws[row * 4 * hh..][..4 * hh],
            &h[row * hh..][..hh],
            &g[row * hh..][..hh],
        );
        let mut j = 0;
        while j < hh {
            let wd = S::LANES.min(hh - j);
            let (r, z, n, ghn) = (
                ld(s, w, j, wd),
                ld(s, w, hh + j, wd),
                ld(s, w, 2 * hh + j, wd),
                ld(s, w, 3 * hh + j, wd),
            );
            let (gv, hv) = (ld(s, g, j, wd), ld(s, h, j, wd));
            // ∂n = g (1 − z)(1 − n²)
            let dn = s.mul(s.mul(gv, s.sub(one, z)), s.sub(one, s.mul(n, n)));
            // ∂r = ∂n gh_n r (1 − r)
            let dr = s.mul(s.mul(dn, ghn), s.mul(r, s.sub(one, r)));
            // ∂z = g (h − n) z (1 − z)
            let dz = s.mul(s.mul(gv, s.sub(hv, n)), s.mul(z, s.sub(one, z)));
            st(s, dgi, j, wd, dr);
            st(s, dgi, hh + j, wd, dz);
            st(s, dgi, 2 * hh + j, wd, dn);
            st(s, dgh, j, wd, dr);
            st(s, dgh, hh + j, wd, dz);
            st(s, dgh, 2 * hh + j, wd, s.mul(dn, r));
            // ∂h = g z
            st(s, dh, j, wd, s.mul(gv, z));
            j += wd;
        }
    }
}
