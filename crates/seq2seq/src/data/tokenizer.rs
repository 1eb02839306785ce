//! One tokenizer type for the whole pipeline: characters, words or BPE.
//!
//! A model is trained on, and must later translate with, one way of cutting
//! text into tokens; [`Tokenizer`] bundles the choice so it can be saved with
//! the model and applied the same way at translation time.
//!
//! * `Char`: every character is a token and a space is `▁` (U+2581) — for
//!   the built-in date task, where "2021-03-03" must be spelled digit by
//!   digit.
//! * `Word`: [`tokenize`](super::tokenize::tokenize) (punctuation split off).
//! * `Bpe`: words, then byte-pair-encoded subwords (Sennrich et al. 2016).

use super::bpe::Bpe;
use super::tokenize::{detokenize, tokenize};

/// The symbol that stands for a space in character tokenization.
pub const SPACE: &str = "\u{2581}";

/// How text becomes tokens and tokens become text again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tokenizer {
    Char,
    Word,
    Bpe(Bpe),
}

impl Tokenizer {
    /// Text → tokens.
    pub fn encode(&self, text: &str) -> Vec<String> {
        match self {
            Tokenizer::Char => {
                let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
                words.chars().map(|c| if c == ' ' { SPACE.to_string() } else { c.to_string() }).collect()
            }
            Tokenizer::Word => tokenize(text),
            Tokenizer::Bpe(bpe) => bpe.encode(&tokenize(text)),
        }
    }

    /// Tokens → text (special tokens should be removed first).
    pub fn decode<S: AsRef<str>>(&self, tokens: &[S]) -> String {
        match self {
            Tokenizer::Char => tokens.iter().map(|t| if t.as_ref() == SPACE { " " } else { t.as_ref() }).collect(),
            Tokenizer::Word => detokenize(tokens),
            Tokenizer::Bpe(_) => detokenize(&Bpe::decode(tokens)),
        }
    }
}
