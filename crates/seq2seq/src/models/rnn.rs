//! Sutskever, Vinyals & Le 2014, "Sequence to Sequence Learning with Neural
//! Networks": an encoder RNN reads the source, its final state is the whole
//! context, and a decoder RNN started from it writes the target.
//!
//! ```text
//!   (h_S, c_S) = Encoder(E_src x_1 … x_S)          (source reversed if asked, §3.3)
//!   s_0 = (h_S, c_S);   s_t = Decoder(E_tgt y_{t-1}, s_{t-1})
//!   p(y_t | y_<t, x) = softmax(W_out s_t + b_out)
//! ```
//!
//! Shapes: source `[B, S]`, target `[B, T]`, embeddings E, hidden H, L
//! layers (the decoder has as many as the encoder, layer l starting from
//! encoder layer l's final state), logits `[B, T, V]`.
//!
//! Parameter names: `src_embed.weight`, `tgt_embed.weight`,
//! `encoder.weight_ih_l0`…, `decoder.weight_ih_l0`…, `generator.weight`,
//! `generator.bias`.

use super::config::RnnSeq2SeqConfig;
use super::recurrent::{Recurrent, RnnState};
use super::{Seq2Seq, Source, Step, Target};
use crate::data::Vocab;
use crate::nn::{Ctx, Dropout, Embedding, Linear, Module, Params, RnnConfig};
use tensor::{Device, Result, Rng, Tensor};

/// The Sutskever encoder–decoder.
#[derive(Clone)]
pub struct RnnSeq2Seq {
    pub config: RnnSeq2SeqConfig,
    pub src_embed: Embedding,
    pub tgt_embed: Embedding,
    pub encoder: Recurrent,
    pub decoder: Recurrent,
    /// H → V
    pub generator: Linear,
    dropout: Dropout,
}

impl RnnSeq2Seq {
    pub fn new(config: RnnSeq2SeqConfig, rng: &mut Rng, device: &Device) -> Result<Self> {
        let c = &config;
        let pad = Some(Vocab::PAD as usize);
        let rnn = |rng: &mut Rng| {
            let cfg = RnnConfig::new(c.embed_size, c.hidden_size)
                .num_layers(c.num_layers)
                .dropout(c.dropout);
            Recurrent::new(c.cell, cfg, rng, device)
        };
        Ok(RnnSeq2Seq {
            src_embed: Embedding::new(c.src_vocab, c.embed_size, pad, rng, device)?,
            tgt_embed: Embedding::new(c.tgt_vocab, c.embed_size, pad, rng, device)?,
            encoder: rnn(rng)?,
            decoder: rnn(rng)?,
            generator: Linear::new(c.hidden_size, c.tgt_vocab, true, rng, device)?,
            dropout: Dropout::new(c.dropout),
            config,
        })
    }

    /// The encoder's final state: the context vector(s).
    fn encode(&self, src: &Source, ctx: &mut Ctx) -> Result<RnnState> {
        let src = match self.config.reverse_source {
            true => src.reversed()?,
            false => src.clone(),
        };
        let x = self.src_embed.forward(&src.ids.transpose(0, 1)?)?; // [S, B, E]
        let x = self.dropout.forward(&x, ctx)?;
        let (_, state) = self.encoder.forward(&x, None, Some(&src.lens), ctx)?;
        Ok(state) // L × [B, H]
    }

    /// Logits of decoder outputs `[.., H]` → `[.., V]`.
    fn generate(&self, h: &Tensor, ctx: &mut Ctx) -> Result<Tensor> {
        self.generator.forward(&self.dropout.forward(h, ctx)?)
    }
}

impl Seq2Seq for RnnSeq2Seq {
    type State = RnnState;

    fn forward(&self, src: &Source, target: &Target, ctx: &mut Ctx) -> Result<Tensor> {
        let state = self.encode(src, ctx)?;
        let y = self.tgt_embed.forward(&target.input.transpose(0, 1)?)?; // [T, B, E]
        let y = self.dropout.forward(&y, ctx)?;
        if !ctx.train || self.config.teacher_forcing >= 1.0 {
            // every input is the gold token: the decoder runs as one sequence
            let (out, _) = self.decoder.forward(&y, Some(&state), None, ctx)?; // [T, B, H]
            return self.generate(&out.transpose(0, 1)?, ctx); // [B, T, V]
        }
        // each step feeds the gold token with probability `teacher_forcing`,
        // else the model's own previous prediction
        let mut state = state;
        let mut logits = Vec::new();
        let mut prediction: Option<Tensor> = None;
        for gold in super::recurrent::unbind(&y, 0)? {
            // gold: [B, E]
            let x = match prediction.take() {
                Some(p) if ctx.rng.uniform() >= self.config.teacher_forcing as f64 => {
                    self.dropout.forward(&self.tgt_embed.forward(&p)?, ctx)?
                }
                _ => gold,
            };
            let (h, next) = self.decoder.step(&x, &state, ctx)?; // [B, H]
            let l = self.generate(&h, ctx)?; // [B, V]
            prediction = Some(l.argmax(-1, false)?.detach());
            logits.push(l);
            state = next;
        }
        Tensor::stack(&logits, 1) // [B, T, V]
    }

    fn start(&self, src: &Source) -> Result<RnnState> {
        self.encode(src, &mut Ctx::eval())
    }

    fn step(&self, state: &RnnState, prev: &Tensor) -> Result<Step<RnnState>> {
        let ctx = &mut Ctx::eval();
        let x = self.tgt_embed.forward(prev)?; // [B, E]
        let (h, state) = self.decoder.step(&x, state, ctx)?; // [B, H]
        Ok(Step {
            logits: self.generator.forward(&h)?, // [B, V]
            attention: Vec::new(),
            state,
        })
    }

    fn reorder(&self, state: &RnnState, rows: &Tensor) -> Result<RnnState> {
        state.map(|t| t.index_select(0, rows))
    }
}

impl Module for RnnSeq2Seq {
    fn visit<'a>(&'a mut self, p: &mut Params<'a, '_>) {
        p.module("src_embed", &mut self.src_embed);
        p.module("tgt_embed", &mut self.tgt_embed);
        p.module("encoder", &mut self.encoder);
        p.module("decoder", &mut self.decoder);
        p.module("generator", &mut self.generator);
    }
}
