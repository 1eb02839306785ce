//! Bahdanau's additive attention score as one kernel, and its gradients as
//! another (Bahdanau, Cho & Bengio 2014, eq. 6 of the appendix; Luong's
//! "concat" score is the same function of other projections):
//!
//! ```text
//! e[b,t,s] = Σ_a v[a] · tanh(q[b,t,a] + k[b,s,a])
//! ```
//!
//! q `[B, Tq, A]` (projected queries), k `[B, S, A]` (projected keys),
//! v `[A]`, e `[B, Tq, S]`. From `g = ∂L/∂e`, with `u = tanh(q_t + k_s)`
//! recomputed rather than stored:
//!
//! ```text
//! d[b,t,s,a] = g[b,t,s] · v[a] · (1 − u²)
//! ∂q[b,t] = Σ_s d[b,t,s]      ∂k[b,s] = Σ_t d[b,t,s]      ∂v = Σ_{b,t,s} g[b,t,s] · u
//! ```
//!
//! Why fuse: composed, the score is a broadcast add and a tanh that each
//! write a `[B, Tq, S, A]` tensor, then a one-column product; its backward is
//! a one-row product, the four ops of tanh's derivative and two broadcast
//! sums — a dozen passes over `B·Tq·S·A` floats (655 KB per decoder step at
//! B = 64, S = 10, A = 256) where these kernels make one, and never store
//! the `[B, Tq, S, A]` tensor.
//!
//! Work is split by whole batch rows; the `∂v` partial sums of each task are
//! added in task order, and tasks are sized from the shapes alone, so the
//! result does not depend on the thread count.

use crate::isa::isa;
use crate::math;
use crate::par::{rows_per_task, worth_parallel};
use crate::simd::{dispatch, Simd};
use crate::softmax::put;
use rayon::prelude::*;

/// The sizes of one additive score: batch, query steps, source positions,
/// attention size.
#[derive(Clone, Copy, Debug)]
pub struct Additive {
    pub batch: usize,
    pub tq: usize,
    pub s: usize,
    pub a: usize,
}

impl Additive {
    fn check(&self, what: &str, q: &[f32], k: &[f32], v: &[f32], e: &[f32]) {
        let Additive { batch, tq, s, a } = *self;
        assert_eq!(q.len(), batch * tq * a, "{what}: q is not [B, Tq, A]");
        assert_eq!(k.len(), batch * s * a, "{what}: k is not [B, S, A]");
        assert_eq!(v.len(), a, "{what}: v is not [A]");
        assert_eq!(e.len(), batch * tq * s, "{what}: scores are not [B, Tq, S]");
    }

    /// Batch rows per task: about `TASK_ELEMS` of `tanh` each.
    fn rows_per_task(&self) -> usize {
        rows_per_task(self.tq * self.s * self.a)
    }
}

/// `e[b,t,s] = Σ_a v[a] tanh(q[b,t,a] + k[b,s,a])` (see the module docs).
pub fn additive_score(sz: Additive, q: &[f32], k: &[f32], v: &[f32], e: &mut [f32]) {
    sz.check("additive_score", q, k, v, e);
    let Additive { tq, s, a, .. } = sz;
    if e.is_empty() {
        return;
    }
    let isa = isa();
    let rows = |b0: usize, e: &mut [f32]| {
        let n = e.len() / (tq * s);
        let (q, k) = (
            &q[b0 * tq * a..][..n * tq * a],
            &k[b0 * s * a..][..n * s * a],
        );
        dispatch!(isa, x => forward_rows(x, sz, q, k, v, e))
    };
    if worth_parallel(e.len() * a) {
        let per = sz.rows_per_task();
        e.par_chunks_mut(per * tq * s)
            .enumerate()
            .for_each(|(t, e)| rows(t * per, e));
    } else {
        rows(0, e);
    }
}

