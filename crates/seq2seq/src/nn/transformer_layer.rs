//! The Transformer's two layers (Vaswani et al. 2017, "Attention Is All You
//! Need", §3.1 and §3.3), `torch.nn.TransformerEncoderLayer` and
//! `torch.nn.TransformerDecoderLayer`.
//!
//! ```text
//!   FFN(x) = W_2 · dropout(act(W_1 x + b_1)) + b_2                act = ReLU or GELU
//!   post-norm (Vaswani; norm_first = false):
//!     encoder:  x = LN_1(x + SelfAttn(x));   x = LN_2(x + FFN(x))
//!     decoder:  y = LN_1(y + SelfAttn(y));   y = LN_2(y + CrossAttn(y, m));   y = LN_3(y + FFN(y))
//!   pre-norm (Xiong et al. 2020; norm_first = true):
//!     encoder:  x = x + SelfAttn(LN_1(x));   x = x + FFN(LN_2(x))
//!     decoder:  y = y + SelfAttn(LN_1(y));   y = y + CrossAttn(LN_2(y), m);   y = y + FFN(LN_3(y))
//!   every sub-layer's output goes through dropout before the residual sum
//! ```
//!
//! Shapes: source x and memory m `[B, S, E]`, target y `[B, T, E]` with
//! `batch_first` (else `[S, B, E]`, `[T, B, E]`, PyTorch's default); FFN
//! hidden `[·, ·, F]`. B batch, S source length, T target length, E model
//! size (`d_model`), F `dim_feedforward`.
//!
//! Conventions: PyTorch's parameter names (`self_attn.in_proj_weight`,
//! `multihead_attn.out_proj.bias`, `linear1`, `linear2`, `norm1`…`norm3`).
//! Masks are [`Masks`] (see multihead_attention.rs): the target's
//! self-attention usually sets `causal`. Pre-norm keeps an identity path from
//! input to output through every layer, which trains without warm-up (Xiong
//! et al. 2020, "On Layer Normalization in the Transformer Architecture").
//!
//! Incremental decoding ([`TransformerDecoderLayer::step`]): the decoder
//! layer takes one target position at a time and keeps a
//! [`DecoderLayerCache`] — its self-attention's keys and values of every
//! past position, and its cross-attention's keys and values of the memory,
//! computed once in [`TransformerDecoderLayer::start`]. Each step then costs
//! one position's work, and gives what `forward` gives at that position
//! (evaluation mode: no dropout).

use super::multihead_attention::{KeyValue, Masks, MultiheadAttention, Weights};
use super::transformer::{Activation, TransformerConfig};
use super::{Ctx, Dropout, LayerNorm, Linear, Module, Params};
use tensor::{Device, Result, Rng, Tensor};

/// What both layers share: the position-wise feed-forward network, the
/// dropout on every sub-layer, and where the norm sits.
#[derive(Clone)]
pub struct Parts {
    pub linear1: Linear,
    pub linear2: Linear,
    pub dropout: Dropout,
    pub activation: Activation,
    pub norm_first: bool,
}

impl Parts {
    fn new(c: &TransformerConfig, rng: &mut Rng, device: &Device) -> Result<Parts> {
        Ok(Parts {
            linear1: Linear::new(c.d_model, c.dim_feedforward, true, rng, device)?,
            linear2: Linear::new(c.dim_feedforward, c.d_model, true, rng, device)?,
            dropout: Dropout::new(c.dropout),
            activation: c.activation,
            norm_first: c.norm_first,
        })
    }

    /// dropout(FFN(x)), FFN(x) = W_2 · dropout(act(W_1 x + b_1)) + b_2
    fn feed_forward(&self, x: &Tensor, ctx: &mut Ctx) -> Result<Tensor> {
        // W_1 x + b_1
        let a = self.linear1.forward(x)?; // [B, T, F]

        // act(W_1 x + b_1)
        let a = match self.activation {
            Activation::Relu => a.relu()?,
            Activation::Gelu => a.gelu()?,
        }; // [B, T, F]

        // FFN(x) = W_2 · dropout(act(W_1 x + b_1)) + b_2
        let y = self.linear2.forward(&self.dropout.forward(&a, ctx)?)?; // [B, T, E]

        // the sub-layer's own dropout, before the residual sum
        self.dropout.forward(&y, ctx)
    }

    /// One residual sub-layer: x + f(LN(x)) with `norm_first`, else LN(x + f(x)).
    fn residual(
        &self,
        x: &Tensor,
        norm: &LayerNorm,
        f: impl FnOnce(&Tensor) -> Result<Tensor>,
    ) -> Result<Tensor> {
        match self.norm_first {
            // pre-norm: x + f(LN(x))
            true => x.add(&f(&norm.forward(x)?)?),
            // post-norm: LN(x + f(x))
            false => norm.forward(&x.add(&f(x)?)?),
        }
    }

