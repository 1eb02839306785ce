//! Matrix products: `op(A)·op(B)` where `op` optionally transposes the last
//! two dimensions *without* copying (the GEMM reads the stored layout), so
//! attention computes `Q·Kᵀ` straight from K.
//!
//! Shapes: A is `[..., m, k]` (`[..., k, m]` when transposed), B is
//! `[..., k, n]` (`[..., n, k]`). The batch dimensions `...` must match, or one
//! side is a plain matrix shared by every batch.

use crate::autograd::BackwardOp;
use crate::backend;
use crate::{Error, Result, Tensor};

struct MatMul {
    trans_a: bool,
    trans_b: bool,
}

impl BackwardOp for MatMul {
    fn name(&self) -> &'static str {
        "matmul"
    }

    /// With C = op(A)·op(B) and G = dL/dC:
    ///   dL/d op(A) = G·op(B)ᵀ,   dL/d op(B) = op(A)ᵀ·G,
    /// and a transposed operand's gradient is transposed back — each case is
    /// again one matmul with transpose flags. A shared (2-D) operand gets a
    /// batched gradient that autograd sums over the batch.
    fn backward(&self, inputs: &[Tensor], _: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let (a, b) = (&inputs[0], &inputs[1]);
        let (ta, tb) = (self.trans_a, self.trans_b);
        let ga = if ta {
            b.matmul_t(g, tb, true)?
        } else {
            g.matmul_t(b, false, !tb)?
        };
        let gb = if b.rank() == 2 && a.rank() > 2 && !ta {
            // Shared weight (a Linear layer on [B, T, in]): fold the batch into
            // the rows so the sum over the batch happens inside one GEMM.
            let a2 = a.reshape([a.numel() / a.dims()[a.rank() - 1], a.dims()[a.rank() - 1]])?;
            let g2 = g.reshape([g.numel() / g.dims()[g.rank() - 1], g.dims()[g.rank() - 1]])?;
            if tb {
                g2.matmul_t(&a2, true, false)?
            } else {
                a2.matmul_t(&g2, true, false)?
            }
        } else if tb {
            g.matmul_t(a, true, ta)?
        } else {
            a.matmul_t(g, !ta, false)?
        };
        Ok(vec![Some(ga), Some(gb)])
    }
}

impl Tensor {
    /// `self · other`.
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        self.matmul_t(other, false, false)
    }

    /// `op(self) · op(other)`, each `op` a transpose of the last two dimensions when its flag is set.
    pub fn matmul_t(&self, other: &Tensor, trans_a: bool, trans_b: bool) -> Result<Tensor> {
        backend::check_same_device("matmul", self, other)?;
        let (a, b) = (self, other);
        if a.rank() < 2 || b.rank() < 2 {
            return Err(Error::shapes_because(
                "matmul",
                a.shape(),
                b.shape(),
                "both operands need at least 2 dimensions",
            ));
        }
        let last2 = |t: &Tensor, trans: bool| {
            let d = t.dims();
            let (r, c) = (d[d.len() - 2], d[d.len() - 1]);
            if trans {
                (c, r)
            } else {
                (r, c)
            }
        };
        let (m, k) = last2(a, trans_a);
        let (kb, n) = last2(b, trans_b);
        if k != kb {
            return Err(Error::shapes_because(
                "matmul",
                a.shape(),
                b.shape(),
                format!("inner dimensions differ ({k} vs {kb}; transposes: {trans_a}, {trans_b})"),
            ));
        }
        let batch_a = &a.dims()[..a.rank() - 2];
        let batch_b = &b.dims()[..b.rank() - 2];
        let batch_dims: Vec<usize> = match (batch_a.is_empty(), batch_b.is_empty()) {
            (_, true) => batch_a.to_vec(),
            (true, false) => batch_b.to_vec(),
            (false, false) if batch_a == batch_b => batch_a.to_vec(),
            _ => {
                return Err(Error::shapes_because(
                    "matmul",
                    a.shape(),
                    b.shape(),
                    "batch dimensions differ",
                ))
            }
        };
        let batch: usize = batch_dims.iter().product();
        let mut out_dims = batch_dims.clone();
        out_dims.extend([m, n]);
        let storage = if batch_b.is_empty() && !trans_a {
            // A stack of row blocks times one matrix is a single taller GEMM.
            backend::matmul(
                a.storage(),
                b.storage(),
                1,
                batch * m,
                n,
                k,
                false,
                trans_b,
                0,
                0,
            )?
        } else {
            let stride_a = if batch_a.is_empty() { 0 } else { m * k };
            let stride_b = if batch_b.is_empty() { 0 } else { k * n };
            backend::matmul(
                a.storage(),
                b.storage(),
                batch,
                m,
                n,
                k,
                trans_a,
                trans_b,
                stride_a,
                stride_b,
            )?
        };
        Ok(Tensor::from_op(
            storage,
            out_dims,
            MatMul { trans_a, trans_b },
            vec![a.clone(), b.clone()],
        ))
    }
}
