//! An RNN encoder–decoder with attention: Bahdanau, Cho & Bengio 2014 and
//! Luong, Pham & Manning 2015. The encoder (GRU or LSTM, optionally
//! bidirectional) keeps every position's output as the memory; at each
//! step the decoder attends to it (nn/attention.rs) instead of squeezing
//! the source into one vector.
//!
//! ```text
//!   h_1 … h_S = Encoder(E_src x)                      memory, [B, S, D·H]
//!   s_0 = tanh(W_bridge [h→_S; h←_1])                 per layer, from its final states
//!   Bahdanau:  c_t = Attn(s_{t-1}, h);  s_t = Dec([E y_{t-1}; c_t], s_{t-1})
//!              o_t = W_pre [E y_{t-1}; s_t; c_t]
//!   Luong:     s_t = Dec([E y_{t-1}; h̃_{t-1}], s_{t-1})   (input feeding)
//!              c_t = Attn(s_t, h);  h̃_t = tanh(W_c [c_t; s_t]);  o_t = h̃_t
//!   p(y_t | y_<t, x) = softmax(W_out o_t + b_out)
//! ```
//!
//! The decoder step is in attn_decoder.rs. Speed: the keys' projections
//! (W_k h_s) are computed once per batch; Luong without input feeding under
//! teacher forcing runs the decoder as one sequence and attends for every
//! step in one batched product.
//!
//! Parameter names: `src_embed`, `tgt_embed`, `encoder.*`, `bridge`,
//! `attention.*` (nn/attention.rs names), `decoder.*`, `pre_output`
//! (Bahdanau, as Bastings' annotated encoder–decoder) or `concat` (Luong's
//! W_c, as the PyTorch chatbot tutorial), `generator`.

use super::attn_decoder::{AttnState, DecoderState};
use super::config::{AttnConfig, ScoreKind};
use super::recurrent::{Recurrent, RnnState};
use super::{Seq2Seq, Source, Step, Target};
use crate::data::Vocab;
use crate::nn::{Attention, Ctx, Dropout, Embedding, Linear, Module, Params, RnnConfig, Score};
use tensor::{Device, Result, Rng, Tensor};

/// The attention encoder–decoder.
#[derive(Clone)]
pub struct AttnSeq2Seq {
    pub config: AttnConfig,
    pub src_embed: Embedding,
    pub tgt_embed: Embedding,
    pub encoder: Recurrent,
    /// D·H → D·H: the decoder's initial state from the encoder's final one.
    pub bridge: Linear,
    pub attention: Attention,
    pub decoder: Recurrent,
    /// Bahdanau: `[E + Hd + Hk] → Hd`; Luong: W_c `[Hk + Hd] → Hd`. No bias.
    pub combine: Linear,
    /// Hd → V
    pub generator: Linear,
    pub(super) dropout: Dropout,
}

impl AttnSeq2Seq {
    pub fn new(config: AttnConfig, rng: &mut Rng, device: &Device) -> Result<Self> {
        let c = &config;
        let d = if c.bidirectional { 2 } else { 1 };
        let (e, hk) = (c.embed_size, d * c.hidden_size);
        let hd = hk; // the decoder is as wide as the memory
        let pad = Some(Vocab::PAD as usize);
        let enc_cfg = RnnConfig::new(e, c.hidden_size)
            .num_layers(c.num_layers)
            .bidirectional(c.bidirectional)
            .dropout(c.dropout);
        let dec_input = match c.score {
            ScoreKind::Bahdanau => e + hk,
            _ if c.input_feeding => e + hd,
            _ => e,
        };
        let dec_cfg = RnnConfig::new(dec_input, hd)
            .num_layers(c.num_layers)
            .dropout(c.dropout);
        let score = match c.score {
            ScoreKind::Bahdanau => Score::Bahdanau,
            ScoreKind::Dot => Score::Dot,
            ScoreKind::General => Score::General,
            ScoreKind::Concat => Score::Concat,
        };
        let combine_in = match c.score {
            ScoreKind::Bahdanau => e + hd + hk,
            _ => hk + hd,
        };
        Ok(AttnSeq2Seq {
            src_embed: Embedding::new(c.src_vocab, e, pad, rng, device)?,
            tgt_embed: Embedding::new(c.tgt_vocab, e, pad, rng, device)?,
            encoder: Recurrent::new(c.cell, enc_cfg, rng, device)?,
            bridge: Linear::new(hk, hd, true, rng, device)?,
            attention: Attention::new(score, hd, hk, c.attn_size, rng, device)?,
            decoder: Recurrent::new(c.cell, dec_cfg, rng, device)?,
            combine: Linear::new(combine_in, hd, false, rng, device)?,
            generator: Linear::new(hd, c.tgt_vocab, true, rng, device)?,
            dropout: Dropout::new(c.dropout),
            config,
        })
    }

