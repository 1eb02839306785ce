//! Multi-head scaled dot-product attention (Vaswani et al. 2017, "Attention
//! Is All You Need", §3.2), `torch.nn.MultiheadAttention`.
//!
//! ```text
//!   Q = X_q W_Qᵀ + b_Q,   K = X_k W_Kᵀ + b_K,   V = X_v W_Vᵀ + b_V
//!   head_i = softmax(Q_i K_iᵀ / √d + M) V_i        i = 1 … h,  d = E / h
//!   out    = [head_1; …; head_h] W_Oᵀ + b_O
//! ```
//!
//! Shapes (batch-first; `[L, B, E]` and `[S, B, E]` when `batch_first` is
//! off, PyTorch's default): query X_q `[B, L, E]`, key X_k and value X_v
//! `[B, S, E]`, Q_i `[B, L, d]`, K_i and V_i `[B, S, d]`, out `[B, L, E]`;
//! weights `[B, L, S]` averaged over heads or `[B, h, L, S]` per head. B
//! batch, L target length, S source length, E embedding size, h heads.
//!
//! Masks, as PyTorch: the additive mask M is the sum of
//! - `attn_mask` `[L, S]` or `[B·h, L, S]`, *added* to the scores (a float
//!   mask: 0 keeps, -∞ removes, anything else biases),
//! - `key_padding_mask` `[B, S]`, *boolean* as 0/1 floats: 1 marks a padded
//!   key, which every query ignores (-∞),
//! - `causal`: position l sees keys s ≤ l only — the same as passing
//!   [`causal_mask`] as `attn_mask`.
//!
//! A row with every key removed gives NaN, as PyTorch. Conventions: W_Q, W_K,
//! W_V are stacked in `in_proj_weight` `[3E, E]` and `in_proj_bias` `[3E]`;
//! self-attention (query, key and value the same tensor) projects all three
//! with one GEMM. `out_proj.weight`, `out_proj.bias` hold W_O, b_O.
//!
//! Three routes, one meaning. Whole sequences whose weights are not needed
//! (no weights, no `attn_mask`, causal only when L = S) go through the
//! engine's `Tensor::head_attention`: the heads stay side by side in the E
//! features, and on the GPU one fused kernel does scores, softmax, dropout
//! and mix without storing the L × S weights. When the weights are wanted,
//! [`attention_side_by_side`] spells the same thing out (`head_scores`,
//! softmax, dropout, `head_mix`, 1/√d applied in the product). Cached
//! decoding steps split the heads and use `Tensor::attention` (or
//! [`scaled_dot_product_attention`], which scales Q by 1/√d before the
//! product, as PyTorch, when the weights are asked). Dropout acts on the
//! attention weights in training; returned weights are after dropout, as
//! PyTorch.
//! Initialisation as PyTorch: xavier_uniform for `in_proj_weight`, zero
//! biases, U(±1/√E) for `out_proj.weight`.

use super::linear::{linear, Linear};
pub use super::scaled_dot_product::causal_mask;
use super::scaled_dot_product::{
    attention_side_by_side, padding_bias, scaled_dot_product_attention,
};
use super::{invalid, Ctx, Module, Params};
use tensor::{init, Device, HeadAttention, QuantizedWeight, Result, Rng, Tensor};

/// Which attention weights to return.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Weights {
    /// None (PyTorch's `need_weights=False`).
    #[default]
    None,
    /// Averaged over heads, `[B, L, S]` (`average_attn_weights=True`).
    Averaged,
    /// One map per head, `[B, h, L, S]`.
    PerHead,
}

/// The masks of one attention call (see the header for their meaning).
#[derive(Clone, Copy, Debug, Default)]
pub struct Masks<'a> {
    /// Added to the scores: `[L, S]` or `[B·h, L, S]`.
    pub attn_mask: Option<&'a Tensor>,
    /// 1 at padded keys: `[B, S]`.
    pub key_padding_mask: Option<&'a Tensor>,
    /// Query l attends to keys s ≤ l only.
    pub causal: bool,
}

/// Multi-head attention with PyTorch's parameters and semantics.
#[derive(Clone)]
pub struct MultiheadAttention {
    /// [W_Q; W_K; W_V] `[3E, E]`
    pub in_proj_weight: Tensor,
    /// [b_Q; b_K; b_V] `[3E]`
    pub in_proj_bias: Option<Tensor>,
    /// W_O `[E, E]`, b_O `[E]`
    pub out_proj: Linear,
    pub num_heads: usize,
    /// Dropout on the attention weights (training only).
    pub dropout: f32,
    /// Inputs and outputs are `[B, T, E]` rather than `[T, B, E]`.
    pub batch_first: bool,
    /// Int8 copies of the input projections, once quantized for inference.
    pub in_proj_int8: Option<InProjInt8>,
}

