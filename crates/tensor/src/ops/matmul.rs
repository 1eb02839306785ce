//! Matrix products: `op(A)·op(B)` where `op` optionally transposes the last
//! two dimensions *without* copying (the GEMM reads the stored layout), so
//! attention computes `Q·Kᵀ` straight from K.
//!
//! Shapes: A is `[..., m, k]` (`[..., k, m]` when transposed), B is
//! `[..., k, n]` (`[..., n, k]`). The batch dimensions `...` must match, or one
//! side is a plain matrix shared by every batch.

use crate::autograd::BackwardOp;
use crate::backend::{self, Gemm};
use crate::grad_schedule::GradForm;
use crate::{Error, Result, Tensor};

struct MatMul {
    trans_a: bool,
    trans_b: bool,
}

impl MatMul {
    /// The product giving input `i`'s gradient, as `op(x)·op(y)` operands
    /// `(x, y, trans_x, trans_y)`. With C = op(A)·op(B) and G = dL/dC:
    ///   dL/d op(A) = G·op(B)ᵀ,   dL/d op(B) = op(A)ᵀ·G,
    /// and a transposed operand's gradient is transposed back — each case is
    /// again one matmul with transpose flags. A shared (2-D) operand gets a
    /// batched gradient that autograd sums over the batch, except a Linear
    /// layer's weight (below), whose batch sum happens inside one GEMM.
    fn grad_product(
        &self,
        i: usize,
        inputs: &[Tensor],
        g: &Tensor,
    ) -> Result<(Tensor, Tensor, bool, bool)> {
        let (a, b) = (&inputs[0], &inputs[1]);
        let (ta, tb) = (self.trans_a, self.trans_b);
        Ok(match i {
            0 if ta => (b.clone(), g.clone(), tb, true),
            0 => (g.clone(), b.clone(), false, !tb),
            _ if b.rank() == 2 && a.rank() > 2 && !ta => {
                // Shared weight (a Linear layer on [B, T, in]): fold the batch
                // into the rows.
                let last = |t: &Tensor| t.dims()[t.rank() - 1];
                let a2 = a.reshape([a.numel() / last(a), last(a)])?;
                let g2 = g.reshape([g.numel() / last(g), last(g)])?;
                match tb {
                    true => (g2, a2, true, false),
                    false => (a2, g2, true, false),
                }
            }
            _ if tb => (g.clone(), a.clone(), true, ta),
            _ => (a.clone(), g.clone(), !ta, false),
        })
    }
}

impl BackwardOp for MatMul {
    fn name(&self) -> &'static str {
        "matmul"
    }

    /// One product per input, only for the inputs that need a gradient
    /// (data fed to a first layer needs none).
    fn backward(&self, inputs: &[Tensor], _: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        (0..2)
            .map(|i| match inputs[i].requires_grad() {
                true => {
                    let (x, y, tx, ty) = self.grad_product(i, inputs, g)?;
                    x.matmul_t(&y, tx, ty).map(Some)
                }
                false => Ok(None),
            })
            .collect()
    }

    /// Each gradient is a product of its own: the host scheduler may run it
    /// beside the walk, stack a shared matrix's factors (`Gᵀ A` or `Aᵀ G`
    /// over all rows), or write it into a running sum with β = 1.
    fn grad_form(&self, i: usize, inputs: &[Tensor], g: &Tensor) -> Result<GradForm> {
        let (x, y, tx, ty) = self.grad_product(i, inputs, g)?;
        Ok(GradForm::Product {
            x,
            y,
            trans: (tx, ty),
        })
    }
}

/// `x Wᵀ + b` as one op (`Tensor::linear`): inputs `[x, W, b]`.
struct Linear;

impl Linear {
    /// The product part, `x Wᵀ`, whose gradients these are.
    const PRODUCT: MatMul = MatMul {
        trans_a: false,
        trans_b: true,
    };
}

impl BackwardOp for Linear {
    fn name(&self) -> &'static str {
        "linear"
    }

    /// ∂x and ∂W as for `x Wᵀ`; ∂b is G itself, which autograd sums over
    /// the rows (the broadcast of b).
    fn backward(&self, inputs: &[Tensor], out: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let mut grads = Linear::PRODUCT.backward(&inputs[..2], out, g)?;
        grads.push(inputs[2].requires_grad().then(|| g.clone()));
        Ok(grads)
    }

    fn grad_form(&self, i: usize, inputs: &[Tensor], g: &Tensor) -> Result<GradForm> {
        match i {
            0 | 1 => Linear::PRODUCT.grad_form(i, &inputs[..2], g),
            _ => Ok(GradForm::Ready(g.clone())),
        }
    }
}

