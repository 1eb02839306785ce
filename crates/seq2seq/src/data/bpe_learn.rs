//! Learning BPE merges (Sennrich, Haddow and Birch 2016, Algorithm 1).
//!
//! The paper's loop recounts every pair after every merge. We count once,
//! then after each merge recount only the words that contained the merged
//! pair, and keep candidates in a max-heap that is updated lazily (an entry
//! whose count is out of date is skipped when popped). Tens of thousands of
//! merges on a corpus like Multi30k then take seconds.
//!
//! Ties are broken by the pair of strings (smaller first symbol, then
//! smaller second symbol), so the merges never depend on hash order.

use super::bpe::{merge_in, word_symbols, Bpe};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

type Pair = (u32, u32);
/// Heap entry: count first, then the smaller pair of strings wins ties.
type Candidate = (i64, Reverse<(String, String)>, Pair);

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
        let names = (
            self.symbols[pair.0 as usize].clone(),
            self.symbols[pair.1 as usize].clone(),
        );
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

impl Bpe {
    /// Learns up to `num_merges` merges from word frequencies. Pairs seen
    /// fewer than `min_frequency` (at least 1) times are never merged.
    pub fn learn(
        word_counts: &HashMap<String, usize>,
        num_merges: usize,
        min_frequency: usize,
    ) -> Bpe {
        let mut learner = Learner {
            symbols: Vec::new(),
            ids: HashMap::new(),
            words: Vec::new(),
            counts: HashMap::new(),
            occurs: HashMap::new(),
            heap: BinaryHeap::new(),
        };
        // Sorted, so symbol ids (and everything else) never depend on hash order.
        let mut sorted: Vec<(&String, &usize)> =
            word_counts.iter().filter(|(w, _)| !w.is_empty()).collect();
        sorted.sort();
        for (word, &freq) in sorted {
            let ids = word_symbols(word)
                .iter()
                .map(|s| learner.intern(s))
                .collect();
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
            let Some(((a, b), count)) = learner.best() else {
                break;
            };
            if count < min_frequency.max(1) as i64 {
                break;
            }
            let name = format!(
                "{}{}",
                learner.symbols[a as usize], learner.symbols[b as usize]
            );
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
            merges.push((
                learner.symbols[a as usize].clone(),
                learner.symbols[b as usize].clone(),
            ));
        }
        Bpe::from_merges(merges)
    }

    /// Learns from tokenized sentences (the training side of a corpus).
    pub fn learn_from_sentences<S: AsRef<str>>(
        sentences: &[Vec<S>],
        num_merges: usize,
        min_frequency: usize,
    ) -> Bpe {
        let mut counts = HashMap::new();
        for word in sentences.iter().flatten() {
            *counts.entry(word.as_ref().to_string()).or_insert(0) += 1;
        }
        Bpe::learn(&counts, num_merges, min_frequency)
    }
}
