//! Optimizer update steps with `torch.optim` semantics, fused into one pass
//! over the parameters (each element of p, g, m, v is read and written once).
//!
//! Adam / AdamW (`torch.optim.Adam`, `torch.optim.AdamW`, no amsgrad):
//! ```text
//! Adam:   g <- g + wd * p                 (L2 penalty folded into the gradient)
//! AdamW:  p <- p * (1 - lr * wd)          (decoupled weight decay)
//! m <- m + (1 - beta1) * (g - m)          (torch's lerp form of beta1*m + (1-beta1)*g)
//! v <- beta2 * v + (1 - beta2) * g^2
//! p <- p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
//! ```
//! with `t = step`, counted from 1. The bias corrections are computed once, in
//! `f64`, as torch does in Python.
//!
//! SGD (`torch.optim.SGD`):
//! ```text
//! g <- g + wd * p
//! buf <- g                                  on the first step
//! buf <- momentum * buf + (1 - dampening) * g   afterwards
//! g <- g + momentum * buf  (nesterov)   or   g <- buf
//! p <- p - lr * g
//! ```

use crate::isa::isa;
use crate::par::{worth_parallel, TASK_ELEMS};
use crate::simd::{dispatch, Simd};
use crate::softmax::put;
use rayon::prelude::*;

/// Hyper-parameters of one Adam/AdamW step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamParams {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    /// `true` for AdamW (decoupled weight decay), `false` for Adam (L2).
    pub decoupled: bool,
    /// The step number, 1-based (the first update uses `step = 1`).
    pub step: u64,
}

/// The per-step scalars: `(lr / bc1, sqrt(bc2))`.
pub(crate) fn adam_scalars(hp: &AdamParams) -> (f32, f32) {
    assert!(hp.step >= 1, "adam_step: step is 1-based");
    let t = hp.step.min(i32::MAX as u64) as i32;
    let bc1 = 1.0 - (hp.beta1 as f64).powi(t);
    let bc2 = 1.0 - (hp.beta2 as f64).powi(t);
    ((hp.lr as f64 / bc1) as f32, bc2.sqrt() as f32)
}

/// One Adam/AdamW update of `p` in place, with moments `m`, `v`.
pub fn adam_step(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], hp: &AdamParams) {
    let n = p.len();
    assert!(
        g.len() == n && m.len() == n && v.len() == n,
        "adam_step: lengths differ"
    );
    let isa = isa();
    let hp = *hp;
    let body = |p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]| dispatch!(isa, s => adam_simd(s, p, g, m, v, &hp));
    if worth_parallel(n) {
        p.par_chunks_mut(TASK_ELEMS)
            .zip(g.par_chunks(TASK_ELEMS))
            .zip(
                m.par_chunks_mut(TASK_ELEMS)
                    .zip(v.par_chunks_mut(TASK_ELEMS)),
            )
            .for_each(|((p, g), (m, v))| body(p, g, m, v));
    } else {
        body(p, g, m, v);
    }
}

#[inline(always)]
fn adam_simd<S: Simd>(
    s: S,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    hp: &AdamParams,
) {
    let (step_size, bc2_sqrt) = adam_scalars(hp);
    let l2 = !hp.decoupled && hp.weight_decay != 0.0;
    let decay = s.splat(1.0 - hp.lr * hp.weight_decay);
    let wd = s.splat(hp.weight_decay);
    let (w1, b2, w2) = (
        s.splat(1.0 - hp.beta1),
        s.splat(hp.beta2),
        s.splat(1.0 - hp.beta2),
    );
    let (inv_bc2, eps, neg_step) = (
        s.splat(1.0 / bc2_sqrt),
        s.splat(hp.eps),
        s.splat(-step_size),
    );
    let mut i = 0;
    while i < p.len() {
        let k = S::LANES.min(p.len() - i);
        let mut pv = s.load_n(&p[i..], k, 0.0);
        let mut gv = s.load_n(&g[i..], k, 0.0);
        if l2 {
            gv = s.mul_add(wd, pv, gv);
        }
        if hp.decoupled {
            pv = s.mul(pv, decay);
        }
        let mv = s.load_n(&m[i..], k, 0.0);
        let mv = s.mul_add(w1, s.sub(gv, mv), mv);
        let vv = s.mul_add(w2, s.mul(gv, gv), s.mul(b2, s.load_n(&v[i..], k, 0.0)));
        let denom = s.add(s.mul(s.sqrt(vv), inv_bc2), eps);
        pv = s.mul_add(neg_step, s.div(mv, denom), pv);
        put(s, m, i, k, mv);
        put(s, v, i, k, vv);
        put(s, p, i, k, pv);
        i += k;
    }
}