/// `in_proj_weight` quantized to int8 (per output row): whole, for
/// self-attention's one product, and as its Q, K and V rows, for the
/// products that take one of them. Rows are quantized independently, so
/// the parts hold the very values of the whole.
#[derive(Clone)]
pub struct InProjInt8 {
    pub qkv: QuantizedWeight,
    pub parts: [QuantizedWeight; 3],
}

impl MultiheadAttention {
    pub fn new(
        embed_dim: usize,
        num_heads: usize,
        dropout: f32,
        bias: bool,
        batch_first: bool,
        rng: &mut Rng,
        device: &Device,
    ) -> Result<Self> {
        if num_heads == 0 || !embed_dim.is_multiple_of(num_heads) {
            return Err(invalid(
                "MultiheadAttention",
                format!("embed_dim {embed_dim} is not divisible by num_heads {num_heads}"),
            ));
        }
        let e = embed_dim;
        let mut out_proj = Linear::new(e, e, bias, rng, device)?;
        out_proj.bias = bias
            .then(|| Tensor::zeros([e], device).map(Tensor::requires_grad_))
            .transpose()?;
        Ok(MultiheadAttention {
            in_proj_weight: init::xavier_uniform([3 * e, e], 1.0, rng, device)?,
            in_proj_bias: bias
                .then(|| Tensor::zeros([3 * e], device).map(Tensor::requires_grad_))
                .transpose()?,
            out_proj,
            num_heads,
            dropout,
            batch_first,
            in_proj_int8: None,
        })
    }

    pub fn embed_dim(&self) -> usize {
        self.in_proj_weight.dims()[1]
    }

    /// Attention of `query` over `key`/`value` → (output, weights if asked).
    pub fn forward(
        &self,
        query: &Tensor,
        key: &Tensor,
        value: &Tensor,
        masks: &Masks,
        need_weights: Weights,
        ctx: &mut Ctx,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let (e, h) = (self.embed_dim(), self.num_heads);
        for x in [query, key, value] {
            if x.rank() != 3 || x.dims()[2] != e {
                return Err(invalid(
                    "MultiheadAttention",
                    format!("input of shape {} is not [·, ·, {e}]", x.shape()),
                ));
            }
        }
        let bf = |x: &Tensor| match self.batch_first {
            true => Ok(x.clone()),
            false => x.transpose(0, 1),
        };
        let same = query.id() == key.id() && key.id() == value.id();

        // Q = X_q W_Qᵀ + b_Q,   K = X_k W_Kᵀ + b_K,   V = X_v W_Vᵀ + b_V
        let (q, k, v) = self.project(&bf(query)?, &bf(key)?, &bf(value)?, same)?; // [B, L|S, E]
        let (b, l, s) = (q.dims()[0], q.dims()[1], k.dims()[1]);

        // Q_i, K_i, V_i: the i-th slice of d = E/h features
        // head_i = softmax(Q_i K_iᵀ / √d + M) V_i
        // [head_1; …; head_h]                                  [B, L, E]
        let (concat, weights) = if self.fused(masks, need_weights, l, s) {
            // Only the output needed: the engine's op, heads side by side,
            // dropout drawn inside (fused on the GPU).
            let bias = masks
                .key_padding_mask
                .map(|p| padding_bias(p, b, s))
                .transpose()?; // [B, S]
            let spec = HeadAttention {
                heads: h,
                scale: 1.0 / ((e / h) as f32).sqrt(),
                causal: masks.causal,
                key_bias: bias.as_ref(),
            };
            let dropout = (ctx.train && self.dropout > 0.0).then_some((self.dropout, &mut ctx.rng));
            (q.head_attention(&k, &v, &spec, dropout)?, None) // [B, L, E]
        } else {
            // The weights (or an attn_mask) wanted: spelled out, heads side by side.
            let mask = self.additive_mask(masks, b, l, s, &q.device())?; // [B|1, h|1, L, S]
            let (concat, weights) =
                attention_side_by_side(&q, &k, &v, h, mask.as_ref(), self.dropout, ctx)?;
            (concat, Some(weights))
        };

        // out = [head_1; …; head_h] W_Oᵀ + b_O
        let out = self.out_proj.forward(&concat)?; // [B, L, E]
        let out = if self.batch_first {
            out
        } else {
            out.transpose(0, 1)?
        };
        let weights = match (need_weights, weights) {
            (Weights::Averaged, Some(w)) => Some(w.mean(&[1], false)?), // [B, L, S]
            (Weights::PerHead, Some(w)) => Some(w),                     // [B, h, L, S]
            _ => None,
        };
        Ok((out, weights))
    }

