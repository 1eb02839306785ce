//! Layer normalisation (Ba, Kiros & Hinton 2016), `torch.nn.LayerNorm` over
//! the last dimension.
//!
//! ```text
//!   μ  = mean(x)                      over the last axis
//!   σ² = mean((x - μ)²)               biased, as PyTorch
//!   y  = (x - μ) / √(σ² + ε) ⊙ γ + β
//! ```
//!
//! Shapes: x `[..., D]`, γ and β `[D]`, y `[..., D]`.
//!
//! Conventions: ε = 1e-5 by default; γ starts at 1 and β at 0, as PyTorch.
//! The engine's fused `layer_norm` op computes all three lines in one pass.
//! Parameters: `weight` (γ), `bias` (β).

use super::{Module, Params};
use tensor::{Device, Result, Tensor};

/// Normalises each row of the last dimension, then scales and shifts it.
#[derive(Clone)]
pub struct LayerNorm {
    /// γ `[D]`
    pub weight: Tensor,
    /// β `[D]`
    pub bias: Tensor,
    pub eps: f32,
}

impl LayerNorm {
    /// γ = 1, β = 0, ε = 1e-5.
    pub fn new(dim: usize, device: &Device) -> Result<LayerNorm> {
        Ok(LayerNorm {
            weight: Tensor::ones([dim], device)?.requires_grad_(),
            bias: Tensor::zeros([dim], device)?.requires_grad_(),
            eps: 1e-5,
        })
    }

    /// `x` `[..., D]` → `[..., D]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // y = (x - μ) / √(σ² + ε) ⊙ γ + β
        x.layer_norm(Some(&self.weight), Some(&self.bias), self.eps) // [..., D]
    }
}

impl Module for LayerNorm {
    fn visit<'a>(&'a mut self, p: &mut Params<'a, '_>) {
        p.tensor("weight", &mut self.weight);
        p.tensor("bias", &mut self.bias);
    }
}
