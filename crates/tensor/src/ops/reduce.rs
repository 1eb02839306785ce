//! Reductions along axes: sum, mean, max, min (with `keepdim`), argmax, and
//! `sum_to_shape`, which autograd uses to undo broadcasting.
//!
//! Every reduction views the tensor as `[outer, len, inner]` around one axis.
//! Several axes are reduced one run of adjacent axes at a time: a run is one
//! axis of a reshape, so a bias gradient summed over `[B, T]` is one pass
//! (one kernel on the GPU), not two.

use crate::autograd::BackwardOp;
use crate::backend::{self, BinaryOp, ReduceOp};
use crate::storage::Storage;
use crate::{Error, Result, Shape, Tensor};

struct Reduce {
    op: ReduceOp,
    axis: usize,
    len: usize,
}

impl BackwardOp for Reduce {
    fn name(&self) -> &'static str {
        "reduce"
    }
    /// `g` and `y` keep the reduced axis with size 1, so they broadcast back.
    fn backward(&self, inputs: &[Tensor], y: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let x = &inputs[0];
        let gx = match self.op {
            // d Σx = 1 everywhere
            ReduceOp::Sum => g.broadcast_to(x.shape().clone())?,
            // d mean = 1/len everywhere
            ReduceOp::Mean => g
                .mul_scalar(1.0 / self.len as f32)?
                .broadcast_to(x.shape().clone())?,
            // the gradient is shared by the elements that reach the extreme
            ReduceOp::Max | ReduceOp::Min => {
                let hit = x.compare(BinaryOp::Eq, y)?;
                let ties = hit.reduce_axis(ReduceOp::Sum, self.axis)?;
                hit.mul(&g.div(&ties)?)?
            }
        };
        Ok(vec![Some(gx)])
    }
}

impl Tensor {
    /// Reduces the adjacent axes `first..=last` as one, keeping them with size 1.
    fn reduce_run(&self, op: ReduceOp, first: usize, last: usize) -> Result<Tensor> {
        if first == last {
            return self.reduce_axis(op, first);
        }
        let dims = self.dims();
        let run: usize = dims[first..=last].iter().product();
        let merged: Vec<usize> = [&dims[..first], &[run], &dims[last + 1..]].concat();
        let mut kept = dims.to_vec();
        kept[first..=last].fill(1);
        self.reshape(merged)?.reduce_axis(op, first)?.reshape(kept)
    }

    /// Reduces one axis, keeping it with size 1.
    fn reduce_axis(&self, op: ReduceOp, axis: usize) -> Result<Tensor> {
        let (outer, len, inner) = self.shape().split_at_axis(axis);
        if len == 0 && matches!(op, ReduceOp::Max | ReduceOp::Min | ReduceOp::Mean) {
            return Err(Error::bad_shape(
                "reduce",
                self.shape(),
                format!("cannot take {op:?} over the empty axis {axis}"),
            ));
        }
        let storage = backend::reduce(op, self.storage(), outer, len, inner)?;
        let mut dims = self.dims().to_vec();
        dims[axis] = 1;
        Ok(Tensor::from_op(
            storage,
            dims,
            Reduce { op, axis, len },
            vec![self.clone()],
        ))
    }

    fn reduce_axes(
        &self,
        op: ReduceOp,
        name: &'static str,
        axes: &[isize],
        keepdim: bool,
    ) -> Result<Tensor> {
        let mut axes: Vec<usize> = axes
            .iter()
            .map(|&a| self.shape().axis(name, a))
            .collect::<Result<_>>()?;
        axes.sort_unstable();
        axes.dedup();
        let mut out = self.clone();
        for run in axes.chunk_by(|a, b| b == &(a + 1)) {
            out = out.reduce_run(op, run[0], run[run.len() - 1])?;
        }
        if keepdim {
            return Ok(out);
        }
        let dims: Vec<usize> = (0..self.rank())
            .filter(|i| !axes.contains(i))
            .map(|i| self.dims()[i])
            .collect();
        out.reshape(dims)
    }

