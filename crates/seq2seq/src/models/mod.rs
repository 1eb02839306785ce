//! The three classic sequence-to-sequence models, and what they share.
//!
//! | model | paper | file |
//! |---|---|---|
//! | [`RnnSeq2Seq`] | Sutskever, Vinyals & Le 2014: the context is the encoder's final state | rnn.rs |
//! | [`AttnSeq2Seq`] | Bahdanau et al. 2014; Luong et al. 2015: the decoder attends to every source position | attn.rs, attn_decoder.rs |
//! | [`TransformerSeq2Seq`] | Vaswani et al. 2017: attention only | transformer.rs |
//!
//! Every model implements [`Seq2Seq`], which has two halves:
//!
//! - **training**: [`Seq2Seq::forward`] gives the logits of every target
//!   position at once (teacher forcing), and [`Seq2Seq::loss`] the
//!   cross-entropy over the real (non-padding) tokens;
//! - **incremental decoding**: [`Seq2Seq::start`] encodes the sources once
//!   into a decoder state, [`Seq2Seq::step`] turns the previous tokens into
//!   the next token's logits and a new state, and [`Seq2Seq::reorder`]
//!   picks rows of a state. Greedy search (decode/greedy.rs) needs the
//!   first two; beam search (decode/beam.rs) needs the third, to follow the
//!   surviving hypotheses.
//!
//! [`Model`] holds any of the three behind one type, built from a
//! [`ModelConfig`] — the serde struct saved as a checkpoint's `config.json`.
//!
//! Shapes: B batch, S source length, T target length, V target vocabulary.
//! Token ids are f32 holding whole numbers (the engine's one dtype), with
//! `<pad> <bos> <eos> <unk>` = 0 1 2 3 (data/vocab.rs).

mod attn;
mod attn_decoder;
mod config;
mod inputs;
mod model;
mod quantize;
mod recurrent;
mod rnn;
mod transformer;

pub use crate::decode::greedy;
pub use attn::AttnSeq2Seq;
pub use config::{
    AttnConfig, CellKind, ModelConfig, RnnSeq2SeqConfig, ScoreKind, TransformerSeq2SeqConfig,
};
pub use inputs::{Source, Target};
pub use model::Model;
pub use recurrent::{Recurrent, RnnState};
pub use rnn::RnnSeq2Seq;
pub use transformer::TransformerSeq2Seq;

use crate::data::Vocab;
use crate::nn::{Ctx, Module};
use tensor::{Result, Tensor};

/// One decoder step's result.
pub struct Step<S> {
    /// Scores of the next token, `[B, V]` (before softmax).
    pub logits: Tensor,
    /// The attention weights over the source that produced these logits,
    /// each named after its layer (`"attention"`, or
    /// `"decoder.layers.0.multihead_attn"`): `[B, S]` for one attention,
    /// `[B, H, S]` for H heads. Empty for models without attention.
    pub attention: Vec<(String, Tensor)>,
    /// The state after this step.
    pub state: S,
}

/// A trainable encoder–decoder (see the module docs).
pub trait Seq2Seq: Module {
    /// Everything the decoder carries from one step to the next.
    type State;

    /// Teacher-forced logits `[B, T, V]`: position t is predicted from
    /// the source and `target.input[.., ..=t]`.
    fn forward(&self, src: &Source, target: &Target, ctx: &mut Ctx) -> Result<Tensor>;

    /// Mean cross-entropy per real target token, padding ignored, with
    /// label smoothing ε (0 for none). A scalar, still on the device.
    fn loss(&self, src: &Source, target: &Target, smoothing: f32, ctx: &mut Ctx) -> Result<Tensor> {
        let logits = self.forward(src, target, ctx)?; // [B, T, V]
        let (b, t, v) = (logits.dims()[0], logits.dims()[1], logits.dims()[2]);
        let gold = target.output.reshape([b * t])?; // [B·T]
        logits
            .reshape([b * t, v])?
            .cross_entropy(&gold, Vocab::PAD as i64, smoothing)
    }

    /// Encodes the sources for decoding (evaluation mode).
    fn start(&self, src: &Source) -> Result<Self::State>;

    /// `prev` `[B]`: the previous token of every row (`<bos>` first).
    fn step(&self, state: &Self::State, prev: &Tensor) -> Result<Step<Self::State>>;

    /// [`step`](Seq2Seq::step) for a search that does not keep the
    /// attention weights: its `attention` may be empty. The same as `step`
    /// unless gathering the weights costs a model extra work (the
    /// Transformer's per-head maps: the fused attention kernel never forms
    /// them).
    fn step_logits(&self, state: &Self::State, prev: &Tensor) -> Result<Step<Self::State>> {
        self.step(state, prev)
    }

    /// The state of rows `rows` `[B']` (ids as f32), in that order.
    fn reorder(&self, state: &Self::State, rows: &Tensor) -> Result<Self::State>;

    /// The most decoder steps the model can take (`None`: no limit), e.g.
    /// the length of the Transformer's table of positions.
    fn max_decode_len(&self) -> Option<usize> {
        None
    }
}
