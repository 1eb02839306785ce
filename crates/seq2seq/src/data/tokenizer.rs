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
//! * `HuggingFace`: a BPE `tokenizer.json` made elsewhere (hf_tokenizer.rs).
//! * `SentencePiece`: a unigram or BPE `.model` made elsewhere (sentencepiece.rs).
//!
//! [`Tokenizer::save`] writes the choice (and the BPE merges, or the whole
//! `tokenizer.json`) as JSON, so a run needs no file from outside itself.

use super::bpe::Bpe;
use super::error::{DataError, Result};
use super::hf_tokenizer::HfTokenizer;
use super::sentencepiece::SentencePiece;
use super::tokenize::{detokenize, tokenize};
use std::path::Path;

/// The symbol that stands for a space in character tokenization.
pub const SPACE: &str = "\u{2581}";

/// How text becomes tokens and tokens become text again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tokenizer {
    Char,
    Word,
    Bpe(Bpe),
    HuggingFace(Box<HfTokenizer>),
    SentencePiece(Box<SentencePiece>),
}

impl Tokenizer {
    /// Text → tokens.
    pub fn encode(&self, text: &str) -> Vec<String> {
        match self {
            Tokenizer::Char => {
                let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
                words
                    .chars()
                    .map(|c| {
                        if c == ' ' {
                            SPACE.to_string()
                        } else {
                            c.to_string()
                        }
                    })
                    .collect()
            }
            Tokenizer::Word => tokenize(text),
            Tokenizer::Bpe(bpe) => bpe.encode(&tokenize(text)),
            Tokenizer::HuggingFace(hf) => hf.encode(text),
            Tokenizer::SentencePiece(sp) => sp.encode(text),
        }
    }

    /// Tokens → text (special tokens should be removed first).
    pub fn decode<S: AsRef<str>>(&self, tokens: &[S]) -> String {
        match self {
            Tokenizer::Char => tokens
                .iter()
                .map(|t| if t.as_ref() == SPACE { " " } else { t.as_ref() })
                .collect(),
            Tokenizer::Word => detokenize(tokens),
            Tokenizer::Bpe(_) => detokenize(&Bpe::decode(tokens)),
            Tokenizer::HuggingFace(hf) => hf.decode(tokens),
            Tokenizer::SentencePiece(sp) => sp.decode(tokens),
        }
    }

    /// "char", "word", "bpe", "huggingface" or "sentencepiece".
    pub fn kind(&self) -> &'static str {
        match self {
            Tokenizer::Char => "char",
            Tokenizer::Word => "word",
            Tokenizer::Bpe(_) => "bpe",
            Tokenizer::HuggingFace(_) => "huggingface",
            Tokenizer::SentencePiece(_) => "sentencepiece",
        }
    }

    /// Writes the tokenizer as JSON (with its merges, for BPE; with the
    /// whole `tokenizer.json`, for Hugging Face).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let merges = match self {
            Tokenizer::Bpe(bpe) => bpe.merges().to_vec(),
            _ => Vec::new(),
        };
        let file = TokenizerFile {
            format: "s2s-tokenizer".into(),
            version: 1,
            kind: self.kind().into(),
            merges,
            huggingface: match self {
                Tokenizer::HuggingFace(hf) => Some(hf.json().clone()),
                _ => None,
            },
            sentencepiece: match self {
                Tokenizer::SentencePiece(sp) => Some(hex(sp.bytes())),
                _ => None,
            },
        };
        super::write_json(path.as_ref(), &file)
    }

    /// A tokenizer made elsewhere: a Hugging Face `tokenizer.json` (a file
    /// that starts with `{`) or a SentencePiece `.model`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Tokenizer> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            Ok(Tokenizer::HuggingFace(Box::new(HfTokenizer::load(path)?)))
        } else {
            let sp = SentencePiece::from_bytes(bytes, path)?;
            Ok(Tokenizer::SentencePiece(Box::new(sp)))
        }
    }

    /// Reads a tokenizer written by [`Tokenizer::save`].
    pub fn load(path: impl AsRef<Path>) -> Result<Tokenizer> {
        let path = path.as_ref();
        let file: TokenizerFile = super::read_json(path)?;
        if file.format != "s2s-tokenizer" || file.version != 1 {
            let msg = format!(
                "not an s2s tokenizer (format {:?}, version {})",
                file.format, file.version
            );
            return Err(DataError::bad_file(path, msg));
        }
        match file.kind.as_str() {
            "char" => Ok(Tokenizer::Char),
            "word" => Ok(Tokenizer::Word),
            "bpe" => Ok(Tokenizer::Bpe(Bpe::from_merges(file.merges))),
            "huggingface" => match file.huggingface {
                Some(json) => Ok(Tokenizer::HuggingFace(Box::new(HfTokenizer::from_json(
                    json, path,
                )?))),
                None => Err(DataError::bad_file(
                    path,
                    "kind \"huggingface\" without its \"huggingface\" tokenizer.json",
                )),
            },
            "sentencepiece" => {
                let bytes = file.sentencepiece.as_deref().and_then(unhex).ok_or_else(|| {
                    DataError::bad_file(path, "kind \"sentencepiece\" without its model in hex")
                })?;
                let sp = SentencePiece::from_bytes(bytes, path)?;
                Ok(Tokenizer::SentencePiece(Box::new(sp)))
            }
            other => Err(DataError::bad_file(
                path,
                format!(
                    "unknown tokenizer kind {other:?} (char, word, bpe, huggingface or sentencepiece)"
                ),
            )),
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct TokenizerFile {
    format: String,
    version: u32,
    kind: String,
    #[serde(default)]
    merges: Vec<(String, String)>,
    /// The `tokenizer.json` of a Hugging Face tokenizer, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    huggingface: Option<serde_json::Value>,
    /// The `.model` of a SentencePiece tokenizer, its bytes in hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sentencepiece: Option<String>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
