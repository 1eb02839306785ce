//! Linear (fully connected) layer, `torch.nn.Linear`.
//!
//! ```text
//!   y = x Wᵀ + b
//! ```
//!
//! Shapes: x `[..., I]` (any leading dimensions), W `[O, I]`, b `[O]`,
//! y `[..., O]`. I input features, O output features.
//!
//! Conventions: W is stored `[out, in]` as in PyTorch and used transposed by
//! the GEMM's flag (no copy of Wᵀ); all leading dimensions fold into the rows
//! of one matrix product. Initialisation: PyTorch's U(±1/√I) for W and b.
//! Parameters: `weight`, `bias`.

use super::{Module, Params};
use tensor::{init, Device, QuantizedWeight, Result, Rng, Tensor};

/// `y = x Wᵀ + b`.
#[derive(Clone)]
pub struct Linear {
    /// `[out_features, in_features]`
    pub weight: Tensor,
    /// `[out_features]`, when the layer has a bias.
    pub bias: Option<Tensor>,
    /// The int8 copy of `weight` that `forward` uses, once quantized.
    pub quantized: Option<QuantizedWeight>,
}

impl Linear {
    /// A layer initialised as PyTorch does: W, b ~ U(±1/√in).
    pub fn new(
        in_features: usize,
        out_features: usize,
        bias: bool,
        rng: &mut Rng,
        device: &Device,
    ) -> Result<Linear> {
        let weight = init::linear_uniform([out_features, in_features], in_features, rng, device)?;
        let bias = match bias {
            true => Some(init::linear_uniform(
                [out_features],
                in_features,
                rng,
                device,
            )?),
            false => None,
        };
        Ok(Linear::from_tensors(weight, bias))
    }

    /// Wraps existing tensors (`weight` `[O, I]`, `bias` `[O]`).
    pub fn from_tensors(weight: Tensor, bias: Option<Tensor>) -> Linear {
        Linear {
            weight,
            bias,
            quantized: None,
        }
    }

    /// From now on, `forward` multiplies by an int8 copy of the weight
    /// (inference only, on the host: `forward` then errors on tensors that
    /// need gradients).
    pub fn quantize_int8(&mut self) -> Result<()> {
        self.quantized = Some(QuantizedWeight::quantize(&self.weight)?);
        Ok(())
    }

    pub fn in_features(&self) -> usize {
        self.weight.dims()[1]
    }

    pub fn out_features(&self) -> usize {
        self.weight.dims()[0]
    }

    /// `x` `[..., I]` → `[..., O]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match &self.quantized {
            Some(q) => x.linear_int8(q, self.bias.as_ref()),
            None => linear(x, &self.weight, self.bias.as_ref()),
        }
    }
}

/// `x Wᵀ + b` for any `W` `[O, I]` — also used by the recurrent cells and
/// attention, whose weights are not wrapped in a `Linear`.
pub fn linear(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    // y = x Wᵀ + b: one GEMM that adds b as it writes y (on the host)
    match bias {
        Some(b) => x.linear(weight, b),          // [..., O]
        None => x.matmul_t(weight, false, true), // [..., O]
    }
}

impl Module for Linear {
    fn visit<'a>(&'a mut self, p: &mut Params<'a, '_>) {
        p.tensor("weight", &mut self.weight);
        p.optional("bias", &mut self.bias);
    }
}
