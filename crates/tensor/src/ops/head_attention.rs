//! Multi-head attention over whole sequences, with the heads left where the
//! projections put them and dropout on the weights (Vaswani et al. 2017,
//! §3.2.2 and §5.4):
//!
//!   O_h = dropout(softmax(s · Q_h K_hᵀ + b + C)) V_h        h = 1 … H
//!
//! Q `[B, L, H·d]`, K and V `[B, S, H·d]` → O `[B, L, H·d]` = `[O_1; …; O_H]`,
//! where Q_h is the column block `h·d..(h+1)·d`; s the scale (usually
//! 1/√d), b an additive key bias `[B, S]` (0 keeps a key, -∞ masks padding)
//! and C the causal mask (query i sees keys j ≤ i + S - L).
//!
//! Two implementations, one meaning, one random stream:
//! - composed: `head_scores`, the masks, softmax, `dropout`, `head_mix` — no
//!   head copies (ops/heads.rs), differentiated by autograd;
//! - on the GPU, for d ≤ 64: the blocked flash kernels in the merged layout
//!   (shaders/attention_blocked.wgsl). The `[B, H, L, S]` weights are never
//!   stored, forward or backward, and the dropout mask is drawn inside the
//!   kernels from the same counters `dropout` would take for those weights,
//!   so both forms drop the same weights and advance `rng` alike.

use super::attention::{causal_masked, fused};
use crate::{Device, Error, Result, Rng, Tensor};
use kernels_gpu as gpu;

/// The fixed part of one [`Tensor::head_attention`] call.
#[derive(Clone, Copy, Debug)]
pub struct HeadAttention<'a> {
    pub heads: usize,
    /// Usually 1/√d.
    pub scale: f32,
    pub causal: bool,
    /// `[B, S]`: added to every query's scores of sequence b.
    pub key_bias: Option<&'a Tensor>,
}

impl Tensor {
    /// `dropout(softmax(s · Q_h K_hᵀ + b + C)) V_h` for every head, heads side
    /// by side: `self` (Q) `[B, L, H·d]`, K and V `[B, S, H·d]` → `[B, L, H·d]`.
    /// `dropout` is (p, stream) in training, `None` in evaluation.
    pub fn head_attention(
        &self,
        k: &Tensor,
        v: &Tensor,
        spec: &HeadAttention,
        dropout: Option<(f32, &mut Rng)>,
    ) -> Result<Tensor> {
        let q = self;
        crate::backend::check_same_device("head_attention", q, k)?;
        crate::backend::check_same_device("head_attention", q, v)?;
        let h = spec.heads;
        let fits = q.rank() == 3
            && k.rank() == 3
            && v.dims() == k.dims()
            && k.dims()[0] == q.dims()[0]
            && k.dims()[2] == q.dims()[2]
            && h > 0
            && q.dims()[2].is_multiple_of(h);
        if !fits {
            return Err(Error::shapes_because(
                "head_attention",
                q.shape(),
                k.shape(),
                format!(
                    "need Q [B, L, H·d], K and V [B, S, H·d] (V is {}) with H = {h} dividing H·d",
                    v.shape()
                ),
            ));
        }
        let (b, l, s, e) = (q.dims()[0], q.dims()[1], k.dims()[1], q.dims()[2]);
        if spec.causal && s < l {
            return Err(Error::shapes_because(
                "head_attention",
                q.shape(),
                k.shape(),
                "a causal mask needs S >= L",
            ));
        }
        if let Some(bias) = spec.key_bias {
            crate::backend::check_same_device("head_attention", q, bias)?;
            if bias.dims() != [b, s] {
                return Err(Error::shapes_because(
                    "head_attention",
                    q.shape(),
                    bias.shape(),
                    format!("the key bias must be [B, S] = [{b}, {s}]"),
                ));
            }
        }
        let p = dropout.as_ref().map_or(0.0, |(p, _)| *p);
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::invalid(
                "head_attention",
                format!("dropout probability {p} is outside [0, 1]"),
            ));
        }
        let d = e / h;
        let kernel_fits = d <= gpu::BLOCKED_MAX_HEAD_DIM && b * l * s * d > 0 && p < 1.0;
        if q.device() != Device::Gpu || !kernel_fits {
            return composed(q, k, v, spec, dropout);
        }
        let dropout = match dropout {
            Some((p, rng)) if p > 0.0 => Some(gpu::AttentionDropout {
                p,
                seed: rng.seed,
                offset: rng.take(b * h * l * s), // the counters of the [B, H, L, S] weights
            }),
            _ => None,
        };
        let a = gpu::Attention {
            batch: b * h,
            heads: h,
            tq: l,
            tk: s,
            d,
            dv: d,
            scale: spec.scale,
            causal: spec.causal,
            layout: gpu::HeadLayout::Merged,
            dropout,
            kernel: gpu::AttentionKernel::Auto,
        };
        fused(a, q, k, v, spec.key_bias, vec![b, l, e])
    }
}

/// The definition, spelled out (and the path wherever no kernel applies).
fn composed(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    spec: &HeadAttention,
    dropout: Option<(f32, &mut Rng)>,
) -> Result<Tensor> {
    let (b, l, s) = (q.dims()[0], q.dims()[1], k.dims()[1]);

    // s · Q_h K_hᵀ
    let mut scores = q.head_scores(k, spec.heads, spec.scale)?; // [B, H, L, S]

    // + b + C
    if let Some(bias) = spec.key_bias {
        scores = scores.add(&bias.reshape([b, 1, 1, s])?)?;
    }
    if spec.causal {
        scores = causal_masked(&scores, l, s)?;
    }

    // dropout(softmax(·))
    let mut weights = scores.softmax(-1)?;
    if let Some((p, rng)) = dropout {
        weights = weights.dropout(p, true, rng)?;
    }

    // · V_h, heads side by side
    weights.head_mix(v) // [B, L, H·d]
}
