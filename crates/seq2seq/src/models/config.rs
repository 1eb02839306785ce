//! The configuration of each model: everything needed to rebuild it before
//! its weights are loaded. Saved as a checkpoint's `config.json`, tagged by
//! `"model"`, e.g. `{"model": "attn", "cell": "gru", "score": "bahdanau", …}`.

use serde::{Deserialize, Serialize};

/// The recurrent cell of an RNN model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellKind {
    Gru,
    Lstm,
}

/// The attention score of an [`AttnConfig`] (nn/attention.rs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoreKind {
    /// vᵀ tanh(W_q s_{t-1} + W_k h_s), queried with the previous state.
    Bahdanau,
    /// h_tᵀ h_s (Luong), queried with the current state.
    Dot,
    /// h_tᵀ W_a h_s (Luong).
    General,
    /// vᵀ tanh(W_a [h_t; h_s]) (Luong).
    Concat,
}

impl ScoreKind {
    /// Luong's scores query with the current decoder state, Bahdanau's with
    /// the previous one.
    pub fn is_luong(self) -> bool {
        self != ScoreKind::Bahdanau
    }
}

/// Sutskever et al. 2014: an encoder RNN whose final state starts the
/// decoder RNN; no attention.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RnnSeq2SeqConfig {
    pub cell: CellKind,
    pub src_vocab: usize,
    pub tgt_vocab: usize,
    pub embed_size: usize,
    pub hidden_size: usize,
    pub num_layers: usize,
    pub dropout: f32,
    /// Feed the source backwards (Sutskever et al. §3.3).
    pub reverse_source: bool,
    /// Probability of feeding the gold token (else the model's own
    /// prediction) at each training step; 1 = always teacher forcing.
    pub teacher_forcing: f32,
}

/// An RNN encoder–decoder with attention (Bahdanau or Luong).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttnConfig {
    pub cell: CellKind,
    pub score: ScoreKind,
    pub src_vocab: usize,
    pub tgt_vocab: usize,
    pub embed_size: usize,
    /// Per direction of the encoder; the decoder has D·H (D = 2 when
    /// bidirectional), so dot attention needs no projection.
    pub hidden_size: usize,
    pub num_layers: usize,
    pub bidirectional: bool,
    /// A: the size of the additive (Bahdanau, concat) score's hidden layer.
    pub attn_size: usize,
    pub dropout: f32,
    /// Luong's input feeding: h̃_{t-1} joins the decoder's input at step t.
    pub input_feeding: bool,
    pub teacher_forcing: f32,
}

/// A Transformer encoder–decoder with its embeddings and output layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransformerSeq2SeqConfig {
    pub src_vocab: usize,
    pub tgt_vocab: usize,
    pub d_model: usize,
    pub nhead: usize,
    pub num_encoder_layers: usize,
    pub num_decoder_layers: usize,
    pub dim_feedforward: usize,
    pub dropout: f32,
    /// Pre-norm (Xiong et al. 2020) rather than Vaswani's post-norm.
    pub norm_first: bool,
    /// One embedding table for source and target (needs one joint vocab).
    pub share_embeddings: bool,
    /// The output projection reuses the target embedding (Press & Wolf 2017).
    pub tie_output: bool,
    /// Longest sequence the positional table covers.
    pub max_len: usize,
}

/// Any of the three, tagged by `"model"` in JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "lowercase")]
pub enum ModelConfig {
    Rnn(RnnSeq2SeqConfig),
    Attn(AttnConfig),
    Transformer(TransformerSeq2SeqConfig),
}

impl ModelConfig {
    /// A short name for file names and logs: `gru`, `lstm-attn-dot`, `transformer`.
    pub fn name(&self) -> String {
        let cell = |c: CellKind| format!("{c:?}").to_lowercase();
        match self {
            ModelConfig::Rnn(c) => cell(c.cell),
            ModelConfig::Attn(c) => format!("{}-attn-{:?}", cell(c.cell), c.score).to_lowercase(),
            ModelConfig::Transformer(_) => "transformer".into(),
        }
    }