    /// Every head at once, `[B, h, L|S, d]` in → (`[B, h, L, d]`, weights
    /// `[B, h, L, S]` if asked). When only the output is needed — no
    /// weights, no `attn_mask`, no active dropout, causal only when L = S —
    /// this is the engine's attention op, fused where the device has a
    /// kernel; otherwise [`scaled_dot_product_attention`] spells it out.
    fn heads(
        &self,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        masks: &Masks,
        need_weights: Weights,
        ctx: &mut Ctx,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let (b, l, s, d) = (q.dims()[0], q.dims()[2], k.dims()[2], q.dims()[3]);
        let dropout_active = ctx.train && self.dropout > 0.0;
        if self.fused(masks, need_weights, l, s) && !dropout_active {
            let bias = masks
                .key_padding_mask
                .map(|p| padding_bias(p, b, s))
                .transpose()?; // [B, S]
            let scale = 1.0 / (d as f32).sqrt();
            return Ok((
                Tensor::attention(q, k, v, bias.as_ref(), masks.causal, scale)?,
                None,
            ));
        }
        let mask = self.additive_mask(masks, b, l, s, &q.device())?; // M: [B|1, h|1, L, S]
        let (heads, weights) =
            scaled_dot_product_attention(q, k, v, mask.as_ref(), self.dropout, ctx)?;
        Ok((heads, Some(weights)))
    }

    /// Whether the heads go through the engine's attention ops (only the
    /// output needed: no weights, no `attn_mask`, causal only when L = S).
    fn fused(&self, masks: &Masks, need_weights: Weights, l: usize, s: usize) -> bool {
        need_weights == Weights::None && masks.attn_mask.is_none() && (!masks.causal || l == s)
    }

    /// Q, K, V (batch-first): one GEMM for self-attention, else one per input
    /// with the matching rows of `in_proj_weight`.
    fn project(
        &self,
        query: &Tensor,
        key: &Tensor,
        value: &Tensor,
        same: bool,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        if same {
            // [Q; K; V] = X [W_Q; W_K; W_V]ᵀ + [b_Q; b_K; b_V]
            let bias = self.in_proj_bias.as_ref();
            let qkv = match &self.in_proj_int8 {
                Some(q) => query.linear_int8(&q.qkv, bias)?,
                None => linear(query, &self.in_proj_weight, bias)?,
            }
            .chunk(3, -1)?; // 3 × [B, L, E]
            return Ok((qkv[0].clone(), qkv[1].clone(), qkv[2].clone()));
        }
        // Q = X_q W_Qᵀ + b_Q
        let q = self.project_one(query, 0)?; // [B, L, E]

        // K = X_k W_Kᵀ + b_K
        let k = self.project_one(key, 1)?; // [B, S, E]

        // V = X_v W_Vᵀ + b_V
        let v = self.project_one(value, 2)?; // [B, S, E]
        Ok((q, k, v))
    }

    /// `x W_iᵀ + b_i` for projection `i` (0: Q, 1: K, 2: V), through the
    /// int8 copy once quantized.
    fn project_one(&self, x: &Tensor, i: usize) -> Result<Tensor> {
        match &self.in_proj_int8 {
            Some(q) => {
                let e = self.embed_dim();
                let b = self
                    .in_proj_bias
                    .as_ref()
                    .map(|b| b.narrow(0, i * e, e))
                    .transpose()?;
                x.linear_int8(&q.parts[i], b.as_ref())
            }
            None => {
                let (w, b) = self.in_proj_rows(i)?;
                linear(x, &w, b.as_ref())
            }
        }
    }

    /// From now on the projections multiply by int8 copies of their
    /// weights (inference only, on the host).
    pub fn quantize_int8(&mut self) -> Result<()> {
        let parts = [0, 1, 2].map(|i| {
            self.in_proj_rows(i)
                .and_then(|(w, _)| QuantizedWeight::quantize(&w))
        });
        let [q, k, v] = parts;
        self.in_proj_int8 = Some(InProjInt8 {
            qkv: QuantizedWeight::quantize(&self.in_proj_weight)?,
            parts: [q?, k?, v?],
        });
        self.out_proj.quantize_int8()
    }