/// How a product `op(A)·op(B)` maps onto one (batched) GEMM.
struct Plan {
    out_dims: Vec<usize>,
    batch: usize,
    m: usize,
    n: usize,
    k: usize,
    trans_a: bool,
    trans_b: bool,
    stride_a: usize,
    stride_b: usize,
}

impl Plan {
    fn gemm(&self) -> Gemm {
        Gemm {
            batch: self.batch,
            m: self.m,
            n: self.n,
            k: self.k,
            trans_a: self.trans_a,
            trans_b: self.trans_b,
            stride_a: self.stride_a,
            stride_b: self.stride_b,
        }
    }

    fn new(a: &Tensor, b: &Tensor, trans_a: bool, trans_b: bool) -> Result<Plan> {
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
        let mut out_dims = batch_dims;
        out_dims.extend([m, n]);
        Ok(if batch_b.is_empty() && !trans_a {
            // A stack of row blocks times one matrix is a single taller GEMM.
            Plan {
                out_dims,
                batch: 1,
                m: batch * m,
                n,
                k,
                trans_a,
                trans_b,
                stride_a: 0,
                stride_b: 0,
            }
        } else {
            Plan {
                out_dims,
                batch,
                m,
                n,
                k,
                trans_a,
                trans_b,
                stride_a: if batch_a.is_empty() { 0 } else { m * k },
                stride_b: if batch_b.is_empty() { 0 } else { k * n },
            }
        })
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
        let p = Plan::new(self, other, trans_a, trans_b)?;
        let storage = backend::matmul(self.storage(), other.storage(), p.gemm())?;
        Ok(Tensor::from_op(
            storage,
            p.out_dims,
            MatMul { trans_a, trans_b },
            vec![self.clone(), other.clone()],
        ))
    }

    /// `self Wᵀ + b`, a Linear layer: `self` `[..., I]`, `weight` `[O, I]`,
    /// `bias` `[O]` → `[..., O]`. On the host one GEMM adds the bias as it
    /// writes C (no second pass over the output); on the GPU a product and
    /// an add.
    pub fn linear(&self, weight: &Tensor, bias: &Tensor) -> Result<Tensor> {
        backend::check_same_device("linear", self, weight)?;
        backend::check_same_device("linear", self, bias)?;
        let in_f = self.dims().last().copied().unwrap_or(0);
        if self.rank() < 1
            || weight.rank() != 2
            || weight.dims()[1] != in_f
            || bias.dims() != [weight.dims()[0]]
        {
            return Err(Error::invalid(
                "linear",
                format!(
                    "expected x [..., I], weight [O, I] and bias [O]; got x {}, weight {}, bias {}",
                    self.shape(),
                    weight.shape(),
                    bias.shape()
                ),
            ));
        }
        let out_f = weight.dims()[0];
        let rows = self.numel() / in_f.max(1);
        if in_f == 0 {
            // An empty product: the generic path handles it.
            return self.matmul_t(weight, false, true)?.add(bias);
        }
        let storage = backend::linear(
            self.storage(),
            weight.storage(),
            bias.storage(),
            [rows, out_f, in_f],
        )?;
        let mut dims = self.dims().to_vec();
        *dims.last_mut().expect("rank >= 1") = out_f;
        Ok(Tensor::from_op(
            storage,
            dims,
            Linear,
            vec![self.clone(), weight.clone(), bias.clone()],
        ))
    }

    /// `dst += op(self) · op(other)` in place, for a host `dst` of exactly the
    /// product's shape that no other tensor shares (autograd's running
    /// gradient sums); records nothing. `Ok(false)`, touching nothing, when
    /// `dst` is not such a tensor.
    pub(crate) fn matmul_add_into(
        &self,
        other: &Tensor,
        trans_a: bool,
        trans_b: bool,
        dst: &Tensor,
    ) -> Result<bool> {
        let p = Plan::new(self, other, trans_a, trans_b)?;
        let same_device = [other, dst].iter().all(|t| t.device() == self.device());
        if !same_device || dst.dims() != p.out_dims.as_slice() {
            return Ok(false);
        }
        backend::matmul_add(self.storage(), other.storage(), p.gemm(), dst.storage())?;
        Ok(true)
    }
}