    /// Σ over `axes`.
    pub fn sum(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        self.reduce_axes(ReduceOp::Sum, "sum", axes, keepdim)
    }
    /// Mean over `axes`.
    pub fn mean(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        self.reduce_axes(ReduceOp::Mean, "mean", axes, keepdim)
    }
    /// Maximum over `axes` (the gradient is split among ties).
    pub fn max(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        self.reduce_axes(ReduceOp::Max, "max", axes, keepdim)
    }
    /// Minimum over `axes`.
    pub fn min(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        self.reduce_axes(ReduceOp::Min, "min", axes, keepdim)
    }
    /// Σ of every element, as a scalar.
    pub fn sum_all(&self) -> Result<Tensor> {
        self.flatten()?.sum(&[0], false)
    }
    /// Mean of every element, as a scalar.
    pub fn mean_all(&self) -> Result<Tensor> {
        self.flatten()?.mean(&[0], false)
    }

    /// The `k` largest entries along the last axis, best first, the lower
    /// index first on ties; a non-finite entry ranks below every finite one
    /// and reads as [`crate::TOPK_NONE`]. Returns `(values, indices)`,
    /// the last axis replaced by `k`, indices as f32. Beam search's
    /// candidates: nothing flows back through it.
    pub fn topk(&self, k: usize) -> Result<(Tensor, Tensor)> {
        self.best_k("topk", k, |x, _, cols| backend::topk_rows(x, cols, k))
    }

    /// [`topk`](Tensor::topk) of `log_softmax(-1)`, the same numbers,
    /// without the whole distribution being written: beam search's
    /// candidates straight from the logits `[.., V]`.
    pub fn log_softmax_topk(&self, k: usize) -> Result<(Tensor, Tensor)> {
        self.best_k("log_softmax_topk", k, |x, rows, cols| {
            backend::log_softmax_topk(x, rows, cols, k)
        })
    }

    /// Checks k against the last axis, runs `pick(storage, rows, cols)` and
    /// shapes its `(values, indices)` as `self` with the last axis k.
    fn best_k(
        &self,
        op: &'static str,
        k: usize,
        pick: impl FnOnce(&Storage, usize, usize) -> Result<(Storage, Storage)>,
    ) -> Result<(Tensor, Tensor)> {
        let cols = self.dims().last().copied().unwrap_or(0);
        if self.rank() == 0 || k == 0 || k > cols || cols >= 1 << 24 {
            return Err(Error::bad_shape(
                op,
                self.shape(),
                format!("k = {k}: expected 1 ≤ k ≤ the last dimension (below 2^24)"),
            ));
        }
        let (values, indices) = pick(self.storage(), self.shape().numel() / cols, cols)?;
        let mut dims = self.dims().to_vec();
        *dims.last_mut().expect("rank ≥ 1") = k;
        let wrap = |s| Tensor::from_storage(std::sync::Arc::new(s), dims.clone().into());
        Ok((wrap(values), wrap(indices)))
    }

    /// Index of the largest element along `axis` (first one on ties), as f32.
    pub fn argmax(&self, axis: isize, keepdim: bool) -> Result<Tensor> {
        let a = self.shape().axis("argmax", axis)?;
        let (outer, len, inner) = self.shape().split_at_axis(a);
        if len == 0 {
            return Err(Error::bad_shape("argmax", self.shape(), "empty axis"));
        }
        let storage = backend::argmax(self.storage(), outer, len, inner)?;
        let mut dims = self.dims().to_vec();
        if keepdim {
            dims[a] = 1;
        } else {
            dims.remove(a);
        }
        Ok(Tensor::from_storage(
            std::sync::Arc::new(storage),
            dims.into(),
        ))
    }

    /// Sums a gradient of a broadcast shape back down to `target`, the shape
    /// it was broadcast from. Autograd calls this for every input gradient.
    pub fn sum_to_shape(&self, target: &Shape) -> Result<Tensor> {
        if self.shape() == target {
            return Ok(self.clone());
        }
        if Shape::broadcast("sum_to_shape", target, self.shape())? != *self.shape() {
            return Err(Error::shapes_because(
                "sum_to_shape",
                self.shape(),
                target,
                "the target does not broadcast to this shape",
            ));
        }
        let extra = self.rank() - target.rank();
        let mut axes: Vec<isize> = (0..extra as isize).collect();
        for (i, &d) in target.dims().iter().enumerate() {
            if d == 1 && self.dims()[extra + i] != 1 {
                axes.push((extra + i) as isize);
            }
        }
        self.sum(&axes, true)?.reshape(target.clone())
    }
}
