//! Data: corpora, normalisation, tokenizers, vocabularies and batches.
//!
//! The path from a file to a training step:
//!
//! ```text
//! read_tsv / read_parallel      file → sentence pairs   (reader.rs; errors name file:line)
//!   Normalization               NFC, or the PyTorch tutorial's ASCII folding (normalize.rs)
//!   TutorialFilter              optional: the tutorial's 11,445-pair subset (tutorial.rs)
//!   split_by_seed               train / valid / test by seed (split.rs)
//! Tokenizer                     chars, words, or BPE learned on training text (tokenizer.rs, bpe.rs),
//!                               or a Hugging Face tokenizer.json (hf_tokenizer.rs)
//! Vocab                         token ↔ id, <pad> <bos> <eos> <unk> = 0 1 2 3 (vocab.rs)
//! Batcher                       length-bucketed, padded, masked batches (batch.rs)
//! ```
//!
//! and, with no files at all, [`generate_dates`]: the built-in task of
//! dates written many ways → ISO dates (dates.rs, calendar.rs).
//!
//! Everything random uses `tensor::Rng`, whose state is two integers, so
//! splits and batch orders are reproducible and resumable.

pub mod batch;
pub mod bpe;
mod bpe_learn;
pub mod calendar;
pub mod dates;
pub mod error;
mod hf_pretokenize;
pub mod hf_tokenizer;
pub mod normalize;
mod protobuf;
pub mod reader;
pub mod sentencepiece;
pub mod split;
pub mod subword_nmt;
pub mod tokenize;
pub mod tokenizer;
pub mod tutorial;
pub mod vocab;

pub use batch::{epoch_rng, Batch, BatchSize, Batcher, Example};
pub use bpe::{Bpe, END_OF_WORD};
pub use calendar::Date;
pub use dates::{generate_dates, DateFormat, DateTaskConfig};
pub use error::{BadLine, DataError, Result, Side};
pub use hf_tokenizer::HfTokenizer;
pub use normalize::{ascii_fold, nfc, tutorial_normalize, Normalization};
pub use reader::{
    parse_tsv, read_parallel, read_tsv, Corpus, Pair, ReadOptions, ReadSummary, TsvColumns,
};
pub use sentencepiece::SentencePiece;
pub use split::{split_by_seed, Splits};
pub use subword_nmt::subword_nmt_segments;
pub use tokenize::{detokenize, join_tokens, tokenize};
pub use tokenizer::Tokenizer;
pub use tutorial::{tutorial_vocab_sizes, TutorialFilter, ENGLISH_PREFIXES};
pub use vocab::Vocab;

use std::path::Path;

/// Writes `value` as pretty JSON to `path`, through a temporary file and a
/// rename, so an interrupted write never leaves a half-written file behind.
pub(crate) fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| DataError::bad_file(path, e.to_string()))?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, text + "\n").map_err(|e| DataError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| DataError::io(path, e))
}

/// Reads JSON from `path`; a syntax or shape error names the file, line and
/// column.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| DataError::bad_file(path, format!("invalid JSON: {e}")))
}
