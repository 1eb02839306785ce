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
