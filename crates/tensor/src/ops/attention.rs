//! Scaled dot-product attention (Vaswani et al. 2017, §3.2.1):
//!
//!   O = softmax(s · Q Kᵀ + b + C) V
//!
//! Q `[..., Tq, D]`, K `[..., Tk, D]`, V `[..., Tk, Dv]` → O `[..., Tq, Dv]`,
//! where `...` is `[B, H]` (or any batch dims whose product is B·H), s the
//! scale (usually 1/√D), b an additive key bias `[B, Tk]` shared by the H
//! heads of a sequence (0 keeps a key, -∞ masks padding), and C the causal
//! mask (query i sees keys j ≤ i + Tk - Tq).
//!
//! Two implementations, one meaning:
//! - [`Tensor::attention_reference`] composes matmul, mask, softmax, matmul —
//!   the definition, differentiated by autograd, used on the CPU;
//! - on the GPU a fused kernel (online softmax, flash style) never stores the
//!   Tq×Tk scores; its backward recomputes them from the saved log-sum-exp.
//!
//! A test runs both on the same inputs and compares outputs and gradients.

use crate::autograd::BackwardOp;
use crate::backend::gpu_err;
use crate::storage::Storage;
use crate::{Device, Error, Result, Tensor};
use kernels_gpu::{self as gpu, GpuBuffer};
use std::sync::Arc;

struct FusedAttention {
    sizes: gpu::Attention,
    lse: Tensor,
}

impl BackwardOp for FusedAttention {
    fn name(&self) -> &'static str {
        "attention"
    }
    fn backward(&self, inputs: &[Tensor], o: &Tensor, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let (q, k, v) = (&inputs[0], &inputs[1], &inputs[2]);
        let bias = inputs.get(3);
        let alloc = |t: &Tensor| GpuBuffer::uninit(t.numel()).map_err(gpu_err);
        let (dq, dk, dv) = (alloc(q)?, alloc(k)?, alloc(v)?);
        gpu::attention_backward(
            &self.sizes,
            q.storage().gpu()?,
            k.storage().gpu()?,
            v.storage().gpu()?,
            bias.map(|b| b.storage().gpu()).transpose()?,
            o.storage().gpu()?,
            self.lse.storage().gpu()?,
            g.storage().gpu()?,
            &dq,
            &dk,
            &dv,
        )
        .map_err(gpu_err)?;
        let wrap = |b: GpuBuffer, like: &Tensor| {
            Tensor::from_storage(Arc::new(Storage::Gpu(b)), like.shape().clone())
        };
        let mut grads = vec![Some(wrap(dq, q)), Some(wrap(dk, k)), Some(wrap(dv, v))];
        if bias.is_some() {
            grads.push(None); // the mask is data, not a parameter
        }
        Ok(grads)
    }
}

/// Checked sizes of one attention call.
fn sizes(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    bias: Option<&Tensor>,
    causal: bool,
    scale: f32,
) -> Result<gpu::Attention> {
    let bad = |msg: &str| Error::shapes_because("attention", q.shape(), k.shape(), msg.to_string());
    if q.rank() < 2 || k.rank() != q.rank() || v.rank() != q.rank() {
        return Err(bad("Q, K and V need the same rank, at least 2"));
    }
    let r = q.rank();
    let batch_dims = &q.dims()[..r - 2];
    if &k.dims()[..r - 2] != batch_dims || &v.dims()[..r - 2] != batch_dims {
        return Err(bad("Q, K and V must share their batch dimensions"));
    }
    let (tq, d) = (q.dims()[r - 2], q.dims()[r - 1]);
    let (tk, dk) = (k.dims()[r - 2], k.dims()[r - 1]);
    if d != dk || v.dims()[r - 2] != tk {
        return Err(bad("need Q [.., Tq, D], K [.., Tk, D], V [.., Tk, Dv]"));
    }
    if causal && tk < tq {
        return Err(bad("a causal mask needs Tk >= Tq"));
    }
    let batch: usize = batch_dims.iter().product();
    // Heads: the last batch dimension when there are two or more ([B, H, ...]).
    let heads = if batch_dims.len() >= 2 {
        batch_dims[batch_dims.len() - 1]
    } else {
        1
    };
    if let Some(b) = bias {
        if b.numel() != (batch / heads.max(1)) * tk {
            return Err(Error::shapes_because(
                "attention",
                q.shape(),
                b.shape(),
                format!(
                    "the key bias must be [B, Tk] = [{}, {tk}]",
                    batch / heads.max(1)
                ),
            ));
        }
    }
    Ok(gpu::Attention {
        batch,
        heads,
        tq,
        tk,
        d,
        dv: v.dims()[r - 1],
        scale,
        causal,
        ..Default::default()
    })
}

