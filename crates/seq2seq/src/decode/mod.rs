//! Decoding: turning a source sentence into the model's translation.
//!
//! A model gives p(y_t | y_<t, x) one step at a time ([`Seq2Seq::step`]).
//! Decoding searches for the output Y that maximises
//!
//! ```text
//!   score(Y) = log P(Y | X) / lp(Y),    log P(Y | X) = Σ_t log p(y_t | y_<t, x)
//!   lp(Y)    = ((5 + |Y|) / 6)^α        GNMT (Wu et al. 2016, §7), the default
//!   lp(Y)    = |Y|^α                    power ([`LengthNorm::Power`])
//! ```
//!
//! where |Y| counts every scored token, the final `<eos>` included, under
//! both rules. With α = 0, lp = 1 and the score is the plain
//! log-probability, which favours short outputs (every extra token
//! multiplies in a probability below 1); α ≈ 0.6–1 compensates. The power
//! rule is CTranslate2's `length_penalty`, which counts |Y| the same way
//! (its `return_scores` give log P / (n + 1)^α for n words and `<eos>`,
//! log P / n^α for an output cut at the length limit), and fairseq's
//! `lenpen`. It rewards length more than GNMT's: at α = 0.6, from 5
//! scored tokens to 9 multiplies lp by (9 / 5)^0.6 = 1.42 under it, by
//! ((5 + 9) / (5 + 5))^0.6 = 1.22 under GNMT.
//!
//! | search | file | what it keeps |
//! |---|---|---|
//! | greedy | greedy.rs | the single most likely next token at every step |
//! | beam | beam.rs | the K best prefixes of every sentence (K = [`DecodeOptions::beam`]) |
//! | sampling | sample.rs | one token drawn at random per step, from the model's distribution reshaped by temperature, top-k and top-p ([`Sampling`]) |
//!
//! [`decode`] is the entry point for a [`Model`]: it runs beam search (beam
//! width 1 gives the greedy output), or sampling when
//! [`DecodeOptions::sampling`] is set, over a whole batch of sentences at
//! once and returns, for every sentence, its best [`Hypothesis`]: tokens,
//! score, log-probability and — when asked — the attention weights that
//! produced it, one [`AttentionMap`] per attention (per layer and head for
//! the Transformer), ready for a heatmap. [`decode_nbest`] returns the
//! [`DecodeOptions::nbest`] best finished hypotheses of the beam instead,
//! best first. [`replace_unk`] (unk.rs) copies source words into the
//! `<unk>` slots of an output, following its attention.
//!
//! Output length: sentence i may write at most
//! `min(max_len, ⌈max_len_ratio · |x_i|⌉)` tokens, `<eos>` included
//! (`max_len_ratio` ≤ 0 leaves only the absolute cap). A hypothesis that
//! reaches that length without `<eos>` ends there and competes as it is.

mod beam;
mod greedy;
mod sample;
mod unk;

pub use beam::{beam_search, beam_search_nbest};
pub use greedy::{greedy, CHECK_EVERY};
pub use sample::{sample, Sampling};
pub use unk::{alignment_attention, replace_unk};

use crate::models::{Model, Seq2Seq, Source};
use tensor::{Error, Result};

/// How the length penalty lp(Y) grows with the output's length |Y|.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LengthNorm {
    /// lp = ((5 + |Y|) / 6)^α, |Y| counting the final `<eos>` (GNMT).
    #[default]
    Gnmt,
    /// lp = |Y|^α, |Y| counting the final `<eos>` too (CTranslate2's
    /// `length_penalty`, fairseq's `lenpen`).
    Power,
}

impl LengthNorm {
    /// The rule's name as the CLI spells it: `gnmt` or `power`.
    pub fn name(self) -> &'static str {
        match self {
            LengthNorm::Gnmt => "gnmt",
            LengthNorm::Power => "power",
        }
    }
}

/// How to decode. `Default`: greedy (beam 1), the GNMT length penalty with
/// α = 0.6, outputs up to twice the source length and never longer than
/// 200 tokens, no attention maps, one hypothesis per sentence, no sampling.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodeOptions {
    /// Beam width K; 1 is greedy search.
    pub beam: usize,
    /// α of the length penalty lp(Y) ([`DecodeOptions::length_norm`]); 0
    /// for none.
    pub length_penalty: f32,
    /// Which lp(Y): GNMT's ((5 + |Y|) / 6)^α or the power |Y|^α.
    pub length_norm: LengthNorm,
    /// Longest output as a multiple of the source length (≤ 0: no limit
    /// from the source length).
    pub max_len_ratio: f32,
    /// Longest output in any case, `<eos>` included.
    pub max_len: usize,
    /// Collect the attention weights of the chosen hypotheses.
    pub attention: bool,
    /// How many finished hypotheses [`decode_nbest`] returns per sentence
    /// (at most `beam`). The search stops early only once no live beam can
    /// enter the n best, so the best hypothesis is the same for every n.
    pub nbest: usize,
    /// Draw the output at random instead of searching (beam must be 1).
    pub sampling: Option<Sampling>,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            beam: 1,
            length_penalty: 0.6,
            length_norm: LengthNorm::Gnmt,
            max_len_ratio: 2.0,
            max_len: 200,
            attention: false,
            nbest: 1,
            sampling: None,
        }
    }
}

