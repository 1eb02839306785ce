//! The vocabulary: a two-way map between tokens and integer ids.
//!
//! Four special tokens come first, at fixed ids, so every model and every
//! batch agrees on them:
//!
//! | id | token   | meaning                                   |
//! |----|---------|-------------------------------------------|
//! | 0  | `<pad>` | filler after the end of a shorter sentence |
//! | 1  | `<bos>` | "begin": the decoder's first input          |
//! | 2  | `<eos>` | "end": the decoder's last output            |
//! | 3  | `<unk>` | any token not in the vocabulary             |
//!
//! The other tokens follow in a deterministic order — by frequency,
//! most frequent first, ties alphabetical — so the same training data always
//! gives the same ids. Tokens rarer than `min_freq` are dropped (they become
//! `<unk>`), and `max_size` caps the total size, specials included.

use super::error::{DataError, Result};
use std::collections::HashMap;
use std::path::Path;

/// Token ↔ id map with the four specials at ids 0..4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vocab {
    tokens: Vec<String>,
    index: HashMap<String, u32>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct VocabFile {
    format: String,
    version: u32,
    tokens: Vec<String>,
}

impl Vocab {
    pub const PAD: u32 = 0;
    pub const BOS: u32 = 1;
    pub const EOS: u32 = 2;
    pub const UNK: u32 = 3;
    /// The special tokens, in id order.
    pub const SPECIALS: [&'static str; 4] = ["<pad>", "<bos>", "<eos>", "<unk>"];

    /// Counts tokens over tokenized sentences and builds the vocabulary.
    pub fn build<S: AsRef<str>>(
        sentences: &[Vec<S>],
        min_freq: usize,
        max_size: Option<usize>,
    ) -> Vocab {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for token in sentences.iter().flatten() {
            *counts.entry(token.as_ref()).or_insert(0) += 1;
        }
        Vocab::from_counts(&counts, min_freq, max_size)
    }

    /// Builds the vocabulary from token counts (see the module docs for
    /// the order). Special tokens in `counts` are ignored.
    pub fn from_counts<S: AsRef<str>>(
        counts: &HashMap<S, usize>,
        min_freq: usize,
        max_size: Option<usize>,
    ) -> Vocab {
        let mut entries: Vec<(&str, usize)> = counts
            .iter()
            .map(|(t, &n)| (t.as_ref(), n))
            .filter(|&(t, n)| n >= min_freq.max(1) && !Self::SPECIALS.contains(&t))
            .collect();
        entries.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let room = max_size.map_or(usize::MAX, |m| m.saturating_sub(Self::SPECIALS.len()));
        let tokens = Self::SPECIALS
            .iter()
            .copied()
            .chain(entries.into_iter().take(room).map(|(t, _)| t))
            .map(String::from)
            .collect();
        Vocab::from_tokens_unchecked(tokens)
    }

    fn from_tokens_unchecked(tokens: Vec<String>) -> Vocab {
        let index = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        Vocab { tokens, index }
    }

    /// Number of tokens, specials included.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Never true: the specials are always there.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The id of `token`, or [`Vocab::UNK`].
    pub fn id(&self, token: &str) -> u32 {
        self.index.get(token).copied().unwrap_or(Self::UNK)
    }

    /// Is `token` in the vocabulary?
    pub fn contains(&self, token: &str) -> bool {
        self.index.contains_key(token)
    }

    /// The token with id `id`, or `<unk>` for an id out of range.
    pub fn token(&self, id: u32) -> &str {
        self.tokens
            .get(id as usize)
            .map_or(Self::SPECIALS[Self::UNK as usize], String::as_str)
    }

    /// All tokens in id order.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// Ids of a token sequence (no `<bos>`/`<eos>` added).
    pub fn encode<S: AsRef<str>>(&self, tokens: &[S]) -> Vec<u32> {
        tokens.iter().map(|t| self.id(t.as_ref())).collect()
    }

    /// Tokens of an id sequence, for output: stops at the first `<eos>` and
    /// leaves out `<pad>` and `<bos>` (`<unk>` stays visible).
    pub fn decode(&self, ids: &[u32]) -> Vec<String> {
        ids.iter()
            .take_while(|&&id| id != Self::EOS)
            .filter(|&&id| id != Self::PAD && id != Self::BOS)
            .map(|&id| self.token(id).to_string())
            .collect()
    }

    /// Writes the tokens in id order as JSON.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let file = VocabFile {
            format: "s2s-vocab".into(),
            version: 1,
            tokens: self.tokens.clone(),
        };
        super::write_json(path.as_ref(), &file)
    }

    /// Reads a vocabulary written by [`Vocab::save`], checking the specials
    /// and that no token appears twice.
    pub fn load(path: impl AsRef<Path>) -> Result<Vocab> {
        let path = path.as_ref();
        let file: VocabFile = super::read_json(path)?;
        if file.format != "s2s-vocab" || file.version != 1 {
            let msg = format!(
                "not an s2s vocabulary (format {:?}, version {})",
                file.format, file.version
            );
            return Err(DataError::bad_file(path, msg));
        }
        if file.tokens.len() < 4 || file.tokens[..4] != Self::SPECIALS {
            let msg = format!("the first four tokens must be {:?}", Self::SPECIALS);
            return Err(DataError::bad_file(path, msg));
        }
        let vocab = Vocab::from_tokens_unchecked(file.tokens);
        if vocab.index.len() != vocab.tokens.len() {
            let dup = vocab
                .tokens
                .iter()
                .enumerate()
                .find(|&(i, t)| vocab.index[t] as usize != i);
            let msg = format!(
                "token {:?} appears more than once",
                dup.map_or("", |d| d.1.as_str())
            );
            return Err(DataError::bad_file(path, msg));
        }
        Ok(vocab)
    }
}