    /// Encodes the source: the attention keys, the padding mask and the
    /// decoder's initial state.
    pub(super) fn encode(&self, src: &Source, ctx: &mut Ctx) -> Result<AttnState> {
        let x = self.src_embed.forward(&src.ids.transpose(0, 1)?)?; // [S, B, E]
        let x = self.dropout.forward(&x, ctx)?;
        let (out, last) = self.encoder.forward(&x, None, Some(&src.lens), ctx)?; // [S, B, D·H]
        let keys = self.attention.project_keys(&out.transpose(0, 1)?)?; // memory [B, S, D·H]
        let d = if self.config.bidirectional { 2 } else { 1 };
        // one entry per layer: [h→; h←] of that layer
        let join = |states: &[Tensor]| -> Result<Vec<Tensor>> {
            states.chunks(d).map(|dirs| Tensor::cat(dirs, -1)).collect()
        };
        let h = join(&last.h)?
            .iter()
            .map(|h| self.bridge.forward(h)?.tanh()) // s_0 = tanh(W_bridge [h→; h←])
            .collect::<Result<Vec<_>>>()?; // L × [B, Hd]
        let c = last.c.as_deref().map(join).transpose()?;
        let feed = match self.config.input_feeding && self.config.score.is_luong() {
            true => Some(h[0].zeros_like()?), // h̃_0 = 0
            false => None,
        };
        Ok(AttnState {
            keys,
            mask: src.pad_mask.clone(),
            dec: DecoderState {
                rnn: RnnState { h, c },
                feed,
            },
        })
    }

    /// Logits of decoder features `[.., Hd]` → `[.., V]`.
    pub(super) fn generate(&self, o: &Tensor, ctx: &mut Ctx) -> Result<Tensor> {
        self.generator.forward(&self.dropout.forward(o, ctx)?)
    }
}

impl Seq2Seq for AttnSeq2Seq {
    type State = AttnState;

    fn forward(&self, src: &Source, target: &Target, ctx: &mut Ctx) -> Result<Tensor> {
        let state = self.encode(src, ctx)?;
        let y = self.tgt_embed.forward(&target.input)?; // [B, T, E]
        let y = self.dropout.forward(&y, ctx)?;
        let forced = !ctx.train || self.config.teacher_forcing >= 1.0;
        if forced && self.config.score.is_luong() && !self.config.input_feeding {
            let o = self.luong_all_steps(&y, &state, ctx)?; // [B, T, Hd]
            return self.generate(&o, ctx);
        }
        let (features, _) = self.unroll(&y, state, ctx)?; // [B, T, Hd]
        self.generate(&features, ctx) // [B, T, V]
    }

    fn start(&self, src: &Source) -> Result<AttnState> {
        self.encode(src, &mut Ctx::eval())
    }

    fn step(&self, state: &AttnState, prev: &Tensor) -> Result<Step<AttnState>> {
        let ctx = &mut Ctx::eval();
        let y = self.tgt_embed.forward(prev)?; // [B, E]
        let (o, weights, dec) = self.decode_step(&y, state, ctx)?;
        Ok(Step {
            logits: self.generator.forward(&o)?, // [B, V]
            attention: vec![("attention".to_string(), weights)],
            state: AttnState {
                keys: state.keys_clone(),
                mask: state.mask.clone(),
                dec,
            },
        })
    }

    fn reorder(&self, state: &AttnState, rows: &Tensor) -> Result<AttnState> {
        state.select(rows)
    }
}

impl Module for AttnSeq2Seq {
    fn visit<'a>(&'a mut self, p: &mut Params<'a, '_>) {
        let combine = match self.config.score {
            ScoreKind::Bahdanau => "pre_output",
            _ => "concat",
        };
        p.module("src_embed", &mut self.src_embed);
        p.module("tgt_embed", &mut self.tgt_embed);
        p.module("encoder", &mut self.encoder);
        p.module("bridge", &mut self.bridge);
        p.module("attention", &mut self.attention);
        p.module("decoder", &mut self.decoder);
        p.module(combine, &mut self.combine);
        p.module("generator", &mut self.generator);
    }
}
