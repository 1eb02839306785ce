//! The two products of multi-head attention, per head, with the heads left
//! where the projections put them (Vaswani et al. 2017, §3.2.2):
//!
//!   S_h = s · Q_h K_hᵀ        `head_scores`:  Q `[B, L, H·d]`, K `[B, S, H·d]` → S `[B, H, L, S]`
//!   O_h = P_h V_h             `head_mix`:     P `[B, H, L, S]`, V `[B, S, H·d]` → O `[B, L, H·d]`
//!
//! Q_h is the column block `h·d..(h+1)·d` of Q, and O_h lands in the same
//! block of O, so O is already the concatenation `[head_1; …; head_H]` the
//! output projection reads. Composed from reshape, permute and matmul, each
//! head would first be copied out of Q, K and V and the heads copied back
//! into O, forward and backward; the host backend runs one GEMM per
//! (sequence, head) on the tensors as they are (`kernels_cpu::sgemm_heads`),
//! other backends gather, multiply and scatter (backend/composed.rs).
//!
//! Backward, with G the gradient of the output:
//!
//!   ∂Q_h = s · G_h K_h,   ∂K_h = s · G_hᵀ Q_h       (scores)
//!   ∂P_h = G_h V_hᵀ,      ∂V_h = P_hᵀ G_h           (mix)

use crate::autograd::BackwardOp;
use crate::backend::{self, Heads};
use crate::storage::Storage;
use crate::{Error, Result, Tensor};
use kernels_cpu::HeadMats;
use std::sync::Arc;

fn invalid(op: &'static str, msg: String) -> Error {
    Error::invalid(op, msg)
}

/// Checks `x` is `[B, T, H·d]` with `B` = `seqs` (when given) and H dividing
/// the features; returns `(B, T, d)`.
fn merged_dims(
    op: &'static str,
    what: &str,
    x: &Tensor,
    heads: usize,
) -> Result<(usize, usize, usize)> {
    let ok = x.rank() == 3 && heads > 0 && x.dims()[2].is_multiple_of(heads);
    if !ok {
        return Err(invalid(
            op,
            format!(
                "{what} has shape {}, expected [B, T, H·d] with H = {heads} dividing the last dimension",
                x.shape()
            ),
        ));
    }
    Ok((x.dims()[0], x.dims()[1], x.dims()[2] / heads))
}

struct HeadScores {
    heads: usize,
    scale: f32,
}

struct HeadMix;

impl Tensor {
    /// Attention scores per head, `s · Q_h K_hᵀ`: `self` (Q) `[B, L, H·d]`,
    /// `keys` `[B, S, H·d]` → `[B, H, L, S]`.
    pub fn head_scores(&self, keys: &Tensor, heads: usize, scale: f32) -> Result<Tensor> {
        backend::check_same_device("head_scores", self, keys)?;
        let (b, l, d) = merged_dims("head_scores", "Q", self, heads)?;
        let (bk, s, dk) = merged_dims("head_scores", "K", keys, heads)?;
        if (bk, dk) != (b, d) {
            return Err(Error::shapes_because(
                "head_scores",
                self.shape(),
                keys.shape(),
                "Q and K need the same batch and width",
            ));
        }
        let scores = product(
            (b, heads),
            (false, true),
            [l, s, d],
            scale,
            (self, HeadMats::merged(l, heads, d)),
            (keys, HeadMats::merged(s, heads, d)),
            HeadMats::split(l, heads, s),
        )?;
        Ok(Tensor::from_op(
            scores,
            vec![b, heads, l, s],
            HeadScores { heads, scale },
            vec![self.clone(), keys.clone()],
        ))
    }