    /// W and b of projection `i` (0: Q, 1: K, 2: V): rows `i·E..(i+1)·E`
    /// of `in_proj_weight` and `in_proj_bias`.
    fn in_proj_rows(&self, i: usize) -> Result<(Tensor, Option<Tensor>)> {
        let e = self.embed_dim();
        Ok((
            self.in_proj_weight.narrow(0, i * e, e)?,
            self.in_proj_bias
                .as_ref()
                .map(|b| b.narrow(0, i * e, e))
                .transpose()?,
        ))
    }

    /// M = attn_mask + causal + key padding, as one additive `[B, h|1, L, S]` tensor.
    fn additive_mask(
        &self,
        masks: &Masks,
        b: usize,
        l: usize,
        s: usize,
        device: &Device,
    ) -> Result<Option<Tensor>> {
        let h = self.num_heads;
        let mut m: Option<Tensor> = None;
        let mut add = |t: Tensor| -> Result<()> {
            m = Some(match m.take() {
                Some(prev) => prev.add(&t)?,
                None => t,
            });
            Ok(())
        };
        if let Some(a) = masks.attn_mask {
            match a.dims() {
                [l2, s2] if (*l2, *s2) == (l, s) => add(a.reshape([1, 1, l, s])?)?,
                [n, l2, s2] if (*n, *l2, *s2) == (b * h, l, s) => add(a.reshape([b, h, l, s])?)?,
                _ => {
                    return Err(invalid(
                        "MultiheadAttention",
                        format!(
                            "attn_mask has shape {}, expected [{l}, {s}] or [{}, {l}, {s}]",
                            a.shape(),
                            b * h
                        ),
                    ))
                }
            }
        }
        if masks.causal {
            add(causal_mask(l, s, device)?.reshape([1, 1, l, s])?)?;
        }
        if let Some(p) = masks.key_padding_mask {
            add(padding_bias(p, b, s)?.reshape([b, 1, 1, s])?)?;
        }
        Ok(m)
    }
}

/// Keys and values of one attention, already projected and split into
/// heads: `[B, h, T, d]` each. Incremental decoding keeps them so that no
/// past position is projected twice.
#[derive(Clone)]
pub struct KeyValue {
    pub keys: Tensor,
    pub values: Tensor,
}

impl KeyValue {
    /// Rows `rows` `[B']` (ids as f32) of both, in that order (beam search).
    pub fn select(&self, rows: &Tensor) -> Result<KeyValue> {
        Ok(KeyValue {
            keys: self.keys.index_select(0, rows)?,
            values: self.values.index_select(0, rows)?,
        })
    }

