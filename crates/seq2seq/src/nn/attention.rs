//! Attention for recurrent decoders: Bahdanau's additive score (Bahdanau,
//! Cho & Bengio 2014, "Neural Machine Translation by Jointly Learning to
//! Align and Translate") and Luong's dot, general and concat scores (Luong,
//! Pham & Manning 2015, "Effective Approaches to Attention-based Neural
//! Machine Translation").
//!
//! ```text
//!   score(q, k_s) = vᵀ tanh(W_q q + W_k k_s)      Bahdanau (additive)
//!                 = qᵀ k_s                          Luong dot
//!                 = qᵀ W_a k_s                      Luong general
//!                 = vᵀ tanh(W_a [q; k_s])           Luong concat
//!   α_s = softmax_s(score(q, k_s))                  padded s get α_s = 0
//!   c   = Σ_s α_s k_s                               the context vector
//! ```
//!
//! Shapes: query q `[B, Hq]` (one decoder step) or `[B, Tq, Hq]` (every
//! step at once, e.g. Luong's global attention under teacher forcing);
//! memory k `[B, S, Hk]` (the encoder's outputs, batch-first); mask `[B, S]`
//! with 1 at padded source positions; weights α `[B, S]` or `[B, Tq, S]`;
//! context c `[B, Hk]` or `[B, Tq, Hk]`. B batch, S source length, Tq query
//! steps, Hq query size, Hk key size, A attention size.
//!
//! Conventions: the memory is both keys and values, as in both papers. No
//! biases: the papers have none (parameter names follow Bastings' "Annotated
//! Encoder–Decoder" for Bahdanau: `query_layer`, `key_layer`,
//! `energy_layer`; and `attn`, `v` for Luong, as the PyTorch chatbot
//! tutorial). For Luong general, W_a is applied to the keys (`attn.weight`
//! `[Hq, Hk]`); for concat, `attn.weight` `[A, Hq + Hk]` multiplies [q; k] —
//! computed as W_a,q q + W_a,k k_s without building the `[B, Tq, S, Hq + Hk]`
//! concatenation. The key projections depend only on the source: compute
//! them once per sentence with [`Attention::project_keys`] and reuse them at
//! every decoder step with [`Attention::attend`]. Where each paper feeds q
//! from (Bahdanau: the previous state s_{t-1}; Luong: the current h_t) and
//! what it does with c is the decoder's business, not this layer's.

use super::linear::Linear;
use super::{invalid, Module, Params};
use tensor::{Device, Result, Rng, Tensor};

/// Which score function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Score {
    Bahdanau,
    Dot,
    General,
    Concat,
}

/// An attention layer with its score function's parameters.
#[derive(Clone)]
pub enum Attention {
    /// vᵀ tanh(W_q q + W_k k)
    Bahdanau {
        query_layer: Linear,
        key_layer: Linear,
        energy_layer: Linear,
    },
    /// qᵀ k
    Dot,
    /// qᵀ W_a k
    General { attn: Linear },
    /// vᵀ tanh(W_a [q; k])
    Concat { attn: Linear, v: Linear },
}

/// The memory and what the score needs of it, computed once per source.
pub struct Keys {
    /// k: `[B, S, Hk]`
    pub memory: Tensor,
    /// W_k k (Bahdanau, `[B, S, A]`), W_a k (general, `[B, S, Hq]`),
    /// W_a,k k (concat, `[B, S, A]`); none for dot.
    pub projected: Option<Tensor>,
}

/// What attention returns.
pub struct AttentionOutput {
    /// c: `[B, Hk]` or `[B, Tq, Hk]`
    pub context: Tensor,
    /// α: `[B, S]` or `[B, Tq, S]`
    pub weights: Tensor,
}

impl Attention {
    /// A layer with PyTorch's Linear initialisation. `attn_size` (A) is used
    /// by Bahdanau and concat; dot needs `query_size == key_size`.
    pub fn new(
        score: Score,
        query_size: usize,
        key_size: usize,
        attn_size: usize,
        rng: &mut Rng,
        device: &Device,
    ) -> Result<Attention> {
        let lin = |i, o, rng: &mut Rng| Linear::new(i, o, false, rng, device);
        Ok(match score {
            Score::Bahdanau => Attention::Bahdanau {
                query_layer: lin(query_size, attn_size, rng)?,
                key_layer: lin(key_size, attn_size, rng)?,
                energy_layer: lin(attn_size, 1, rng)?,
            },
            Score::Dot if query_size != key_size => {
                return Err(invalid(
                    "Attention",
                    format!("dot score needs query size {query_size} = key size {key_size}"),
                ))
            }
            Score::Dot => Attention::Dot,
            Score::General => Attention::General {
                attn: lin(key_size, query_size, rng)?,
            },
            Score::Concat => Attention::Concat {
                attn: lin(query_size + key_size, attn_size, rng)?,
                v: lin(attn_size, 1, rng)?,
            },
        })
    }

    pub fn score(&self) -> Score {
        match self {
            Attention::Bahdanau { .. } => Score::Bahdanau,
            Attention::Dot => Score::Dot,
            Attention::General { .. } => Score::General,
            Attention::Concat { .. } => Score::Concat,
        }
    }

