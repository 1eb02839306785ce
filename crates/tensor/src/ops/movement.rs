//! Ops that move numbers without changing them: reshape (free: shares the
//! buffer), and the copying ones — permute/transpose, narrow, broadcast_to,
//! cat/stack, split/chunk. Every copy is one `strided_copy` of a strided view.

use crate::autograd::BackwardOp;
use crate::backend;
use crate::grad_schedule::GradForm;
use crate::{Error, Result, Shape, Tensor};

// ------------------------------------------------------------------ reshape

struct Reshape;

impl BackwardOp for Reshape {
    fn name(&self) -> &'static str {
        "reshape"
    }
    fn backward(&self, inputs: &[Tensor], _: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(g.reshape(inputs[0].shape().clone())?)])
    }
}

// ------------------------------------------------------------------ permute

struct Permute(Vec<usize>);

impl BackwardOp for Permute {
    fn name(&self) -> &'static str {
        "permute"
    }
    fn backward(&self, _: &[Tensor], _: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let mut inverse = vec![0; self.0.len()];
        for (i, &p) in self.0.iter().enumerate() {
            inverse[p] = i;
        }
        Ok(vec![Some(g.permute(&inverse)?)])
    }
}

// ------------------------------------------------------------------- narrow

struct Narrow {
    axis: usize,
    start: usize,
}

impl BackwardOp for Narrow {
    fn name(&self) -> &'static str {
        "narrow"
    }
    /// On the host the slice's gradient is added into its block of the
    /// input's running sum: no padded tensor, no full-size add.
    fn grad_form(&self, _: usize, _: &[Tensor], _: &Tensor) -> Result<GradForm> {
        Ok(GradForm::Block {
            axis: self.axis,
            start: self.start,
        })
    }
    /// The gradient of a slice is the slice's gradient padded with zeros.
    fn backward(&self, inputs: &[Tensor], _: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let full = inputs[0].dims()[self.axis];
        let len = g.dims()[self.axis];
        let pad = |n: usize| {
            let mut dims = g.dims().to_vec();
            dims[self.axis] = n;
            Tensor::zeros(dims, &g.device())
        };
        let mut parts = Vec::new();
        if self.start > 0 {
            parts.push(pad(self.start)?);
        }
        parts.push(g.clone());
        if self.start + len < full {
            parts.push(pad(full - self.start - len)?);
        }
        Ok(vec![Some(Tensor::cat(&parts, self.axis as isize)?)])
    }
}

// -------------------------------------------------------------- broadcast_to

struct BroadcastTo;

impl BackwardOp for BroadcastTo {
    fn name(&self) -> &'static str {
        "broadcast_to"
    }
    /// Autograd's `sum_to_shape` undoes the broadcast.
    fn backward(&self, _: &[Tensor], _: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(g.clone())])
    }
}

// ---------------------------------------------------------------------- cat

struct Cat {
    axis: usize,
}

impl BackwardOp for Cat {
    fn name(&self) -> &'static str {
        "cat"
    }
    fn backward(&self, inputs: &[Tensor], _: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let mut start = 0;
        let mut grads = Vec::with_capacity(inputs.len());
        for t in inputs {
            let len = t.dims()[self.axis];
            grads.push(Some(g.narrow(self.axis as isize, start, len)?));
            start += len;
        }
        Ok(grads)
    }
}

impl Tensor {
    /// The same values under another shape with the same element count. Free.
    pub fn reshape(&self, shape: impl Into<Shape>) -> Result<Tensor> {
        let shape = shape.into();
        if shape.numel() != self.numel() {
            return Err(Error::shapes_because(
                "reshape",
                self.shape(),
                &shape,
                format!("{} elements cannot become {}", self.numel(), shape.numel()),
            ));
        }
        Ok(Tensor::from_op_shared(
            self.0.storage.clone(),
            shape,
            Reshape,
            vec![self.clone()],
        ))
    }

    /// Merges all dimensions into one.
    pub fn flatten(&self) -> Result<Tensor> {
        self.reshape([self.numel()])
    }

