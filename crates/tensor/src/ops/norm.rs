//! Layer normalisation (Ba, Kiros & Hinton 2016) over the last axis:
//!
//!   μ = mean(x),  σ² = mean((x - μ)²)  (biased, as PyTorch),
//!   y = (x - μ) / √(σ² + ε) · γ + β.
//!
//! One fused kernel computes each row's μ and 1/√(σ²+ε) and keeps them for the
//! backward kernel; `layer_norm_reference` spells the same thing in basic ops
//! and a test proves the two agree.

use crate::autograd::BackwardOp;
use crate::backend;
use crate::storage::Storage;
use crate::{Error, Result, Shape, Tensor};
use std::sync::Arc;

struct LayerNorm {
    mean: Tensor,
    rstd: Tensor,
    has_gamma: bool,
    has_beta: bool,
}

impl BackwardOp for LayerNorm {
    fn name(&self) -> &'static str {
        "layer_norm"
    }
    fn backward(&self, inputs: &[Tensor], _: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let x = &inputs[0];
        let gamma = self.has_gamma.then(|| &inputs[1]);
        let cols = x.dims()[x.rank() - 1];
        let rows = x.numel() / cols.max(1);
        let (gx, gg, gb) = backend::layer_norm_backward(
            x.storage(),
            gamma.map(|t| t.storage()),
            (self.mean.storage(), self.rstd.storage()),
            g.storage(),
            rows,
            cols,
            self.has_beta,
        )?;
        let wrap = |s: Storage, shape: &Shape| Tensor::from_storage(Arc::new(s), shape.clone());
        let mut grads = vec![Some(wrap(gx, x.shape()))];
        if let (Some(gg), Some(gamma)) = (gg, gamma) {
            grads.push(Some(wrap(gg, gamma.shape())));
        }
        if let Some(gb) = gb {
            grads.push(Some(wrap(gb, inputs.last().expect("beta").shape())));
        }
        Ok(grads)
    }
}

impl Tensor {
    /// Layer norm over the last axis with optional affine `gamma` (weight) and `beta` (bias), each `[cols]`.
    pub fn layer_norm(
        &self,
        gamma: Option<&Tensor>,
        beta: Option<&Tensor>,
        eps: f32,
    ) -> Result<Tensor> {
        if self.rank() == 0 {
            return Err(Error::bad_shape(
                "layer_norm",
                self.shape(),
                "needs at least one axis",
            ));
        }
        let cols = self.dims()[self.rank() - 1];
        let rows = self.numel() / cols.max(1);
        for p in [gamma, beta].into_iter().flatten() {
            backend::check_same_device("layer_norm", self, p)?;
            if p.dims() != [cols] {
                return Err(Error::shapes_because(
                    "layer_norm",
                    self.shape(),
                    p.shape(),
                    "weight and bias must be [last dimension]",
                ));
            }
        }
        if gamma.is_none() && beta.is_some() {
            return Err(Error::invalid(
                "layer_norm",
                "a bias without a weight is not supported",
            ));
        }
        let (y, mean, rstd) = backend::layer_norm(
            self.storage(),
            (gamma.map(|t| t.storage()), beta.map(|t| t.storage())),
            rows,
            cols,
            eps,
        )?;
        let keep = |s| Tensor::from_storage(Arc::new(s), [rows].into());
        let op = LayerNorm {
            mean: keep(mean),
            rstd: keep(rstd),
            has_gamma: gamma.is_some(),
            has_beta: beta.is_some(),
        };
        let mut inputs = vec![self.clone()];
        inputs.extend(gamma.cloned());
        inputs.extend(beta.cloned());
        Ok(Tensor::from_op(y, self.shape().clone(), op, inputs))
    }

    /// The same layer norm composed from basic ops: slower, obviously right.
    pub fn layer_norm_reference(
        &self,
        gamma: Option<&Tensor>,
        beta: Option<&Tensor>,
        eps: f32,
    ) -> Result<Tensor> {
        let mu = self.mean(&[-1], true)?;
        let centred = self.sub(&mu)?;
        let var = centred.square()?.mean(&[-1], true)?;
        let mut y = centred.div(&var.add_scalar(eps)?.sqrt()?)?;
        if let Some(g) = gamma {
            y = y.mul(g)?;
        }
        if let Some(b) = beta {
            y = y.add(b)?;
        }
        Ok(y)
    }
}
