//! Finite-difference gradient checking.
//!
//! For a function f of some tensors, autograd's gradient of the scalar
//! L = Σ f(x) ⊙ W (W a fixed random weighting, so every output element
//! matters differently) is compared, element by element, with the central
//! difference (L(x + ε) - L(x - ε)) / 2ε. In f32, ε around 1e-2..1e-3 balances
//! truncation error (∝ ε²) against rounding error (∝ 1/ε); L is accumulated
//! in f64 on the host to keep the rounding part small.

use crate::{no_grad, Device, Result, Rng, Tensor};

/// Tolerances: an element passes when |analytic - numeric| ≤ atol + rtol·|numeric|.
#[derive(Clone, Copy, Debug)]
pub struct Tolerance {
    pub eps: f32,
    pub atol: f32,
    pub rtol: f32,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            eps: 1e-2,
            atol: 2e-3,
            rtol: 2e-2,
        }
    }
}

/// Checks d(Σ f ⊙ W)/d(input) for every input that requires grad. Returns a
/// description of the worst mismatch as the error.
pub fn check<F>(f: F, inputs: &[Tensor], tol: Tolerance) -> std::result::Result<(), String>
where
    F: Fn(&[Tensor]) -> Result<Tensor>,
{
    let err = |e: crate::Error| e.to_string();
    let device = inputs.first().map(|t| t.device()).unwrap_or(Device::Cpu);
    // Fresh leaves, so gradients from earlier checks do not leak in.
    let leaves: Vec<Tensor> = inputs
        .iter()
        .map(|t| {
            if t.requires_grad() {
                t.detach().requires_grad_()
            } else {
                t.clone()
            }
        })
        .collect();
    let out = f(&leaves).map_err(err)?;
    let weights =
        Tensor::rand(out.shape().clone(), -1.0, 1.0, &mut Rng::new(1234), &device).map_err(err)?;
    let w = weights.to_vec();
    out.mul(&weights)
        .map_err(err)?
        .sum_all()
        .map_err(err)?
        .backward()
        .map_err(err)?;

    let loss_at = |xs: &[Tensor]| -> std::result::Result<f64, String> {
        let y = no_grad(|| f(xs)).map_err(err)?.to_vec();
        Ok(y.iter().zip(&w).map(|(&a, &b)| a as f64 * b as f64).sum())
    };
    for (i, leaf) in leaves.iter().enumerate() {
        if !leaf.requires_grad() {
            continue;
        }
        let analytic = match leaf.grad() {
            Some(g) => g.to_vec(),
            None => vec![0.0; leaf.numel()],
        };
        let base = leaf.to_vec();
        let mut worst: Option<(usize, f32, f32, f32)> = None;
        for j in 0..base.len() {
            let probe = |delta: f32| {
                let mut v = base.clone();
                v[j] += delta;
                let mut xs = leaves.clone();
                xs[i] = Tensor::from_vec(v, leaf.shape().clone(), &device).map_err(err)?;
                loss_at(&xs)
            };
            let numeric = ((probe(tol.eps)? - probe(-tol.eps)?) / (2.0 * tol.eps as f64)) as f32;
            let excess = (analytic[j] - numeric).abs() - (tol.atol + tol.rtol * numeric.abs());
            if excess > 0.0 && worst.is_none_or(|(_, _, _, e)| excess > e) {
                worst = Some((j, analytic[j], numeric, excess));
            }
        }
        if let Some((j, a, n, _)) = worst {
            return Err(format!(
                "input {i} (shape {}), element {j}: autograd {a} vs finite difference {n}",
                leaf.shape()
            ));
        }
    }
    Ok(())
}