    /// (source, target) vocabulary sizes the model was built for.
    pub fn vocab_sizes(&self) -> (usize, usize) {
        match self {
            ModelConfig::Rnn(c) => (c.src_vocab, c.tgt_vocab),
            ModelConfig::Attn(c) => (c.src_vocab, c.tgt_vocab),
            ModelConfig::Transformer(c) => (c.src_vocab, c.tgt_vocab),
        }
    }
}

/// The largest size (vocabulary, width, layer count, positions) a
/// configuration may hold. Larger numbers are no model this engine can
/// build — they are what a damaged or hand-edited `config.json` holds — and
/// refusing them first keeps the estimates below far from overflow.
pub const MAX_SIZE: usize = 1 << 24;

impl ModelConfig {
    /// Checks every size and probability before anything is allocated,
    /// naming the `config.json` field, its value and the allowed range.
    pub fn check(&self) -> Result<(), String> {
        let size = |field: &str, v: usize, min: usize| {
            if v < min || v > MAX_SIZE {
                Err(format!("{field} is {v}, outside {min}..={MAX_SIZE}"))
            } else {
                Ok(())
            }
        };
        let prob = |field: &str, v: f32, below_one: bool| {
            let ok = v.is_finite() && v >= 0.0 && if below_one { v < 1.0 } else { v <= 1.0 };
            match ok {
                true => Ok(()),
                false if below_one => Err(format!("{field} is {v}, outside [0, 1)")),
                false => Err(format!("{field} is {v}, outside [0, 1]")),
            }
        };
        let specials = crate::data::Vocab::SPECIALS.len();
        let (sv, tv) = self.vocab_sizes();
        size("src_vocab", sv, specials)?;
        size("tgt_vocab", tv, specials)?;
        match self {
            ModelConfig::Rnn(c) => {
                size("embed_size", c.embed_size, 1)?;
                size("hidden_size", c.hidden_size, 1)?;
                size("num_layers", c.num_layers, 1)?;
                prob("dropout", c.dropout, true)?;
                prob("teacher_forcing", c.teacher_forcing, false)?;
            }
            ModelConfig::Attn(c) => {
                size("embed_size", c.embed_size, 1)?;
                size("hidden_size", c.hidden_size, 1)?;
                size("num_layers", c.num_layers, 1)?;
                size("attn_size", c.attn_size, 1)?;
                prob("dropout", c.dropout, true)?;
                prob("teacher_forcing", c.teacher_forcing, false)?;
            }
            ModelConfig::Transformer(c) => {
                size("d_model", c.d_model, 1)?;
                size("nhead", c.nhead, 1)?;
                size("num_encoder_layers", c.num_encoder_layers, 1)?;
                size("num_decoder_layers", c.num_decoder_layers, 1)?;
                size("dim_feedforward", c.dim_feedforward, 1)?;
                size("max_len", c.max_len, 1)?;
                prob("dropout", c.dropout, true)?;
                if c.d_model % c.nhead != 0 {
                    return Err(format!(
                        "nhead {} does not divide d_model {}",
                        c.nhead, c.d_model
                    ));
                }
                if c.share_embeddings && sv != tv {
                    return Err(format!(
                        "share_embeddings needs one vocabulary, but src_vocab is {sv} and tgt_vocab {tv}"
                    ));
                }
            }
        }
        Ok(())
    }