    /// Inserts a dimension of size 1 at `axis` (which may equal the rank).
    pub fn unsqueeze(&self, axis: isize) -> Result<Tensor> {
        let rank = self.rank() as isize;
        let a = if axis < 0 { axis + rank + 1 } else { axis };
        if a < 0 || a > rank {
            return Err(Error::AxisOutOfRange {
                op: "unsqueeze",
                axis,
                shape: self.shape().clone(),
            });
        }
        let mut dims = self.dims().to_vec();
        dims.insert(a as usize, 1);
        self.reshape(dims)
    }

    /// Removes a dimension of size 1.
    pub fn squeeze(&self, axis: isize) -> Result<Tensor> {
        let a = self.shape().axis("squeeze", axis)?;
        if self.dims()[a] != 1 {
            return Err(Error::bad_shape(
                "squeeze",
                self.shape(),
                format!("dimension {a} has size {}, not 1", self.dims()[a]),
            ));
        }
        let mut dims = self.dims().to_vec();
        dims.remove(a);
        self.reshape(dims)
    }

    /// Reorders the dimensions: output dimension i is input dimension `perm[i]`.
    pub fn permute(&self, perm: &[usize]) -> Result<Tensor> {
        let rank = self.rank();
        let mut seen = vec![false; rank];
        let valid = perm.len() == rank
            && perm
                .iter()
                .all(|&p| p < rank && !std::mem::replace(&mut seen[p], true));
        if !valid {
            return Err(Error::bad_shape(
                "permute",
                self.shape(),
                format!("{perm:?} is not a permutation of 0..{rank}"),
            ));
        }
        let strides = self.shape().strides();
        let dims: Vec<usize> = perm.iter().map(|&p| self.dims()[p]).collect();
        // Moving only dimensions of size 1 leaves every element where it
        // is (a decoding step's heads: [B, 1, h, d] ↔ [B, h, 1, d]): the
        // result shares the buffer, as a reshape does.
        let kept: Vec<usize> = perm
            .iter()
            .copied()
            .filter(|&p| self.dims()[p] != 1)
            .collect();
        if kept.windows(2).all(|w| w[0] < w[1]) {
            return Ok(Tensor::from_op_shared(
                self.0.storage.clone(),
                dims,
                Permute(perm.to_vec()),
                vec![self.clone()],
            ));
        }
        let view_strides: Vec<usize> = perm.iter().map(|&p| strides[p]).collect();
        let storage = backend::strided_copy(self.storage(), 0, &dims, &view_strides)?;
        Ok(Tensor::from_op(
            storage,
            dims,
            Permute(perm.to_vec()),
            vec![self.clone()],
        ))
    }

    /// Swaps two dimensions.
    pub fn transpose(&self, a: isize, b: isize) -> Result<Tensor> {
        let (a, b) = (
            self.shape().axis("transpose", a)?,
            self.shape().axis("transpose", b)?,
        );
        let mut perm: Vec<usize> = (0..self.rank()).collect();
        perm.swap(a, b);
        self.permute(&perm)
    }

    /// Elements `start .. start + len` along `axis`.
    pub fn narrow(&self, axis: isize, start: usize, len: usize) -> Result<Tensor> {
        let a = self.shape().axis("narrow", axis)?;
        let size = self.dims()[a];
        if start + len > size {
            return Err(Error::bad_shape(
                "narrow",
                self.shape(),
                format!(
                    "range {start}..{} exceeds dimension {a} of size {size}",
                    start + len
                ),
            ));
        }
        let strides = self.shape().strides();
        let mut dims = self.dims().to_vec();
        dims[a] = len;
        let storage = backend::strided_copy(self.storage(), start * strides[a], &dims, &strides)?;
        Ok(Tensor::from_op(
            storage,
            dims,
            Narrow { axis: a, start },
            vec![self.clone()],
        ))
    }