impl DecodeOptions {
    /// lp(Y) for an output of `len` tokens (`<eos>` included): ((5 + len)
    /// / 6)^α or len^α. Both are monotonic in `len` (increasing for α > 0),
    /// which the beam's early stop relies on.
    pub fn length_penalty_of(&self, len: usize) -> f32 {
        let alpha = self.length_penalty;
        match self.length_norm {
            LengthNorm::Gnmt => ((5.0 + len as f32) / 6.0).powf(alpha),
            LengthNorm::Power => (len as f32).powf(alpha),
        }
    }

    /// log P / lp: the score that ranks finished hypotheses.
    pub fn score(&self, log_prob: f32, len: usize) -> f32 {
        log_prob / self.length_penalty_of(len)
    }

    /// Most tokens (`<eos>` included) for a source of `src_len` tokens.
    pub fn max_output_len(&self, src_len: usize) -> usize {
        let by_ratio = match self.max_len_ratio > 0.0 {
            true => ((self.max_len_ratio * src_len as f32).ceil() as usize).max(1),
            false => usize::MAX,
        };
        self.max_len.min(by_ratio)
    }

    /// Rejects options no search can follow, naming the option.
    pub fn check(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::InvalidArgument { op: "decode", msg });
        if self.beam == 0 {
            return bad("beam width must be at least 1 (1 is greedy search)".into());
        }
        if self.max_len == 0 {
            return bad("max_len must be at least 1".into());
        }
        if !self.length_penalty.is_finite() {
            return bad(format!(
                "length penalty α = {} is not finite",
                self.length_penalty
            ));
        }
        if self.max_len_ratio.is_nan() {
            return bad("max_len_ratio is NaN".into());
        }
        if self.nbest == 0 || self.nbest > self.beam {
            return bad(format!(
                "nbest {} must be between 1 and the beam width {}",
                self.nbest, self.beam
            ));
        }
        if let Some(sampling) = &self.sampling {
            if self.beam != 1 {
                return bad(format!(
                    "sampling draws one output per sentence: beam must be 1, not {}",
                    self.beam
                ));
            }
            sampling.check()?;
        }
        Ok(())
    }
}

/// The weights of one attention over the source for a whole output: row t
/// is the distribution the decoder attended with when it wrote token t.
#[derive(Clone, Debug, PartialEq)]
pub struct AttentionMap {
    /// Which attention: `"attention"` (RNN), or
    /// `"decoder.layers.0.multihead_attn head 3"` (Transformer layer 0, head 3).
    pub name: String,
    /// Output steps, the `<eos>` step included when the output has one.
    pub rows: usize,
    /// Real (unpadded) source tokens.
    pub cols: usize,
    /// Row-major `rows × cols`.
    pub weights: Vec<f32>,
}

impl AttentionMap {
    /// Row t: the attention of output step t over the source.
    pub fn row(&self, t: usize) -> &[f32] {
        &self.weights[t * self.cols..(t + 1) * self.cols]
    }
}

/// The best output found for one source sentence.
#[derive(Clone, Debug, PartialEq)]
pub struct Hypothesis {
    /// Token ids, without `<eos>`.
    pub tokens: Vec<u32>,
    /// log P(Y | X) / lp(Y), the quantity the search maximised
    /// ([`DecodeOptions::score`]).
    pub score: f32,
    /// log P(Y | X), summed over the tokens and the final `<eos>` if any.
    pub log_prob: f32,
    /// One map per attention of the model; empty unless
    /// [`DecodeOptions::attention`] (and for models without attention).
    pub attention: Vec<AttentionMap>,
}

/// Decodes every source row; one hypothesis per row, in order.
pub fn decode(model: &Model, src: &Source, opts: &DecodeOptions) -> Result<Vec<Hypothesis>> {
    model.decode(src, opts)
}

/// [`decode`] for any [`Seq2Seq`] (the generic search behind it).
pub fn decode_with<M: Seq2Seq>(
    model: &M,
    src: &Source,
    opts: &DecodeOptions,
) -> Result<Vec<Hypothesis>> {
    match &opts.sampling {
        Some(_) => sample(model, src, opts),
        None => beam_search(model, src, opts),
    }
}

/// Decodes every source row; for each, up to [`DecodeOptions::nbest`]
/// hypotheses, best first (a sampled output is a list of one). The list
/// is shorter only when fewer hypotheses had a probability above zero.
pub fn decode_nbest(
    model: &Model,
    src: &Source,
    opts: &DecodeOptions,
) -> Result<Vec<Vec<Hypothesis>>> {
    match model {
        Model::Rnn(m) => decode_nbest_with(m, src, opts),
        Model::Attn(m) => decode_nbest_with(m, src, opts),
        Model::Transformer(m) => decode_nbest_with(m, src, opts),
    }
}

/// [`decode_nbest`] for any [`Seq2Seq`].
pub fn decode_nbest_with<M: Seq2Seq>(
    model: &M,
    src: &Source,
    opts: &DecodeOptions,
) -> Result<Vec<Vec<Hypothesis>>> {
    match &opts.sampling {
        Some(_) => Ok(sample(model, src, opts)?
            .into_iter()
            .map(|h| vec![h])
            .collect()),
        None => beam_search_nbest(model, src, opts),
    }
}
