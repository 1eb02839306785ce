//! Global-norm gradient clipping (Pascanu et al. 2013), as
//! `torch.nn.utils.clip_grad_norm_`: if ‖g‖₂ over *all* parameters exceeds
//! `max_norm`, every gradient is scaled by max_norm / (‖g‖₂ + 1e-6).

use crate::{backend, Error, Result, Tensor};

/// [`clip_grad_norm`] with the norm as a one-element tensor on the
/// parameters' device: what [`super::Optimizer::clip_grad_norm`] returns
/// when it clips on the host.
pub(crate) fn clip_grad_norm_tensor(params: &[Tensor], max_norm: f32) -> Result<Tensor> {
    let norm = clip_grad_norm(params, max_norm)?;
    let device = params.first().map(Tensor::device).unwrap_or_default();
    Tensor::from_vec(vec![norm], [1], &device)
}

/// Clips in place and returns the norm before clipping. A non-finite norm is
/// an error (it means the loss diverged), naming the first offending parameter.
pub fn clip_grad_norm(params: &[Tensor], max_norm: f32) -> Result<f32> {
    let with_grad: Vec<(usize, &Tensor, Tensor)> = params
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.grad().map(|g| (i, p, g)))
        .collect();
    // One read of all the sums per device (the GPU waits once per step,
    // not once per parameter).
    let mut sums = vec![0.0f32; with_grad.len()];
    for device in [crate::Device::Cpu, crate::Device::Gpu] {
        let (slots, storages): (Vec<usize>, Vec<&crate::storage::Storage>) = with_grad
            .iter()
            .enumerate()
            .filter(|(_, (_, _, g))| g.device() == device)
            .map(|(slot, (_, _, g))| (slot, g.storage()))
            .unzip();
        for (slot, s) in slots.into_iter().zip(backend::sum_squares_each(&storages)?) {
            sums[slot] = s;
        }
    }
    let mut total = 0.0f64;
    for ((i, p, _), s) in with_grad.iter().zip(&sums) {
        if !s.is_finite() {
            return Err(Error::invalid(
                "clip_grad_norm",
                format!(
                    "gradient of parameter {i} (shape {}) is not finite",
                    p.shape()
                ),
            ));
        }
        total += *s as f64;
    }
    let norm = total.sqrt() as f32;
    let coef = max_norm / (norm + 1e-6);
    if coef < 1.0 {
        for p in params {
            // Gradients may be shared between leaves (a + b hands both the same
            // tensor), so scale into a new tensor rather than in place.
            if let Some(g) = p.grad() {
                p.set_grad(Some(crate::autograd::no_grad(|| g.mul_scalar(coef))?));
            }
        }
    }
    Ok(norm)
}