/// One SGD update of `p` in place. `buf` is the momentum buffer (ignored, and
/// may be `None`, when `momentum == 0`); on `first_step` it is set to the
/// gradient as torch does.
#[allow(clippy::too_many_arguments)]
pub fn sgd_step(
    p: &mut [f32],
    g: &[f32],
    buf: Option<&mut [f32]>,
    lr: f32,
    momentum: f32,
    dampening: f32,
    weight_decay: f32,
    nesterov: bool,
    first_step: bool,
) {
    let n = p.len();
    assert_eq!(g.len(), n, "sgd_step: lengths differ");
    let hp = Sgd {
        lr,
        momentum,
        dampening,
        weight_decay,
        nesterov,
        first_step,
    };
    let isa = isa();
    let buf: &mut [f32] = if momentum != 0.0 {
        let b = buf.expect("sgd_step: momentum needs a buffer");
        assert_eq!(b.len(), n, "sgd_step: buffer length");
        b
    } else {
        &mut []
    };
    let body =
        |p: &mut [f32], g: &[f32], b: &mut [f32]| dispatch!(isa, s => sgd_simd(s, p, g, b, &hp));
    match (worth_parallel(n), momentum != 0.0) {
        (true, true) => p
            .par_chunks_mut(TASK_ELEMS)
            .zip(g.par_chunks(TASK_ELEMS).zip(buf.par_chunks_mut(TASK_ELEMS)))
            .for_each(|(p, (g, b))| body(p, g, b)),
        (true, false) => p
            .par_chunks_mut(TASK_ELEMS)
            .zip(g.par_chunks(TASK_ELEMS))
            .for_each(|(p, g)| body(p, g, &mut [])),
        (false, _) => body(p, g, buf),
    }
}

#[derive(Clone, Copy)]
struct Sgd {
    lr: f32,
    momentum: f32,
    dampening: f32,
    weight_decay: f32,
    nesterov: bool,
    first_step: bool,
}

#[inline(always)]
fn sgd_simd<S: Simd>(s: S, p: &mut [f32], g: &[f32], buf: &mut [f32], hp: &Sgd) {
    let use_momentum = hp.momentum != 0.0;
    let (wd, mom, keep) = (
        s.splat(hp.weight_decay),
        s.splat(hp.momentum),
        s.splat(1.0 - hp.dampening),
    );
    let neg_lr = s.splat(-hp.lr);
    let mut i = 0;
    while i < p.len() {
        let k = S::LANES.min(p.len() - i);
        let pv = s.load_n(&p[i..], k, 0.0);
        let mut d = s.load_n(&g[i..], k, 0.0);
        if hp.weight_decay != 0.0 {
            d = s.mul_add(wd, pv, d);
        }
        if use_momentum {
            let b = if hp.first_step {
                d
            } else {
                s.mul_add(keep, d, s.mul(mom, s.load_n(&buf[i..], k, 0.0)))
            };
            put(s, buf, i, k, b);
            d = if hp.nesterov { s.mul_add(mom, b, d) } else { b };
        }
        put(s, p, i, k, s.mul_add(neg_lr, d, pv));
        i += k;
    }
}

/// `x *= factor`.
pub fn scale(x: &mut [f32], factor: f32) {
    let isa = isa();
    let body = |x: &mut [f32]| dispatch!(isa, s => scale_simd(s, x, factor));
    if worth_parallel(x.len()) {
        x.par_chunks_mut(TASK_ELEMS).for_each(body);
    } else {
        body(x);
    }
}

#[inline(always)]
fn scale_simd<S: Simd>(s: S, x: &mut [f32], factor: f32) {
    let f = s.splat(factor);
    let mut i = 0;
    while i < x.len() {
        let k = S::LANES.min(x.len() - i);
        let v = s.load_n(&x[i..], k, 0.0);
        put(s, x, i, k, s.mul(v, f));
        i += k;
    }
}