    /// About how many scalars the model's weights hold (as saved in
    /// model.safetensors), computed from the sizes alone so that a
    /// configuration can be weighed against the machine's memory before it
    /// is built. Exact to within the small terms (biases, norms); call
    /// [`ModelConfig::check`] first, which bounds every factor.
    pub fn parameter_estimate(&self) -> u128 {
        let n = |v: usize| v as u128;
        let gates = |cell: CellKind| match cell {
            CellKind::Gru => 3,
            CellKind::Lstm => 4,
        };
        // One RNN layer: input and recurrent weights and two biases per gate.
        let rnn = |g: u128, input: u128, h: u128| g * (input * h + h * h + 2 * h);
        let (sv, tv) = self.vocab_sizes();
        match self {
            ModelConfig::Rnn(c) => {
                let (g, e, h, l) = (
                    gates(c.cell),
                    n(c.embed_size),
                    n(c.hidden_size),
                    n(c.num_layers),
                );
                let stack = rnn(g, e, h) + (l - 1) * rnn(g, h, h);
                (n(sv) + n(tv)) * e + 2 * stack + h * n(tv) + n(tv)
            }
            ModelConfig::Attn(c) => {
                let (g, e, h, l) = (
                    gates(c.cell),
                    n(c.embed_size),
                    n(c.hidden_size),
                    n(c.num_layers),
                );
                let d = if c.bidirectional { 2 } else { 1 };
                let dh = d * h;
                let encoder = d * (rnn(g, e, h) + (l - 1) * rnn(g, dh, h));
                let input = e + if c.input_feeding { dh } else { 0 };
                let decoder = rnn(g, input, dh) + (l - 1) * rnn(g, dh, dh);
                let a = n(c.attn_size);
                let attention = 2 * a * dh + a + 2 * dh * dh + 2 * dh;
                (n(sv) + n(tv)) * e + encoder + decoder + attention + 2 * dh * n(tv) + n(tv)
            }
            ModelConfig::Transformer(c) => {
                let (d, ff) = (n(c.d_model), n(c.dim_feedforward));
                let block = 2 * d * ff + ff + 9 * d;
                let encoder = n(c.num_encoder_layers) * (4 * d * d + block);
                let decoder = n(c.num_decoder_layers) * (8 * d * d + block + 2 * d);
                let tables = match c.share_embeddings {
                    true => n(sv) * d,
                    false => (n(sv) + n(tv)) * d,
                };
                let output = if c.tie_output { 0 } else { d * n(tv) };
                tables + encoder + decoder + 4 * d + output + n(tv)
            }
        }
    }

    /// Scalars the model holds besides its weights: the Transformer's
    /// positional table (computed, not saved).
    pub fn buffer_estimate(&self) -> u128 {
        match self {
            ModelConfig::Transformer(c) => c.max_len as u128 * c.d_model as u128,
            _ => 0,
        }
    }

    /// The width of the states a decoder step keeps per row and layer, and
    /// the number of layers, attention heads and the target vocabulary: the
    /// factors of [`ModelConfig::activation_estimate`].
    fn activation_shape(&self) -> (u128, u128, u128, u128) {
        let n = |v: usize| v as u128;
        match self {
            ModelConfig::Rnn(c) => (
                n(c.hidden_size).max(n(c.embed_size)),
                2 * n(c.num_layers),
                0,
                n(c.tgt_vocab),
            ),
            ModelConfig::Attn(c) => {
                let d = if c.bidirectional { 2 } else { 1 };
                let w = (d * n(c.hidden_size))
                    .max(n(c.embed_size))
                    .max(n(c.attn_size));
                (w, 2 * n(c.num_layers), 1, n(c.tgt_vocab))
            }
            ModelConfig::Transformer(c) => {
                let w = n(c.d_model).max(n(c.dim_feedforward));
                let layers = n(c.num_encoder_layers) + n(c.num_decoder_layers);
                (w, layers, n(c.nhead) * layers, n(c.tgt_vocab))
            }
        }
    }

    /// About how many scalars one training step over a batch of `rows`
    /// pairs of `src_len` × `tgt_len` tokens keeps alive: the activations
    /// autograd holds for the backward pass and their gradients (a few
    /// dozen per unit of state per token), the attention matrices, and the
    /// logits, their softmax and its gradient.
    pub fn activation_estimate(&self, rows: usize, src_len: usize, tgt_len: usize) -> u128 {
        let (w, layers, heads, tv) = self.activation_shape();
        let (r, s, t) = (rows as u128, src_len as u128, tgt_len as u128);
        let states = 32 * r * (s + t) * w * layers;
        let attention = 4 * r * t.max(s) * s.max(t) * heads;
        let logits = 4 * r * t * tv;
        states + attention + logits
    }
}