    /// The values repeated along broadcast dimensions to fill `shape`.
    pub fn broadcast_to(&self, shape: impl Into<Shape>) -> Result<Tensor> {
        let shape = shape.into();
        let out = Shape::broadcast("broadcast_to", self.shape(), &shape)?;
        if out != shape {
            return Err(Error::shapes_because(
                "broadcast_to",
                self.shape(),
                &shape,
                "the tensor does not broadcast to the target",
            ));
        }
        if shape == *self.shape() {
            return Ok(self.clone());
        }
        let strides = self.shape().broadcast_strides(&shape);
        let storage = backend::strided_copy(self.storage(), 0, shape.dims(), &strides)?;
        Ok(Tensor::from_op(
            storage,
            shape,
            BroadcastTo,
            vec![self.clone()],
        ))
    }

    /// Joins tensors along an existing axis; all other dimensions must agree.
    pub fn cat(tensors: &[Tensor], axis: isize) -> Result<Tensor> {
        let first = tensors
            .first()
            .ok_or_else(|| Error::invalid("cat", "needs at least one tensor"))?;
        let a = first.shape().axis("cat", axis)?;
        let mut dims = first.dims().to_vec();
        dims[a] = 0;
        for t in tensors {
            backend::check_same_device("cat", first, t)?;
            let same_rank = t.rank() == first.rank();
            let others_agree =
                same_rank && (0..t.rank()).all(|i| i == a || t.dims()[i] == first.dims()[i]);
            if !others_agree {
                return Err(Error::shapes_because(
                    "cat",
                    first.shape(),
                    t.shape(),
                    format!("all dimensions but {a} must agree"),
                ));
            }
            dims[a] += t.dims()[a];
        }
        let (outer, _, inner) = first.shape().split_at_axis(a);
        let parts: Vec<_> = tensors.iter().map(|t| (t.storage(), t.dims()[a])).collect();
        let storage = backend::cat(&parts, outer, inner)?;
        Ok(Tensor::from_op(
            storage,
            dims,
            Cat { axis: a },
            tensors.to_vec(),
        ))
    }

    /// Joins same-shaped tensors along a new axis.
    pub fn stack(tensors: &[Tensor], axis: isize) -> Result<Tensor> {
        let first = tensors
            .first()
            .ok_or_else(|| Error::invalid("stack", "needs at least one tensor"))?;
        for t in tensors {
            if t.shape() != first.shape() {
                return Err(Error::shapes("stack", first.shape(), t.shape()));
            }
        }
        let rank = first.rank() as isize;
        let a = if axis < 0 { axis + rank + 1 } else { axis };
        let expanded = tensors
            .iter()
            .map(|t| t.unsqueeze(a))
            .collect::<Result<Vec<_>>>()?;
        Tensor::cat(&expanded, a)
    }

    /// Cuts along `axis` into pieces of the given sizes (which must add up).
    pub fn split(&self, sizes: &[usize], axis: isize) -> Result<Vec<Tensor>> {
        let a = self.shape().axis("split", axis)?;
        if sizes.iter().sum::<usize>() != self.dims()[a] {
            return Err(Error::bad_shape(
                "split",
                self.shape(),
                format!("sizes {sizes:?} do not add up to dimension {a}"),
            ));
        }
        let mut start = 0;
        sizes
            .iter()
            .map(|&len| {
                let piece = self.narrow(a as isize, start, len);
                start += len;
                piece
            })
            .collect()
    }

    /// Cuts along `axis` into `n` pieces as equal as possible (the last may be smaller).
    pub fn chunk(&self, n: usize, axis: isize) -> Result<Vec<Tensor>> {
        let a = self.shape().axis("chunk", axis)?;
        if n == 0 {
            return Err(Error::invalid("chunk", "cannot cut into 0 chunks"));
        }
        let size = self.dims()[a];
        let step = size.div_ceil(n).max(1);
        let mut sizes = Vec::new();
        let mut left = size;
        while left > 0 {
            sizes.push(step.min(left));
            left -= step.min(left);
        }
        self.split(&sizes, a as isize)
    }
}