    /// `query` `[B, Hq]` or `[B, Tq, Hq]`, `memory` `[B, S, Hk]`, `mask`
    /// `[B, S]` (1 = padding) → context and weights.
    pub fn forward(
        &self,
        query: &Tensor,
        memory: &Tensor,
        mask: Option<&Tensor>,
    ) -> Result<AttentionOutput> {
        self.attend(query, &self.project_keys(memory)?, mask)
    }

    /// The part of the score that depends only on the source.
    pub fn project_keys(&self, memory: &Tensor) -> Result<Keys> {
        if memory.rank() != 3 {
            return Err(invalid(
                "Attention",
                format!("memory has shape {}, expected [B, S, Hk]", memory.shape()),
            ));
        }
        let projected = match self {
            // W_k k_s
            Attention::Bahdanau { key_layer, .. } => Some(key_layer.forward(memory)?), // [B, S, A]

            Attention::Dot => None,

            // W_a k_s
            Attention::General { attn } => Some(attn.forward(memory)?), // [B, S, Hq]

            // W_a,k k_s, with W_a,k the key columns of W_a
            Attention::Concat { attn, .. } => {
                let hk = memory.dims()[2];
                let w_ak = attn.weight.narrow(1, attn.in_features() - hk, hk)?; // [A, Hk]
                Some(memory.matmul_t(&w_ak, false, true)?) // [B, S, A]
            }
        };
        Ok(Keys {
            memory: memory.clone(),
            projected,
        })
    }

    /// Attention of `query` over precomputed keys (see [`Attention::project_keys`]).
    pub fn attend(
        &self,
        query: &Tensor,
        keys: &Keys,
        mask: Option<&Tensor>,
    ) -> Result<AttentionOutput> {
        let one_step = query.rank() == 2;
        let q = if one_step {
            query.unsqueeze(1)?
        } else {
            query.clone()
        }; // [B, Tq, Hq]

        // e_ts = score(q_t, k_s)
        let scores = self.scores(&q, keys)?; // [B, Tq, S]

        // e_ts = -∞ at padded source positions s, so that α_ts = 0
        let scores = match mask {
            Some(m) => scores.masked_fill(&m.unsqueeze(1)?, f32::NEG_INFINITY)?, // [B, Tq, S]
            None => scores,
        };

        // α_ts = softmax_s(e_ts)
        let weights = scores.softmax(-1)?; // [B, Tq, S]

        // c_t = Σ_s α_ts k_s
        let context = weights.matmul(&keys.memory)?; // [B, Tq, Hk]
        Ok(match one_step {
            true => AttentionOutput {
                context: context.squeeze(1)?,
                weights: weights.squeeze(1)?,
            },
            false => AttentionOutput { context, weights },
        })
    }

    /// score(q_t, k_s) for every query step t and source position s.
    fn scores(&self, q: &Tensor, keys: &Keys) -> Result<Tensor> {
        let k = &keys.memory; // [B, S, Hk]
        let wk = || {
            keys.projected
                .as_ref()
                .ok_or_else(|| invalid("Attention", "keys were not projected"))
        };
        match self {
            // vᵀ tanh(W_q q_t + W_k k_s)
            Attention::Bahdanau {
                query_layer,
                energy_layer,
                ..
            } => {
                additive(&query_layer.forward(q)?, wk()?, energy_layer) // [B, Tq, S]
            }

            // q_tᵀ k_s
            Attention::Dot => q.matmul_t(k, false, true), // [B, Tq, S]

            // q_tᵀ (W_a k_s)
            Attention::General { .. } => q.matmul_t(wk()?, false, true), // [B, Tq, S]

            // vᵀ tanh(W_a [q_t; k_s]) = vᵀ tanh(W_a,q q_t + W_a,k k_s)
            Attention::Concat { attn, v } => {
                let w_aq = attn.weight.narrow(1, 0, q.dims()[2])?; // [A, Hq]
                additive(&q.matmul_t(&w_aq, false, true)?, wk()?, v) // [B, Tq, S]
            }
        }
    }
}

/// vᵀ tanh(a_t + b_s) for every pair (t, s): `a` `[B, Tq, A]`, `b` `[B, S, A]`,
/// `v` a `Linear(A → 1)`. One fused op on the host (tensor's
/// `additive_score`: no `[B, Tq, S, A]` tensor is stored).
fn additive(a: &Tensor, b: &Tensor, v: &Linear) -> Result<Tensor> {
    let e = Tensor::additive_score(a, b, &v.weight)?; // [B, Tq, S]
    match &v.bias {
        Some(bias) => e.add(bias), // the layers here have none (see above)
        None => Ok(e),
    }
}

impl Module for Attention {
    fn visit<'a>(&'a mut self, p: &mut Params<'a, '_>) {
        match self {
            Attention::Bahdanau {
                query_layer,
                key_layer,
                energy_layer,
            } => {
                p.module("query_layer", query_layer);
                p.module("key_layer", key_layer);
                p.module("energy_layer", energy_layer);
            }
            Attention::Dot => {}
            Attention::General { attn } => p.module("attn", attn),
            Attention::Concat { attn, v } => {
                p.module("attn", attn);
                p.module("v", v);
            }
        }
    }
}