/// `scores` `[.., Tq, Tk]` with the causal mask: -∞ where key j > i + Tk - Tq.
pub(crate) fn causal_masked(scores: &Tensor, tq: usize, tk: usize) -> Result<Tensor> {
    let shift = tk - tq;
    let mask: Vec<f32> = (0..tq)
        .flat_map(|i| (0..tk).map(move |j| if j > i + shift { 1.0 } else { 0.0 }))
        .collect();
    let mask = Tensor::from_vec(mask, [tq, tk], &scores.device())?;
    scores.masked_fill(&mask, f32::NEG_INFINITY)
}

/// The fused kernels' output (of shape `dims`), recorded with a backward
/// that recomputes the weights from the saved log-sum-exp.
pub(crate) fn fused(
    a: gpu::Attention,
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    key_bias: Option<&Tensor>,
    dims: Vec<usize>,
) -> Result<Tensor> {
    let o = GpuBuffer::uninit(a.batch * a.tq * a.dv).map_err(gpu_err)?;
    let lse = GpuBuffer::uninit(a.batch * a.tq).map_err(gpu_err)?;
    gpu::attention_forward(
        &a,
        q.storage().gpu()?,
        k.storage().gpu()?,
        v.storage().gpu()?,
        key_bias.map(|b| b.storage().gpu()).transpose()?,
        &o,
        &lse,
        None,
    )
    .map_err(gpu_err)?;
    let lse = Tensor::from_storage(Arc::new(Storage::Gpu(lse)), [a.batch * a.tq].into());
    let mut inputs = vec![q.clone(), k.clone(), v.clone()];
    inputs.extend(key_bias.map(|b| b.detach()));
    let op = FusedAttention { sizes: a, lse };
    Ok(Tensor::from_op(Storage::Gpu(o), dims, op, inputs))
}

impl Tensor {
    /// softmax(scale · Q Kᵀ + key_bias + causal) V — fused on the GPU,
    /// composed on the CPU. See the module docs for shapes.
    pub fn attention(
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        key_bias: Option<&Tensor>,
        causal: bool,
        scale: f32,
    ) -> Result<Tensor> {
        crate::backend::check_same_device("attention", q, k)?;
        crate::backend::check_same_device("attention", q, v)?;
        if let Some(b) = key_bias {
            crate::backend::check_same_device("attention", q, b)?;
        }
        let a = sizes(q, k, v, key_bias, causal, scale)?;
        if q.device() != Device::Gpu || a.d > gpu::MAX_HEAD_DIM || a.dv > gpu::MAX_HEAD_DIM {
            return Tensor::attention_reference(q, k, v, key_bias, causal, scale);
        }
        let mut dims = q.dims().to_vec();
        *dims.last_mut().expect("rank >= 2") = a.dv;
        fused(a, q, k, v, key_bias, dims)
    }

    /// The attention weights softmax(scale · Q Kᵀ + key_bias + causal), `[.., Tq, Tk]`.
    pub fn attention_weights(
        q: &Tensor,
        k: &Tensor,
        key_bias: Option<&Tensor>,
        causal: bool,
        scale: f32,
    ) -> Result<Tensor> {
        let a = sizes(q, k, k, key_bias, causal, scale)?;
        let r = q.rank();
        let mut scores = q.matmul_t(k, false, true)?.mul_scalar(scale)?;
        if let Some(b) = key_bias {
            // [B, Tk] → [..batch dims, 1 (heads), 1 (queries), Tk]: one row per
            // sequence, broadcast over its heads and queries.
            let batch_dims = &q.dims()[..r - 2];
            let mut dims: Vec<usize> = match batch_dims.len() {
                0 => vec![],
                1 => batch_dims.to_vec(),
                n => batch_dims[..n - 1].iter().copied().chain([1]).collect(),
            };
            dims.extend([1, a.tk]);
            scores = scores.add(&b.reshape(dims)?)?;
        }
        if causal {
            scores = causal_masked(&scores, a.tq, a.tk)?;
        }
        scores.softmax(-1)
    }

    /// The definition, composed from basic ops (matmul, mask, softmax, matmul).
    pub fn attention_reference(
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        key_bias: Option<&Tensor>,
        causal: bool,
        scale: f32,
    ) -> Result<Tensor> {
        Tensor::attention_weights(q, k, key_bias, causal, scale)?.matmul(v)
    }
}