/// Gradients of [`additive_score`] from `g = ∂L/∂e`: writes `dq`, `dk`
/// (shaped like `q`, `k`) and `dv` (`[A]`).
#[allow(clippy::too_many_arguments)]
pub fn additive_score_backward(
    sz: Additive,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    g: &[f32],
    dq: &mut [f32],
    dk: &mut [f32],
    dv: &mut [f32],
) {
    sz.check("additive_score_backward", q, k, v, g);
    let Additive { tq, s, a, .. } = sz;
    assert!(
        dq.len() == q.len() && dk.len() == k.len() && dv.len() == a,
        "additive_score_backward: gradients are not shaped like q, k, v"
    );
    dq.fill(0.0);
    dk.fill(0.0);
    dv.fill(0.0);
    if g.is_empty() || a == 0 {
        return;
    }
    let isa = isa();
    let rows = |b0: usize, dq: &mut [f32], dk: &mut [f32], dv: &mut [f32]| {
        let n = dq.len() / (tq * a);
        let (q, k, g) = (
            &q[b0 * tq * a..][..n * tq * a],
            &k[b0 * s * a..][..n * s * a],
            &g[b0 * tq * s..][..n * tq * s],
        );
        dispatch!(isa, x => backward_rows(x, sz, q, k, v, g, dq, dk, dv))
    };
    // One ∂v partial sum per task-sized block of rows, on one thread or
    // many, added in block order: the same numbers on any thread count.
    let per = sz.rows_per_task();
    let block = |(t, (dq, dk)): (usize, (&mut [f32], &mut [f32]))| {
        let mut part = vec![0.0; a];
        rows(t * per, dq, dk, &mut part);
        part
    };
    let partials: Vec<Vec<f32>> = if worth_parallel(g.len() * a) {
        dq.par_chunks_mut(per * tq * a)
            .zip(dk.par_chunks_mut(per * s * a))
            .enumerate()
            .map(block)
            .collect()
    } else {
        dq.chunks_mut(per * tq * a)
            .zip(dk.chunks_mut(per * s * a))
            .enumerate()
            .map(block)
            .collect()
    };
    for part in partials {
        dv.iter_mut().zip(part).for_each(|(d, p)| *d += p);
    }
}

/// Lanes `j..j+w` of a slice.
#[inline(always)]
fn ld<S: Simd>(x: S, v: &[f32], j: usize, w: usize) -> S::V {
    x.load_n(&v[j..], w, 0.0)
}

#[inline(always)]
fn forward_rows<S: Simd>(x: S, sz: Additive, q: &[f32], k: &[f32], v: &[f32], e: &mut [f32]) {
    let Additive { tq, s, a, .. } = sz;
    for (b, e) in e.chunks_exact_mut(tq * s).enumerate() {
        for t in 0..tq {
            let qt = &q[(b * tq + t) * a..][..a];
            for (si, out) in e[t * s..][..s].iter_mut().enumerate() {
                let ks = &k[(b * s + si) * a..][..a];
                let mut acc = x.zero();
                let mut j = 0;
                while j < a {
                    let w = S::LANES.min(a - j);
                    // Padded lanes: v = 0 there, so tanh(0) adds nothing.
                    let u = math::tanh(x, x.add(ld(x, qt, j, w), ld(x, ks, j, w)));
                    acc = x.mul_add(ld(x, v, j, w), u, acc);
                    j += w;
                }
                *out = x.reduce_sum(acc);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn backward_rows<S: Simd>(
    x: S,
    sz: Additive,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    g: &[f32],
    dq: &mut [f32],
    dk: &mut [f32],
    dv: &mut [f32],
) {
    let Additive { tq, s, a, .. } = sz;
    let one = x.splat(1.0);
    let batch = dq.len() / (tq * a);
    for b in 0..batch {
        for t in 0..tq {
            let qt = &q[(b * tq + t) * a..][..a];
            let dqt = &mut dq[(b * tq + t) * a..][..a];
            for si in 0..s {
                let gts = g[(b * tq + t) * s + si];
                let ks = &k[(b * s + si) * a..][..a];
                let dks = &mut dk[(b * s + si) * a..][..a];
                let gv = x.splat(gts);
                let mut j = 0;
                while j < a {
                    let w = S::LANES.min(a - j);
                    let u = math::tanh(x, x.add(ld(x, qt, j, w), ld(x, ks, j, w)));
                    // d = g v (1 − u²)
                    let d = x.mul(x.mul(gv, ld(x, v, j, w)), x.sub(one, x.mul(u, u)));
                    put(x, dqt, j, w, x.add(ld(x, dqt, j, w), d));
                    put(x, dks, j, w, x.add(ld(x, dks, j, w), d));
                    put(x, dv, j, w, x.mul_add(gv, u, ld(x, dv, j, w)));
                    j += w;
                }
            }
        }
    }
}