    /// `linear1` and `linear2`, the parameters the two layers share the shape of.
    fn visit<'a>(&'a mut self, p: &mut Params<'a, '_>) {
        p.module("linear1", &mut self.linear1);
        p.module("linear2", &mut self.linear2);
    }
}

pub(crate) fn norm(c: &TransformerConfig, device: &Device) -> Result<LayerNorm> {
    let mut n = LayerNorm::new(c.d_model, device)?;
    n.eps = c.layer_norm_eps;
    Ok(n)
}

fn attention(c: &TransformerConfig, rng: &mut Rng, device: &Device) -> Result<MultiheadAttention> {
    MultiheadAttention::new(
        c.d_model,
        c.nhead,
        c.dropout,
        true,
        c.batch_first,
        rng,
        device,
    )
}

/// `torch.nn.TransformerEncoderLayer`: self-attention, then FFN.
#[derive(Clone)]
pub struct TransformerEncoderLayer {
    pub self_attn: MultiheadAttention,
    pub norm1: LayerNorm,
    pub norm2: LayerNorm,
    /// `linear1`, `linear2`, dropout, activation, norm_first.
    pub parts: Parts,
}

impl TransformerEncoderLayer {
    pub fn new(c: &TransformerConfig, rng: &mut Rng, device: &Device) -> Result<Self> {
        Ok(TransformerEncoderLayer {
            self_attn: attention(c, rng, device)?,
            parts: Parts::new(c, rng, device)?,
            norm1: norm(c, device)?,
            norm2: norm(c, device)?,
        })
    }

    /// `src` `[B, S, E]` → `[B, S, E]`; `mask` for the self-attention.
    pub fn forward(&self, src: &Tensor, mask: &Masks, ctx: &mut Ctx) -> Result<Tensor> {
        let p = &self.parts;
        // x = x + SelfAttn(LN_1(x))   or   x = LN_1(x + SelfAttn(x))
        let x = p.residual(src, &self.norm1, |x| {
            let (a, _) = self.self_attn.forward(x, x, x, mask, Weights::None, ctx)?;
            p.dropout.forward(&a, ctx)
        })?; // [B, S, E]

        // x = x + FFN(LN_2(x))   or   x = LN_2(x + FFN(x))
        p.residual(&x, &self.norm2, |x| p.feed_forward(x, ctx)) // [B, S, E]
    }
}

impl Module for TransformerEncoderLayer {
    fn visit<'a>(&'a mut self, p: &mut Params<'a, '_>) {
        p.module("self_attn", &mut self.self_attn);
        self.parts.visit(p);
        p.module("norm1", &mut self.norm1);
        p.module("norm2", &mut self.norm2);
    }
}

/// `torch.nn.TransformerDecoderLayer`: masked self-attention, attention over
/// the memory, then FFN.
#[derive(Clone)]
pub struct TransformerDecoderLayer {
    pub self_attn: MultiheadAttention,
    pub multihead_attn: MultiheadAttention,
    pub norm1: LayerNorm,
    pub norm2: LayerNorm,
    pub norm3: LayerNorm,
    /// `linear1`, `linear2`, dropout, activation, norm_first.
    pub parts: Parts,
}

impl TransformerDecoderLayer {
    pub fn new(c: &TransformerConfig, rng: &mut Rng, device: &Device) -> Result<Self> {
        Ok(TransformerDecoderLayer {
            self_attn: attention(c, rng, device)?,
            multihead_attn: attention(c, rng, device)?,
            parts: Parts::new(c, rng, device)?,
            norm1: norm(c, device)?,
            norm2: norm(c, device)?,
            norm3: norm(c, device)?,
        })
    }

    /// `tgt` `[B, T, E]`, `memory` `[B, S, E]` → `[B, T, E]`.
    pub fn forward(
        &self,
        tgt: &Tensor,
        memory: &Tensor,
        tgt_mask: &Masks,
        memory_mask: &Masks,
        ctx: &mut Ctx,
    ) -> Result<Tensor> {
        let p = &self.parts;
        // y = y + SelfAttn(LN_1(y))   or   y = LN_1(y + SelfAttn(y))
        let y = p.residual(tgt, &self.norm1, |y| {
            let (a, _) = self
                .self_attn
                .forward(y, y, y, tgt_mask, Weights::None, ctx)?;
            p.dropout.forward(&a, ctx)
        })?; // [B, T, E]

        // y = y + CrossAttn(LN_2(y), m)   or   y = LN_2(y + CrossAttn(y, m))
        let y = p.residual(&y, &self.norm2, |y| {
            let (a, _) =
                self.multihead_attn
                    .forward(y, memory, memory, memory_mask, Weights::None, ctx)?;
            p.dropout.forward(&a, ctx)
        })?; // [B, T, E]

        // y = y + FFN(LN_3(y))   or   y = LN_3(y + FFN(y))
        p.residual(&y, &self.norm3, |y| p.feed_forward(y, ctx)) // [B, T, E]
    }
}

