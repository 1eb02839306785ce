//! Metrics: corpus BLEU and chrF, as sacreBLEU computes them.
//!
//! A BLEU score means something only if everyone computes it the same way
//! (Post 2018). [`corpus_bleu`] reproduces sacreBLEU 2.6.0 — its 13a
//! tokenizer, smoothing, brevity penalty and multi-reference rules — and
//! the tests hold it to sacreBLEU's own outputs within 1e-9. Every score
//! carries sacreBLEU's signature string, so a reported number says how it
//! was made. [`tokenized_bleu`] is the older "tokenized BLEU" on token lists
//! (multi-bleu.perl, torchtext), and [`corpus_chrf`] the character F-score
//! (Popović 2015).
//!
//! References are passed as sacreBLEU takes them: a list of reference
//! *streams*, `refs[k][i]` being the k-th reference of sentence i, each
//! stream as long as the hypotheses.
//!
//! Papineni, Roukos, Ward and Zhu 2002, "BLEU: a Method for Automatic
//! Evaluation of Machine Translation"; Post 2018, "A Call for Clarity in
//! Reporting BLEU Scores"; Popović 2015, "chrF: character n-gram F-score
//! for automatic MT evaluation".

pub mod bleu;
mod bleu_stats;
pub mod chrf;
pub mod tokenizer;

pub use bleu::{
    corpus_bleu, sentence_bleu, tokenized_bleu, BleuConfig, BleuScore, BleuStats, Smooth,
};
pub use chrf::{corpus_chrf, sentence_chrf, ChrfConfig, ChrfScore};
pub use tokenizer::{tokenize_13a, Tokenize};

/// The sacreBLEU version whose numbers and signatures we reproduce.
pub const SACREBLEU_VERSION: &str = "2.6.0";

/// Inputs a metric cannot score.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricError {
    #[error("no references given")]
    NoReferences,
    #[error("reference stream {stream} has {refs} sentences but there are {hyps} hypotheses")]
    LengthMismatch {
        stream: usize,
        refs: usize,
        hyps: usize,
    },
}

/// Checks that there is at least one reference stream and that every
/// stream has one sentence per hypothesis.
fn check_streams<R>(hyps: usize, refs: &[Vec<R>]) -> Result<(), MetricError> {
    if refs.is_empty() {
        return Err(MetricError::NoReferences);
    }
    match refs.iter().position(|stream| stream.len() != hyps) {
        Some(k) => Err(MetricError::LengthMismatch {
            stream: k + 1,
            refs: refs[k].len(),
            hyps,
        }),
        None => Ok(()),
    }
}
