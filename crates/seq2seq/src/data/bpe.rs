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
//! Counting is incremental (only the words that contain the merged pair are
//! recounted) with a lazily updated max-heap, so tens of thousands of merges
//! on a corpus like Multi30k take seconds.

use super::error::{DataError, Result};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::path::Path;

/// The end-of-word marker appended to the last symbol of every word.
pub const END_OF_WORD: &str = "</w>";

type Pair = (u32, u32);
/// Heap entry: count first, then the smaller pair of strings wins ties.
type Candidate = (i64, Reverse<(String, String)>, Pair);

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
fn word_symbols(word: &str) -> Vec<String> {
    let mut symbols: Vec<String> = word.chars().map(String::from).collect();
    if let Some(last) = symbols.last_mut() {
        last.push_str(END_OF_WORD);
    }
    symbols
}

/// Learning state: words as symbol ids, and pair counts kept up to date.
struct Learner {
    symbols: Vec<String>,
    ids: HashMap<String, u32>,
    words: Vec<(Vec<u32>, i64)>,
    counts: HashMap<Pair, i64>,
    /// Which words (may be stale, may repeat) contain each pair.
    occurs: HashMap<Pair, Vec<usize>>,
    heap: BinaryHeap<Candidate>,
}

impl Learner {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.symbols.len() as u32;
        self.symbols.push(s.to_string());
        self.ids.insert(s.to_string(), id);
        id
    }

    fn push(&mut self, pair: Pair) {
        let count = self.counts.get(&pair).copied().unwrap_or(0);
        let names = (self.symbols[pair.0 as usize].clone(), self.symbols[pair.1 as usize].clone());
        self.heap.push((count, Reverse(names), pair));
    }

    /// Adds `sign` × frequency of word `w` to the counts of all its pairs.
    fn count_word(&mut self, w: usize, sign: i64, touched: &mut HashSet<Pair>) {
        let (symbols, freq) = &self.words[w];
        for pair in symbols.windows(2).map(|p| (p[0], p[1])) {
            *self.counts.entry(pair).or_insert(0) += sign * freq;
            if sign > 0 {
                self.occurs.entry(pair).or_default().push(w);
            }
            touched.insert(pair);
        }
    }

    /// The most frequent pair, skipping heap entries whose count is stale.
    fn best(&mut self) -> Option<(Pair, i64)> {
        while let Some((count, _, pair)) = self.heap.pop() {
            if self.counts.get(&pair) == Some(&count) {
                return Some((pair, count));
            }
        }
        None
    }
}

/// Merges every occurrence of `(a, b)` in `symbols`, left to right.
fn merge_in<T: Clone + PartialEq>(symbols: &[T], a: &T, b: &T, merged: &T) -> Vec<T> {
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
    /// Learns up to `num_merges` merges from word frequencies. Pairs seen
    /// fewer than `min_frequency` (at least 1) times are never merged.
    pub fn learn(word_counts: &HashMap<String, usize>, num_merges: usize, min_frequency: usize) -> Bpe {
        let mut learner = Learner {
            symbols: Vec::new(),
            ids: HashMap::new(),
            words: Vec::new(),
            counts: HashMap::new(),
            occurs: HashMap::new(),
            heap: BinaryHeap::new(),
        };
        // Sorted, so symbol ids (and everything else) never depend on hash order.
        let mut sorted: Vec<(&String, &usize)> = word_counts.iter().filter(|(w, _)| !w.is_empty()).collect();
        sorted.sort();
        for (word, &freq) in sorted {
            let ids = word_symbols(word).iter().map(|s| learner.intern(s)).collect();
            learner.words.push((ids, freq as i64));
        }
        let mut touched = HashSet::new();
        for w in 0..learner.words.len() {
            learner.count_word(w, 1, &mut touched);
        }
        let mut initial: Vec<Pair> = touched.drain().collect();
        initial.sort();
        for pair in initial {
            learner.push(pair);
        }

        let mut merges = Vec::new();
        while merges.len() < num_merges {
            let Some(((a, b), count)) = learner.best() else { break };
            if count < min_frequency.max(1) as i64 {
                break;
            }
            let name = format!("{}{}", learner.symbols[a as usize], learner.symbols[b as usize]);
            let merged = learner.intern(&name);
            let mut words = learner.occurs.remove(&(a, b)).unwrap_or_default();
            words.sort_unstable();
            words.dedup();
            for w in words {
                let symbols = &learner.words[w].0;
                if !symbols.windows(2).any(|p| p[0] == a && p[1] == b) {
                    continue; // stale entry: an earlier merge removed the pair
                }
                learner.count_word(w, -1, &mut touched);
                learner.words[w].0 = merge_in(&learner.words[w].0, &a, &b, &merged);
                learner.count_word(w, 1, &mut touched);
            }
            let mut changed: Vec<Pair> = touched.drain().collect();
            changed.sort();
            for pair in changed {
                learner.push(pair);
            }
            merges.push((learner.symbols[a as usize].clone(), learner.symbols[b as usize].clone()));
        }
        Bpe::from_merges(merges)
    }

    /// Learns from tokenized sentences (the training side of a corpus).
    pub fn learn_from_sentences<S: AsRef<str>>(sentences: &[Vec<S>], num_merges: usize, min_frequency: usize) -> Bpe {
        let mut counts = HashMap::new();
        for word in sentences.iter().flatten() {
            *counts.entry(word.as_ref().to_string()).or_insert(0) += 1;
        }
        Bpe::learn(&counts, num_merges, min_frequency)
    }

    /// A BPE model from an explicit merge list.
    pub fn from_merges(merges: Vec<(String, String)>) -> Bpe {
        let ranks = merges.iter().enumerate().map(|(i, (a, b))| (rank_key(a, b), i)).collect();
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
                .filter_map(|p| self.ranks.get(&rank_key(&p[0], &p[1])).map(|&r| (r, p[0].clone(), p[1].clone())))
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
        sentences.iter().map(|s| self.encode_cached(s, &mut cache)).collect()
    }

    fn encode_cached<S: AsRef<str>>(&self, words: &[S], cache: &mut HashMap<String, Vec<String>>) -> Vec<String> {
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
            let msg = format!("not an s2s BPE file (format {:?}, version {})", file.format, file.version);
            return Err(DataError::bad_file(path, msg));
        }
        if file.end_of_word != END_OF_WORD {
            let msg = format!("end-of-word marker {:?} is not {END_OF_WORD:?}", file.end_of_word);
            return Err(DataError::bad_file(path, msg));
        }
        if let Some(i) = file.merges.iter().position(|(a, b)| a.is_empty() || b.is_empty()) {
            return Err(DataError::bad_file(path, format!("merge {i} has an empty symbol")));
        }
        Ok(Bpe::from_merges(file.merges))
    }
}
