//! [`Model`]: any of the three models behind one type, so the trainer, the
//! checkpoint code and the CLI deal with one thing. Each method hands the
//! call to the model inside (generic code such as [`greedy`] is
//! instantiated once per model, with its own decoder state type).

use super::config::ModelConfig;
use super::{greedy, AttnSeq2Seq, RnnSeq2Seq, Seq2Seq, Source, Target, TransformerSeq2Seq};
use crate::decode::{DecodeOptions, Hypothesis};
use crate::nn::{Ctx, Module, Params};
use tensor::{Device, Result, Rng, Tensor};

/// One of the three encoder–decoders.
#[derive(Clone)]
pub enum Model {
    Rnn(RnnSeq2Seq),
    Attn(AttnSeq2Seq),
    Transformer(TransformerSeq2Seq),
}

/// Calls `$body` with `$m` bound to the model inside `$self`.
macro_rules! each {
    ($self:expr, $m:ident => $body:expr) => {
        match $self {
            Model::Rnn($m) => $body,
            Model::Attn($m) => $body,
            Model::Transformer($m) => $body,
        }
    };
}

impl Model {
    /// A freshly initialised model; weights drawn from `rng`.
    /// On the GPU the parameters share one allocation, so that an
    /// optimizer step is one kernel (tensor's optim/arena.rs).
    pub fn new(config: &ModelConfig, rng: &mut Rng, device: &Device) -> Result<Model> {
        let mut model = match config {
            ModelConfig::Rnn(c) => Model::Rnn(RnnSeq2Seq::new(c.clone(), rng, device)?),
            ModelConfig::Attn(c) => Model::Attn(AttnSeq2Seq::new(c.clone(), rng, device)?),
            ModelConfig::Transformer(c) => {
                Model::Transformer(TransformerSeq2Seq::new(c.clone(), rng, device)?)
            }
        };
        tensor::optim::pack_parameters(model.parameters_mut())?;
        Ok(model)
    }

    /// The configuration it was built from.
    pub fn config(&self) -> ModelConfig {
        match self {
            Model::Rnn(m) => ModelConfig::Rnn(m.config.clone()),
            Model::Attn(m) => ModelConfig::Attn(m.config.clone()),
            Model::Transformer(m) => ModelConfig::Transformer(m.config.clone()),
        }
    }

    /// Teacher-forced logits `[B, T, V]` ([`Seq2Seq::forward`]).
    pub fn forward(&self, src: &Source, target: &Target, ctx: &mut Ctx) -> Result<Tensor> {
        each!(self, m => m.forward(src, target, ctx))
    }

    /// Mean cross-entropy per real target token ([`Seq2Seq::loss`]).
    pub fn loss(
        &self,
        src: &Source,
        target: &Target,
        smoothing: f32,
        ctx: &mut Ctx,
    ) -> Result<Tensor> {
        each!(self, m => m.loss(src, target, smoothing, ctx))
    }

    /// Greedy decoding of every source row (decode/greedy.rs).
    pub fn greedy(&self, src: &Source, max_len: usize) -> Result<Vec<Vec<u32>>> {
        each!(self, m => greedy(m, src, max_len))
    }

    /// Greedy or beam search over every source row (decode/).
    pub fn decode(&self, src: &Source, opts: &DecodeOptions) -> Result<Vec<Hypothesis>> {
        each!(self, m => crate::decode::decode_with(m, src, opts))
    }

    /// Number of scalar parameters.
    pub fn num_parameters(&self) -> usize {
        self.parameters().iter().map(Tensor::numel).sum()
    }
}

impl Module for Model {
    fn visit<'a>(&'a mut self, p: &mut Params<'a, '_>) {
        each!(self, m => m.visit(p))
    }
}