    /// Heads mixed by their weights, `P_h V_h`, written side by side:
    /// `self` (P) `[B, H, L, S]`, `values` `[B, S, H·d]` → `[B, L, H·d]`.
    pub fn head_mix(&self, values: &Tensor) -> Result<Tensor> {
        backend::check_same_device("head_mix", self, values)?;
        if self.rank() != 4 {
            return Err(invalid(
                "head_mix",
                format!("P has shape {}, expected [B, H, L, S]", self.shape()),
            ));
        }
        let (b, heads, l, s) = (
            self.dims()[0],
            self.dims()[1],
            self.dims()[2],
            self.dims()[3],
        );
        let (bv, sv, d) = merged_dims("head_mix", "V", values, heads)?;
        if (bv, sv) != (b, s) {
            return Err(Error::shapes_because(
                "head_mix",
                self.shape(),
                values.shape(),
                "P [B, H, L, S] needs V [B, S, H·d]",
            ));
        }
        let mixed = product(
            (b, heads),
            (false, false),
            [l, d, s],
            1.0,
            (self, HeadMats::split(l, heads, s)),
            (values, HeadMats::merged(s, heads, d)),
            HeadMats::merged(l, heads, d),
        )?;
        Ok(Tensor::from_op(
            mixed,
            vec![b, l, heads * d],
            HeadMix,
            vec![self.clone(), values.clone()],
        ))
    }
}

/// `alpha · op(A_h) op(B_h)` for every sequence and head, each operand read
/// and C written in the layout its `HeadMats` gives.
fn product(
    (seqs, heads): (usize, usize),
    trans: (bool, bool),
    mnk: [usize; 3],
    alpha: f32,
    (a, la): (&Tensor, HeadMats),
    (b, lb): (&Tensor, HeadMats),
    lc: HeadMats,
) -> Result<Storage> {
    let h = Heads {
        seqs,
        heads,
        trans,
        mnk,
        alpha,
        a: la,
        b: lb,
        c: lc,
    };
    backend::head_product(&h, a.storage(), b.storage())
}

/// A gradient product as a tensor of `dims`.
fn gradient(storage: Storage, dims: Vec<usize>) -> Tensor {
    Tensor::from_storage(Arc::new(storage), dims.into())
}

impl BackwardOp for HeadScores {
    fn name(&self) -> &'static str {
        "head_scores"
    }

    fn backward(&self, inputs: &[Tensor], _: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let (q, k) = (&inputs[0], &inputs[1]);
        let (h, scale) = (self.heads, self.scale);
        let (b, l, e) = (q.dims()[0], q.dims()[1], q.dims()[2]);
        let (s, d) = (k.dims()[1], e / h);
        let gs = HeadMats::split(l, h, s);
        // ∂Q_h = s · G_h K_h
        let dq = gradient(
            product(
                (b, h),
                (false, false),
                [l, d, s],
                scale,
                (g, gs),
                (k, HeadMats::merged(s, h, d)),
                HeadMats::merged(l, h, d),
            )?,
            vec![b, l, e],
        );
        // ∂K_h = s · G_hᵀ Q_h
        let dk = gradient(
            product(
                (b, h),
                (true, false),
                [s, d, l],
                scale,
                (g, gs),
                (q, HeadMats::merged(l, h, d)),
                HeadMats::merged(s, h, d),
            )?,
            vec![b, s, e],
        );
        Ok(vec![Some(dq), Some(dk)])
    }
}

impl BackwardOp for HeadMix {
    fn name(&self) -> &'static str {
        "head_mix"
    }

    fn backward(&self, inputs: &[Tensor], _: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let (p, v) = (&inputs[0], &inputs[1]);
        let (b, h, l, s) = (p.dims()[0], p.dims()[1], p.dims()[2], p.dims()[3]);
        let e = v.dims()[2];
        let d = e / h;
        let gm = HeadMats::merged(l, h, d);
        // ∂P_h = G_h V_hᵀ
        let dp = gradient(
            product(
                (b, h),
                (false, true),
                [l, s, d],
                1.0,
                (g, gm),
                (v, HeadMats::merged(s, h, d)),
                HeadMats::split(l, h, s),
            )?,
            vec![b, h, l, s],
        );
        // ∂V_h = P_hᵀ G_h
        let dv = gradient(
            product(
                (b, h),
                (true, false),
                [s, d, l],
                1.0,
                (p, HeadMats::split(l, h, s)),
                (g, gm),
                HeadMats::merged(s, h, d),
            )?,
            vec![b, s, e],
        );
        Ok(vec![Some(dp), Some(dv)])
    }
}
