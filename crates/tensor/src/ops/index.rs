//! Ops that pick elements by index or condition: embedding lookup,
//! index_select, where, masked_fill. Indices are f32 tensors holding whole
//! numbers (the engine has one dtype; exact below 2²⁴).

use crate::autograd::BackwardOp;
use crate::backend::{self, BinaryOp};
use crate::{Device, Error, Result, Shape, Tensor};
use std::sync::Arc;

/// Checks that every index is a whole number in `0..size` (or the ignored
/// value). Runs on host data, so only for CPU tensors: GPU kernels skip
/// out-of-range ids rather than read outside a buffer.
pub(crate) fn check_indices(
    op: &'static str,
    ids: &Tensor,
    size: usize,
    ignore: Option<i64>,
) -> Result<()> {
    if ids.device() != Device::Cpu {
        return Ok(());
    }
    for &v in ids.storage().cpu_read().iter() {
        let whole = v.fract() == 0.0;
        if whole && ignore == Some(v as i64) {
            continue;
        }
        if !whole || v < 0.0 || v as usize >= size {
            return Err(Error::IndexOutOfRange {
                op,
                index: v as f64,
                size,
            });
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- embedding

struct Embedding {
    padding_idx: Option<usize>,
}

impl BackwardOp for Embedding {
    fn name(&self) -> &'static str {
        "embedding"
    }
    /// Each looked-up row receives the sum of its positions' gradients; the
    /// padding row receives none (it stays as initialised, as in PyTorch).
    fn backward(&self, inputs: &[Tensor], _: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let (table, ids) = (&inputs[0], &inputs[1]);
        let (rows, dim) = (table.dims()[0], table.dims()[1]);
        let gt = backend::scatter_add_rows(g.storage(), dim, ids.storage(), rows)?;
        let mut gt = Tensor::from_storage(Arc::new(gt), table.shape().clone());
        if let Some(p) = self.padding_idx {
            let mut keep = vec![1.0; rows];
            keep[p] = 0.0;
            gt = gt.mul(&Tensor::from_vec(keep, [rows, 1], &g.device())?)?;
        }
        Ok(vec![Some(gt), None])
    }
}

// ------------------------------------------------------------- index_select

struct IndexSelect {
    axis: usize,
}

impl BackwardOp for IndexSelect {
    fn name(&self) -> &'static str {
        "index_select"
    }
    fn backward(&self, inputs: &[Tensor], _: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let (x, ids) = (&inputs[0], &inputs[1]);
        let (outer, len, inner) = x.shape().split_at_axis(self.axis);
        let gx = backend::index_add(g.storage(), (outer, len, inner), ids.storage())?;
        Ok(vec![
            Some(Tensor::from_storage(Arc::new(gx), x.shape().clone())),
            None,
        ])
    }
}

// -------------------------------------------------------------------- where

struct Where;

impl BackwardOp for Where {
    fn name(&self) -> &'static str {
        "where"
    }
    /// The gradient flows to whichever input was picked.
    fn backward(&self, inputs: &[Tensor], _: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let picked_a = inputs[0].compare(BinaryOp::Eq, &Tensor::scalar(0.0, &g.device())?)?;
        let picked_a = picked_a.neg()?.add_scalar(1.0)?;
        let ga = g.mul(&picked_a)?;
        let gb = g.sub(&ga)?;
        Ok(vec![None, Some(ga), Some(gb)])
    }
}

impl Tensor {
    /// Rows of the table `[V, D]` picked by `ids` (any shape): output `[..ids, D]`.
    /// With `padding_idx`, that row gets no gradient.
    pub fn embedding(&self, ids: &Tensor, padding_idx: Option<usize>) -> Result<Tensor> {
        backend::check_same_device("embedding", self, ids)?;
        if self.rank() != 2 {
            return Err(Error::bad_shape(
                "embedding",
                self.shape(),
                "the table must be [V, D]",
            ));
        }
        let (rows, dim) = (self.dims()[0], self.dims()[1]);
        if let Some(p) = padding_idx.filter(|&p| p >= rows) {
            return Err(Error::IndexOutOfRange {
                op: "embedding padding_idx",
                index: p as f64,
                size: rows,
            });
        }
        check_indices("embedding", ids, rows, None)?;
        let out = backend::gather_rows(self.storage(), dim, ids.storage())?;
        let mut dims = ids.dims().to_vec();
        dims.push(dim);
        Ok(Tensor::from_op(
            out,
            dims,
            Embedding { padding_idx },
            vec![self.clone(), ids.clone()],
        ))
    }

