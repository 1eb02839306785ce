//! Byte-pair encoding for open vocabularies (Sennrich, Haddow and Birch
//! 2016, "Neural Machine Translation of Rare Words with Subword Units").
//!
//! A word-level vocabulary cannot hold every word a test set will use; BPE
//! splits rare words into frequent pieces instead. Learning starts from
//! characters and repeats N times: count every pair of adjacent symbols in
//! the training words (weighted by word frequency), and merge the most
//! frequent pair into one new symbol. The last character of each word
//! carries the end-of-word marker `</w>`, so "er" inside "eraser" and "er"
//! at the end of "lower" stay different symbols and decoding knows where
//! words end.
//!
//! Determinism: when two pairs are equally frequent, the pair that is
//! smaller as a pair of strings (first symbol, then second) wins, so the
//! same corpus always gives the same merges on every machine. Learning
//! stops early when no pair occurs at least `min_frequency` times.
//!
//! This file holds the model (applying merges, saving, loading); learning
//! is in `bpe_learn.rs`.

use super::error::{DataError, Result};
use std::collections::HashMap;
use std::path::Path;

/// The end-of-word marker appended to the last symbol of every word.
pub const END_OF_WORD: &str = "</w>";

/// A learned list of merges, applied in the order they were learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bpe {
    merges: Vec<(String, String)>,
    /// Merge rank by "left right" (the space cannot occur inside a symbol).
    ranks: HashMap<String, usize>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct BpeFile {
    format: String,
    version: u32,
    end_of_word: String,
    merges: Vec<(String, String)>,
}

fn rank_key(a: &str, b: &str) -> String {
    format!("{a} {b}")
}

/// The initial symbols of a word: its characters, the last one marked.
pub(super) fn word_symbols(word: &str) -> Vec<String> {
    let mut symbols: Vec<String> = word.chars().map(String::from).collect();
    if let Some(last) = symbols.last_mut() {
        last.push_str(END_OF_WORD);
    }
    symbols
}

/// Merges every occurrence of `(a, b)` in `symbols`, left to right.
pub(super) fn merge_in<T: Clone + PartialEq>(symbols: &[T], a: &T, b: &T, merged: &T) -> Vec<T> {
    let mut out = Vec::with_capacity(symbols.len());
    let mut i = 0;
    while i < symbols.len() {
        if i + 1 < symbols.len() && &symbols[i] == a && &symbols[i + 1] == b {
            out.push(merged.clone());
            i += 2;
        } else {
            out.push(symbols[i].clone());
            i += 1;
        }
    }
    out
}

impl Bpe {
    /// A BPE model from an explicit merge list.
    pub fn from_merges(merges: Vec<(String, String)>) -> Bpe {
        let ranks = merges
            .iter()
            .enumerate()
            .map(|(i, (a, b))| (rank_key(a, b), i))
            .collect();
        Bpe { merges, ranks }
    }

    /// The merges in the order they were learned.
    pub fn merges(&self) -> &[(String, String)] {
        &self.merges
    }

    /// Splits one word into subword symbols: start from characters and apply
    /// the earliest-learned applicable merge until none applies.
    pub fn encode_word(&self, word: &str) -> Vec<String> {
        let mut symbols = word_symbols(word);
        loop {
            let best = symbols
                .windows(2)
                .filter_map(|p| {
                    self.ranks
                        .get(&rank_key(&p[0], &p[1]))
                        .map(|&r| (r, p[0].clone(), p[1].clone()))
                })
                .min();
            let Some((_, a, b)) = best else { break };
            let merged = format!("{a}{b}");
            symbols = merge_in(&symbols, &a, &b, &merged);
        }
        symbols
    }

    /// Encodes a tokenized sentence; repeated words are split only once.
    pub fn encode<S: AsRef<str>>(&self, words: &[S]) -> Vec<String> {
        let mut cache = HashMap::new();
        self.encode_cached(words, &mut cache)
    }

    /// Encodes many sentences, sharing one cache of split words.
    pub fn encode_all<S: AsRef<str>>(&self, sentences: &[Vec<S>]) -> Vec<Vec<String>> {
        let mut cache = HashMap::new();
        sentences
            .iter()
            .map(|s| self.encode_cached(s, &mut cache))
            .collect()
    }

    fn encode_cached<S: AsRef<str>>(
        &self,
        words: &[S],
        cache: &mut HashMap<String, Vec<String>>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for word in words {
            let word = word.as_ref();
            if !cache.contains_key(word) {
                cache.insert(word.to_string(), self.encode_word(word));
            }
            out.extend(cache[word].iter().cloned());
        }
        out
    }

    /// Joins subword symbols back into words: a symbol ending in `</w>`
    /// ends a word. A trailing unfinished word (a model may stop mid-word)
    /// is kept as it is.
    pub fn decode<S: AsRef<str>>(symbols: &[S]) -> Vec<String> {
        let mut words = Vec::new();
        let mut word = String::new();
        for s in symbols {
            let s = s.as_ref();
            match s.strip_suffix(END_OF_WORD) {
                Some(piece) => {
                    word.push_str(piece);
                    words.push(std::mem::take(&mut word));
                }
                None => word.push_str(s),
            }
        }
        if !word.is_empty() {
            words.push(word);
        }
        words
    }

    /// Writes the merges as JSON.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let file = BpeFile {
            format: "s2s-bpe".into(),
            version: 1,
            end_of_word: END_OF_WORD.into(),
            merges: self.merges.clone(),
        };
        super::write_json(path.as_ref(), &file)
    }

    /// Reads merges written by [`Bpe::save`].
    pub fn load(path: impl AsRef<Path>) -> Result<Bpe> {
        let path = path.as_ref();
        let file: BpeFile = super::read_json(path)?;
        if file.format != "s2s-bpe" || file.version != 1 {
            let msg = format!(
                "not an s2s BPE file (format {:?}, version {})",
                file.format, file.version
            );
            return Err(DataError::bad_file(path, msg));
        }
        if file.end_of_word != END_OF_WORD {
            let msg = format!(
                "end-of-word marker {:?} is not {END_OF_WORD:?}",
                file.end_of_word
            );
            return Err(DataError::bad_file(path, msg));
        }
        if let Some(i) = file
            .merges
            .iter()
            .position(|(a, b)| a.is_empty() || b.is_empty())
        {
            return Err(DataError::bad_file(
                path,
                format!("merge {i} has an empty symbol"),
            ));
        }
        Ok(Bpe::from_merges(file.merges))
    }
}
