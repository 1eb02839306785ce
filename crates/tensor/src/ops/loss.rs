//! Cross-entropy for classification over the last axis, as
//! `torch.nn.functional.cross_entropy(logits, target, ignore_index, label_smoothing)`
//! with mean reduction:
//!
//!   ℓᵣ = (1-ε)·(-log pᵣ[tᵣ]) + ε·mean_j(-log pᵣ[j]),   p = softmax(logits)
//!   L  = Σᵣ ℓᵣ / |{r : tᵣ ≠ ignore}|
//!
//! Rows whose target is the ignore index (padding) add nothing and are not
//! counted. The fused kernel keeps log Σ exp per row for the backward:
//! dL/dlogitsᵣⱼ = (pᵣⱼ - (1-ε)[j = tᵣ] - ε/C) / count.

use crate::autograd::BackwardOp;
use crate::backend;
use crate::{Error, Result, Tensor};
use std::sync::Arc;

struct CrossEntropy {
    lse: Tensor,
    ignore_index: i64,
    smoothing: f32,
}

impl BackwardOp for CrossEntropy {
    fn name(&self) -> &'static str {
        "cross_entropy"
    }
    fn backward(&self, inputs: &[Tensor], _: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let (logits, targets) = (&inputs[0], &inputs[1]);
        let (rows, cols) = (logits.dims()[0], logits.dims()[1]);
        // g is dL/dℓᵣ for every row: the upstream scalar spread over the per-row losses.
        let per_row = g.broadcast_to([rows])?;
        let gx = backend::cross_entropy_backward(
            (logits.storage(), targets.storage()),
            self.lse.storage(),
            per_row.storage(),
            (rows, cols),
            self.ignore_index,
            self.smoothing,
        )?;
        Ok(vec![
            Some(Tensor::from_storage(Arc::new(gx), logits.shape().clone())),
            None,
        ])
    }
}

impl Tensor {
    /// Mean cross-entropy of `logits` `[N, C]` against class indices `targets` `[N]`
    /// (f32 holding integers), skipping rows whose target is `ignore_index`.
    /// Returns 0 when every row is ignored (PyTorch returns NaN there; a batch
    /// of padding should not poison training).
    pub fn cross_entropy(
        &self,
        targets: &Tensor,
        ignore_index: i64,
        smoothing: f32,
    ) -> Result<Tensor> {
        backend::check_same_device("cross_entropy", self, targets)?;
        if self.rank() != 2 || targets.rank() != 1 || targets.dims()[0] != self.dims()[0] {
            return Err(Error::shapes_because(
                "cross_entropy",
                self.shape(),
                targets.shape(),
                "expected logits [N, C] and targets [N]",
            ));
        }
        if !(0.0..=1.0).contains(&smoothing) {
            return Err(Error::invalid(
                "cross_entropy",
                format!("label smoothing {smoothing} is outside [0, 1]"),
            ));
        }
        let (rows, cols) = (self.dims()[0], self.dims()[1]);
        crate::ops::index::check_indices("cross_entropy", targets, cols, Some(ignore_index))?;
        let (loss_rows, lse, count) = backend::cross_entropy(
            self.storage(),
            targets.storage(),
            (rows, cols),
            ignore_index,
            smoothing,
        )?;
        let op = CrossEntropy {
            lse: Tensor::from_storage(Arc::new(lse), [rows].into()),
            ignore_index,
            smoothing,
        };
        let losses = Tensor::from_op(loss_rows, [rows], op, vec![self.clone(), targets.clone()]);
        // The count stays on the device: dividing by it needs no read-back.
        let count = Tensor::from_storage(Arc::new(count), crate::Shape::scalar());
        losses.sum_all()?.div(&count.clamp(1.0, f32::MAX)?)
    }

    /// The same loss composed from log_softmax, a one-hot mask and a mean, for tests.
    pub fn cross_entropy_reference(
        &self,
        targets: &Tensor,
        ignore_index: i64,
        smoothing: f32,
    ) -> Result<Tensor> {
        let (rows, cols) = (self.dims()[0], self.dims()[1]);
        let logp = self.log_softmax(-1)?;
        let t = targets.to_vec();
        let mut onehot = vec![0.0; rows * cols];
        let mut keep = vec![0.0; rows];
        for (r, &c) in t.iter().enumerate() {
            if c as i64 != ignore_index {
                onehot[r * cols + c as usize] = 1.0;
                keep[r] = 1.0;
            }
        }
        let device = self.device();
        let onehot = Tensor::from_vec(onehot, [rows, cols], &device)?;
        let keep = Tensor::from_vec(keep, [rows, 1], &device)?;
        let target_term = logp.mul(&onehot)?.sum(&[-1], true)?.neg()?;
        let uniform_term = logp.mean(&[-1], true)?.neg()?;
        let per_row = target_term
            .mul_scalar(1.0 - smoothing)?
            .add(&uniform_term.mul_scalar(smoothing)?)?
            .mul(&keep)?;
        let count = keep.to_vec().iter().sum::<f32>().max(1.0);
        per_row.sum_all()?.mul_scalar(1.0 / count)
    }
}