    /// The entries at positions `ids` (1-D) along `axis`.
    pub fn index_select(&self, axis: isize, ids: &Tensor) -> Result<Tensor> {
        backend::check_same_device("index_select", self, ids)?;
        let a = self.shape().axis("index_select", axis)?;
        if ids.rank() != 1 {
            return Err(Error::bad_shape(
                "index_select",
                ids.shape(),
                "indices must be 1-D",
            ));
        }
        let (outer, len, inner) = self.shape().split_at_axis(a);
        check_indices("index_select", ids, len, None)?;
        let out = backend::index_select(self.storage(), (outer, len, inner), ids.storage())?;
        let mut dims = self.dims().to_vec();
        dims[a] = ids.dims()[0];
        Ok(Tensor::from_op(
            out,
            dims,
            IndexSelect { axis: a },
            vec![self.clone(), ids.clone()],
        ))
    }

    /// `cat([self.index_select(0, ids), new], axis)`: the rows `ids` of
    /// `self` (`None`: every row, in order), each with its row of `new`
    /// appended along `axis` ≥ 1. A decoder's key/value cache after a beam
    /// step with this step's keys added, in one copy instead of two when
    /// no gradient is recorded (with one, it is the two ops).
    pub fn select_cat(&self, ids: Option<&Tensor>, new: &Tensor, axis: isize) -> Result<Tensor> {
        let a = self.shape().axis("select_cat", axis)?;
        let rows = self.dims()[0];
        let picked = match ids {
            Some(ids) => {
                backend::check_same_device("select_cat", self, ids)?;
                if ids.rank() != 1 {
                    return Err(Error::bad_shape(
                        "select_cat",
                        ids.shape(),
                        "indices must be 1-D",
                    ));
                }
                check_indices("select_cat", ids, rows, None)?;
                ids.dims()[0]
            }
            None => rows,
        };
        if a == 0 {
            return Err(Error::bad_shape(
                "select_cat",
                self.shape(),
                "appends along an axis after the rows it selects (axis ≥ 1)",
            ));
        }
        backend::check_same_device("select_cat", self, new)?;
        let fits = new.rank() == self.rank()
            && new.dims()[0] == picked
            && (1..self.rank()).all(|i| i == a || new.dims()[i] == self.dims()[i]);
        if !fits {
            return Err(Error::shapes_because(
                "select_cat",
                self.shape(),
                new.shape(),
                format!(
                    "new must have {picked} rows and agree with the past on every axis but {a}"
                ),
            ));
        }
        let tracked =
            crate::autograd::is_grad_enabled() && (self.requires_grad() || new.requires_grad());
        if tracked {
            let past = match ids {
                Some(ids) => self.index_select(0, ids)?,
                None => self.clone(),
            };
            return Tensor::cat(&[past, new.clone()], axis);
        }
        let d = self.dims();
        let sizes = backend::SelectCat {
            rows,
            picked,
            outer: d[1..a].iter().product(),
            len: d[a],
            extra: new.dims()[a],
            inner: d[a + 1..].iter().product(),
        };
        let storage = backend::select_cat(
            self.storage(),
            ids.map(|i| i.storage()),
            new.storage(),
            sizes,
        )?;
        let mut dims = d.to_vec();
        dims[0] = picked;
        dims[a] += new.dims()[a];
        Ok(Tensor::from_storage(Arc::new(storage), dims.into()))
    }

    /// `a` where `cond` is non-zero, else `b`; all three broadcast together.
    pub fn where_cond(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        backend::check_same_device("where", cond, a)?;
        backend::check_same_device("where", a, b)?;
        let shape = Shape::broadcast(
            "where",
            &Shape::broadcast("where", cond.shape(), a.shape())?,
            b.shape(),
        )?;
        let (c, ax, bx) = (
            cond.detach().broadcast_to(shape.clone())?,
            a.broadcast_to(shape.clone())?,
            b.broadcast_to(shape.clone())?,
        );
        let out = backend::where_select(c.storage(), ax.storage(), bx.storage())?;
        Ok(Tensor::from_op(out, shape, Where, vec![c, ax, bx]))
    }

    /// `value` where `mask` is non-zero, else self (mask broadcasts to self).
    pub fn masked_fill(&self, mask: &Tensor, value: f32) -> Result<Tensor> {
        let fill = Tensor::scalar(value, &self.device())?;
        let out = Tensor::where_cond(mask, &fill, self)?;
        if out.shape() != self.shape() {
            return Err(Error::shapes_because(
                "masked_fill",
                self.shape(),
                mask.shape(),
                "the mask must broadcast to the tensor",
            ));
        }
        Ok(out)
    }
}
