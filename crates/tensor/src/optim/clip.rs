//! Global-norm gradient clipping (Pascanu et al. 2013), as
//! `torch.nn.utils.clip_grad_norm_`: if ‖g‖₂ over *all* parameters exceeds
//! `max_norm`, every gradient is scaled by max_norm / (‖g‖₂ + 1e-6).

use crate::{backend, Error, Result, Tensor};

/// Clips in place and returns the norm before clipping. A non-finite norm is
/// an error (it means the loss diverged), naming the first offending parameter.
pub fn clip_grad_norm(params: &[Tensor], max_norm: f32) -> Result<f32> {
    let mut total = 0.0f64;
    for (i, p) in params.iter().enumerate() {
        if let Some(g) = p.grad() {
            let s = backend::sum_squares(g.storage())? as f64;
            if !s.is_finite() {
                return Err(Error::invalid(
                    "clip_grad_norm",
                    format!(
                        "gradient of parameter {i} (shape {}) is not finite",
                        p.shape()
                    ),
                ));
            }
            total += s;
        }
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
