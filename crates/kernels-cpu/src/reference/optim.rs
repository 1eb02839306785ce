//! Reference optimizer steps, transcribed from the `torch.optim` docs
//! (see the crate's `optim` module for the formulas).

use crate::AdamParams;

pub fn adam_step(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], hp: &AdamParams) {
    let t = hp.step as i32;
    let bias1 = 1.0 - (hp.beta1 as f64).powi(t);
    let bias2 = 1.0 - (hp.beta2 as f64).powi(t);
    let step_size = hp.lr as f64 / bias1;
    for i in 0..p.len() {
        let mut grad = g[i];
        if hp.decoupled {
            p[i] *= 1.0 - hp.lr * hp.weight_decay;
        } else {
            grad += hp.weight_decay * p[i];
        }
        m[i] += (1.0 - hp.beta1) * (grad - m[i]);
        v[i] = hp.beta2 * v[i] + (1.0 - hp.beta2) * grad * grad;
        let denom = (v[i] as f64).sqrt() / bias2.sqrt() + hp.eps as f64;
        p[i] = (p[i] as f64 - step_size * m[i] as f64 / denom) as f32;
    }
}

#[allow(clippy::too_many_arguments)]
pub fn sgd_step(
    p: &mut [f32],
    g: &[f32],
    mut buf: Option<&mut [f32]>,
    lr: f32,
    momentum: f32,
    dampening: f32,
    weight_decay: f32,
    nesterov: bool,
    first_step: bool,
) {
    for i in 0..p.len() {
        let mut d = g[i] + weight_decay * p[i];
        if momentum != 0.0 {
            let b = buf.as_deref_mut().expect("momentum needs a buffer");
            b[i] = if first_step {
                d
            } else {
                momentum * b[i] + (1.0 - dampening) * d
            };
            d = if nesterov { d + momentum * b[i] } else { b[i] };
        }
        p[i] -= lr * d;
    }
}

pub fn scale(x: &mut [f32], s: f32) {
    for v in x.iter_mut() {
        *v *= s;
    }
}