    /// Positions held, T.
    pub fn len(&self) -> usize {
        self.keys.dims()[2]
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Incremental decoding: one query position at a time, inputs and outputs
/// batch-first `[B, 1, E]` whatever `batch_first` says.
///
/// ```text
///   self-attention at step t:   K_≤t = [K_<t; x_t W_Kᵀ + b_K],  V_≤t likewise
///                               out_t = MultiHead(x_t W_Qᵀ + b_Q, K_≤t, V_≤t)
///   cross-attention:            K = m W_Kᵀ + b_K, V = m W_Vᵀ + b_V once per source
/// ```
///
/// Query t sees keys ≤ t only by construction (the future is not in the
/// cache yet), which is what the causal mask does in [`forward`](MultiheadAttention::forward).
impl MultiheadAttention {
    /// K and V of `memory` `[B, S, E]`, computed once for all steps.
    pub fn project_key_value(&self, memory: &Tensor) -> Result<KeyValue> {
        let h = self.num_heads;
        Ok(KeyValue {
            keys: split_heads(&self.project_one(memory, 1)?, h)?, // [B, h, S, d]
            values: split_heads(&self.project_one(memory, 2)?, h)?, // [B, h, S, d]
        })
    }

    /// Self-attention of the new position `x` `[B, 1, E]` over the cached
    /// past (`None` at the first step) and itself → (output `[B, 1, E]`,
    /// the cache with this position appended). The past comes with the
    /// rows `[B]` of it that these B positions continue (`None`: row i
    /// continues row i): beam search's reorder, done as the cache grows.
    pub fn step_self(
        &self,
        x: &Tensor,
        past: Option<(&KeyValue, Option<&Tensor>)>,
        ctx: &mut Ctx,
    ) -> Result<(Tensor, KeyValue)> {
        let h = self.num_heads;
        // [q; k; v] = x [W_Q; W_K; W_V]ᵀ + [b_Q; b_K; b_V]
        let (q, k, v) = self.project(x, x, x, true)?; // [B, 1, E]
        let (q, k, v) = (
            split_heads(&q, h)?,
            split_heads(&k, h)?,
            split_heads(&v, h)?,
        ); // [B, h, 1, d]
        let cache = match past {
            Some((p, rows)) => KeyValue {
                keys: p.keys.select_cat(rows, &k, 2)?,     // [B, h, t+1, d]
                values: p.values.select_cat(rows, &v, 2)?, // [B, h, t+1, d]
            },
            None => KeyValue { keys: k, values: v },
        };
        let (heads, _) = self.heads(
            &q,
            &cache.keys,
            &cache.values,
            &Masks::default(),
            Weights::None,
            ctx,
        )?; // [B, h, 1, d]
        Ok((self.merge_heads(&heads)?, cache))
    }

    /// Attention of the new position `x` `[R, 1, E]` over precomputed keys
    /// and values (of the memory) `[B, h, S, d]`, `key_padding_mask`
    /// `[B, S]` → (output `[R, 1, E]`, weights `[R, h, 1, S]` if asked; per
    /// head even when `Averaged` is asked).
    ///
    /// R = B: row r attends to memory row r. R = g · B (beam search with g
    /// beams per sentence): rows r·g … r·g + g - 1 share memory row r, and
    /// go through the attention as g queries of one problem, so the memory
    /// is never copied once per beam.
    pub fn step_cross(
        &self,
        x: &Tensor,
        memory: &KeyValue,
        key_padding_mask: Option<&Tensor>,
        need_weights: Weights,
        ctx: &mut Ctx,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let (rows, sources) = (x.dims()[0], memory.keys.dims()[0]);
        if sources == 0 || !rows.is_multiple_of(sources) {
            return Err(invalid(
                "MultiheadAttention::step_cross",
                format!("{rows} query rows cannot share {sources} memory rows evenly"),
            ));
        }
        let (g, e, h) = (rows / sources, self.embed_dim(), self.num_heads);
        // q = x W_Qᵀ + b_Q, a sentence's g rows as its g queries
        let q = self.project_one(x, 0)?.reshape([sources, g, e])?;
        let q = split_heads(&q, h)?; // [B, h, g, d]
        let masks = Masks {
            key_padding_mask,
            ..Default::default()
        };
        // The output always comes from the same kernel (the fused one where
        // the device has it), so that asking for the weights (a heatmap,
        // unknown-word replacement) cannot change a translation; the weights
        // are then computed beside it.
        let (k, v) = (&memory.keys, &memory.values);
        let (heads, _) = self.heads(&q, k, v, &masks, Weights::None, ctx)?;
        let w = match need_weights {
            Weights::None => None,
            _ => self.heads(&q, k, v, &masks, Weights::PerHead, ctx)?.1,
        };
        let out = self.merge_heads(&heads)?.reshape([rows, 1, e])?; // [R, 1, E]
        let s = memory.keys.dims()[2];
        let w = w
            .map(|w| w.permute(&[0, 2, 1, 3])?.reshape([rows, h, 1, s])) // [R, h, 1, S]
            .transpose()?;
        Ok((out, w))
    }

    /// [head_1; …; head_h] W_Oᵀ + b_O: `[B, h, L, d]` → `[B, L, E]`.
    fn merge_heads(&self, heads: &Tensor) -> Result<Tensor> {
        let (b, l) = (heads.dims()[0], heads.dims()[2]);
        let concat = heads
            .permute(&[0, 2, 1, 3])?
            .reshape([b, l, self.embed_dim()])?;
        self.out_proj.forward(&concat)
    }
}

/// `[B, T, E]` → `[B, h, T, d]`.
fn split_heads(x: &Tensor, h: usize) -> Result<Tensor> {
    let (b, t, e) = (x.dims()[0], x.dims()[1], x.dims()[2]);
    x.reshape([b, t, h, e / h])?.permute(&[0, 2, 1, 3])
}

impl Module for MultiheadAttention {
    fn visit<'a>(&'a mut self, p: &mut Params<'a, '_>) {
        p.tensor("in_proj_weight", &mut self.in_proj_weight);
        p.optional("in_proj_bias", &mut self.in_proj_bias);
        p.module("out_proj", &mut self.out_proj);
    }
}
