//! softmax(x)ᵢ = exp(xᵢ - max x) / Σⱼ exp(xⱼ - max x), and its logarithm,
//! along one axis. Subtracting the max keeps exp from overflowing and does not
//! change the result. The fused kernels work on the last axis; another axis is
//! moved last and back.

use crate::autograd::BackwardOp;
use crate::backend;
use crate::{Result, Tensor};

struct Softmax {
    log: bool,
}

impl BackwardOp for Softmax {
    fn name(&self) -> &'static str {
        if self.log {
            "log_softmax"
        } else {
            "softmax"
        }
    }
    /// softmax: gx = y ⊙ (g - Σ g⊙y);  log_softmax: gx = g - exp(y) Σ g.
    fn backward(&self, _: &[Tensor], y: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let cols = y.dims()[y.rank() - 1];
        let rows = y.numel() / cols.max(1);
        let storage = backend::softmax_backward(y.storage(), g.storage(), rows, cols, self.log)?;
        Ok(vec![Some(Tensor::from_storage(
            std::sync::Arc::new(storage),
            y.shape().clone(),
        ))])
    }
}

impl Tensor {
    /// Softmax along `axis`.
    pub fn softmax(&self, axis: isize) -> Result<Tensor> {
        self.softmax_impl(axis, false)
    }

    /// log(softmax(x)) along `axis`, computed stably as x - max - log Σ exp(x - max).
    pub fn log_softmax(&self, axis: isize) -> Result<Tensor> {
        self.softmax_impl(axis, true)
    }

    fn softmax_impl(&self, axis: isize, log: bool) -> Result<Tensor> {
        let a = self
            .shape()
            .axis(if log { "log_softmax" } else { "softmax" }, axis)?;
        let last = self.rank() - 1;
        if a != last {
            return self
                .transpose(a as isize, last as isize)?
                .softmax_impl(-1, log)?
                .transpose(a as isize, last as isize);
        }
        let cols = self.dims()[last];
        let rows = self.numel() / cols.max(1);
        let storage = backend::softmax(self.storage(), rows, cols, log)?;
        Ok(Tensor::from_op(
            storage,
            self.shape().clone(),
            Softmax { log },
            vec![self.clone()],
        ))
    }
}