/// What one decoder layer keeps between decoding steps (batch-first).
#[derive(Clone)]
pub struct DecoderLayerCache {
    /// Self-attention keys and values of the positions so far,
    /// `[B, h, t, d]` (`None` before the first step).
    pub self_attn: Option<KeyValue>,
    /// The rows of `self_attn` the next step continues, `[B']` (ids as
    /// f32; `None`: every row, in order). Beam search reorders the cache
    /// after every step; picking the rows when the next position is
    /// appended copies the cache once per step instead of twice.
    pub rows: Option<Tensor>,
    /// Cross-attention keys and values of the memory, `[B, h, S, d]`.
    pub memory: KeyValue,
}

impl DecoderLayerCache {
    /// The cache continued by rows `rows` `[B']` of this one (ids as f32),
    /// with the memory `memory` for them. The self-attention's rows are
    /// picked when the next position is appended.
    pub fn reorder(&self, rows: &Tensor, memory: KeyValue) -> Result<DecoderLayerCache> {
        let rows = match &self.rows {
            Some(earlier) => earlier.index_select(0, rows)?,
            None => rows.clone(),
        };
        Ok(DecoderLayerCache {
            self_attn: self.self_attn.clone(),
            rows: Some(rows),
            memory,
        })
    }

    /// Rows `rows` `[B']` (ids as f32) of every tensor, in that order.
    pub fn select(&self, rows: &Tensor) -> Result<DecoderLayerCache> {
        self.reorder(rows, self.memory.select(rows)?)
    }
}

impl TransformerDecoderLayer {
    /// The cache before the first step: the memory's keys and values.
    /// `memory` `[B, S, E]`, batch-first.
    pub fn start(&self, memory: &Tensor) -> Result<DecoderLayerCache> {
        Ok(DecoderLayerCache {
            self_attn: None,
            rows: None,
            memory: self.multihead_attn.project_key_value(memory)?,
        })
    }

    /// One target position `y` `[B, 1, E]` (batch-first) → (output
    /// `[B, 1, E]`, cross-attention weights `[B, h, 1, S]` per head when
    /// `weights`, the cache with this position added). `memory_padding`
    /// `[B, S]`: 1 at padded source positions.
    pub fn step(
        &self,
        y: &Tensor,
        cache: &DecoderLayerCache,
        memory_padding: Option<&Tensor>,
        weights: bool,
        ctx: &mut Ctx,
    ) -> Result<(Tensor, Option<Tensor>, DecoderLayerCache)> {
        let p = &self.parts;
        // y = y + SelfAttn(LN_1(y))   or   y = LN_1(y + SelfAttn(y)),
        // attending to the cached positions and this one
        let mut self_kv = None;
        let y = p.residual(y, &self.norm1, |y| {
            let past = cache.self_attn.as_ref().map(|kv| (kv, cache.rows.as_ref()));
            let (a, kv) = self.self_attn.step_self(y, past, ctx)?;
            self_kv = Some(kv);
            p.dropout.forward(&a, ctx)
        })?; // [B, 1, E]

        // y = y + CrossAttn(LN_2(y), m)   or   y = LN_2(y + CrossAttn(y, m))
        let need = match weights {
            true => Weights::PerHead,
            false => Weights::None,
        };
        let mut maps = None;
        let y = p.residual(&y, &self.norm2, |y| {
            let (a, w) =
                self.multihead_attn
                    .step_cross(y, &cache.memory, memory_padding, need, ctx)?;
            maps = w;
            p.dropout.forward(&a, ctx)
        })?; // [B, 1, E]

        // y = y + FFN(LN_3(y))   or   y = LN_3(y + FFN(y))
        let y = p.residual(&y, &self.norm3, |y| p.feed_forward(y, ctx))?; // [B, 1, E]
        let cache = DecoderLayerCache {
            self_attn: self_kv,
            rows: None,
            memory: cache.memory.clone(),
        };
        Ok((y, maps, cache))
    }
}

impl Module for TransformerDecoderLayer {
    fn visit<'a>(&'a mut self, p: &mut Params<'a, '_>) {
        p.module("self_attn", &mut self.self_attn);
        p.module("multihead_attn", &mut self.multihead_attn);
        self.parts.visit(p);
        p.module("norm1", &mut self.norm1);
        p.module("norm2", &mut self.norm2);
        p.module("norm3", &mut self.norm3);
    }
}
