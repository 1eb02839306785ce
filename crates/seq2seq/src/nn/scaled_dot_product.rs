//! Scaled dot-product attention (Vaswani et al. 2017, "Attention Is All You
//! Need", §3.2.1) spelled out in basic ops, and the masks it adds.
//!
//! ```text
//!   Attention(Q, K, V) = softmax(Q Kᵀ / √d + M) V
//! ```
//!
//! Shapes: Q `[B, h, L, d]`, K and V `[B, h, S, d]`, M broadcast to
//! `[B, h, L, S]`, output `[B, h, L, d]`. B batch, h heads, L queries, S
//! keys, d head size.
//!
//! Conventions: M is additive (0 keeps, -∞ removes); Q is scaled before the
//! product, as PyTorch. The engine's `Tensor::attention` op computes the same
//! thing fused on the GPU; multihead_attention.rs uses it when the weights
//! are not needed and this composition otherwise.

use super::{invalid, Ctx};
use tensor::{Device, Result, Tensor};

/// The additive causal mask `[L, S]`: 0 where s ≤ l, -∞ above the diagonal
/// (`nn.Transformer.generate_square_subsequent_mask` for L = S).
pub fn causal_mask(l: usize, s: usize, device: &Device) -> Result<Tensor> {
    let m = (0..l * s)
        .map(|i| {
            if i % s > i / s {
                f32::NEG_INFINITY
            } else {
                0.0
            }
        })
        .collect();
    Tensor::from_vec(m, [l, s], device)
}

/// The key padding mask `[B, S]` (1 = padding) as an additive bias: 0 or -∞.
pub(crate) fn padding_bias(mask: &Tensor, b: usize, s: usize) -> Result<Tensor> {
    if mask.dims() != [b, s] {
        let msg = format!(
            "key_padding_mask has shape {}, expected [{b}, {s}]",
            mask.shape()
        );
        return Err(invalid("MultiheadAttention", msg));
    }
    Tensor::zeros([b, s], &mask.device())?.masked_fill(mask, f32::NEG_INFINITY)
}

/// softmax(Q Kᵀ / √d + M) V for `[B, h, T, d]` inputs → (output
/// `[B, h, L, d]`, weights `[B, h, L, S]`).
pub(crate) fn scaled_dot_product_attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: Option<&Tensor>,
    dropout: f32,
    ctx: &mut Ctx,
) -> Result<(Tensor, Tensor)> {
    let d = q.dims()[3];

    // Q / √d   (scaled before the product, as PyTorch)
    let q = q.mul_scalar(1.0 / (d as f32).sqrt())?; // [B, h, L, d]

    // Q Kᵀ / √d   (Kᵀ through the GEMM's transpose flag, not a copy)
    let scores = q.matmul_t(k, false, true)?; // [B, h, L, S]

    // A = softmax(Q Kᵀ / √d + M), then dropout in training
    let a = weights(scores, mask, dropout, ctx)?; // [B, h, L, S]

    // A V
    Ok((a.matmul(v)?, a)) // [B, h, L, d]
}

/// The attention weights from the scaled scores `[B, h, L, S]`:
/// softmax(scores + M), then dropout in training.
fn weights(scores: Tensor, mask: Option<&Tensor>, dropout: f32, ctx: &mut Ctx) -> Result<Tensor> {
    // Q Kᵀ / √d + M
    let scores = match mask {
        Some(m) => scores.add(m)?, // [B, h, L, S]
        None => scores,
    };

    // A = softmax(Q Kᵀ / √d + M), then dropout in training
    scores
        .softmax(-1)?
        .dropout(dropout, ctx.train, &mut ctx.rng) // [B, h, L, S]
}

/// [`scaled_dot_product_attention`] on `h` heads lying side by side in the
/// features: q `[B, L, E]`, k and v `[B, S, E]`, mask `[B|1, h|1, L, S]` →
/// (O `[B, L, E]` = `[head_1; …; head_h]`, weights `[B, h, L, S]`). No head
/// is copied out of Q, K, V or into O (`Tensor::head_scores`, `head_mix`).
pub(crate) fn attention_side_by_side(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    heads: usize,
    mask: Option<&Tensor>,
    dropout: f32,
    ctx: &mut Ctx,
) -> Result<(Tensor, Tensor)> {
    let d = q.dims()[2] / heads;

    let scores = q.head_scores(k, heads, 1.0 / (d as f32).sqrt())?; // Q_i K_iᵀ / √d: [B, h, L, S]

    let a = weights(scores, mask, dropout, ctx)?; // [B, h, L, S]

    Ok((a.head_mix(v)?, a)) // [head_1; …; head_h]: [B, L, E]
}
