//! The PyTorch translation tutorial's corpus filter, reproduced exactly.
//!
//! "NLP From Scratch: Translation with a Sequence to Sequence Network and
//! Attention" (Robertson 2017) trains on a small, easy slice of Tatoeba
//! eng-fra: after [`Normalization::Tutorial`](super::Normalization), it keeps
//! only pairs of fewer than `MAX_LENGTH = 10` words on both sides whose
//! English side starts with "i am", "he is", "you are", … Its
//! `prepareData('eng', 'fra', True)` prints
//!
//! ```text
//! Read 135842 sentence pairs / Trimmed to 11445 sentence pairs
//! fra 4601 / eng 2991
//! ```
//!
//! where the word counts are distinct words plus its two specials (SOS and
//! EOS). Words are counted as Python's `s.split(' ')` counts them, so an
//! empty sentence still has one (empty) word, as in the tutorial.

use super::error::Side;
use super::reader::Pair;
use std::collections::HashSet;

/// The tutorial's English prefixes (`eng_prefixes`); the trailing spaces
/// matter ("i am " does not match "i amuse").
pub const ENGLISH_PREFIXES: [&str; 12] = [
    "i am ", "i m ", "he is", "he s ", "she is", "she s ", "you are", "you re ", "we are",
    "we re ", "they are", "they re ",
];

/// Keeps short pairs whose English side starts with a given prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TutorialFilter {
    /// Pairs need *fewer* than this many words on both sides (the tutorial's
    /// `len(p.split(' ')) < MAX_LENGTH`).
    pub max_length: usize,
    pub prefixes: Vec<String>,
    /// The side the prefixes apply to: the English one.
    pub english_side: Side,
}

impl TutorialFilter {
    /// The tutorial's filter: `MAX_LENGTH = 10`, its 12 prefixes, English on
    /// `english_side` (the target, for its fra → eng direction).
    pub fn pytorch(english_side: Side) -> TutorialFilter {
        TutorialFilter {
            max_length: 10,
            prefixes: ENGLISH_PREFIXES.iter().map(|p| p.to_string()).collect(),
            english_side,
        }
    }

    /// Does this pair pass?
    pub fn keeps(&self, pair: &Pair) -> bool {
        let english = match self.english_side {
            Side::Source => &pair.src,
            Side::Target => &pair.tgt,
        };
        tutorial_word_count(&pair.src) < self.max_length
            && tutorial_word_count(&pair.tgt) < self.max_length
            && self
                .prefixes
                .iter()
                .any(|p| english.starts_with(p.as_str()))
    }

    /// The pairs that pass, in their original order.
    pub fn apply(&self, pairs: &[Pair]) -> Vec<Pair> {
        pairs.iter().filter(|p| self.keeps(p)).cloned().collect()
    }
}

/// Python's `len(s.split(' '))`.
pub fn tutorial_word_count(s: &str) -> usize {
    s.split(' ').count()
}

/// The tutorial `Lang.n_words` of each side: distinct words (split on
/// single spaces) plus 2 for its SOS and EOS tokens. Returns (source, target).
pub fn tutorial_vocab_sizes(pairs: &[Pair]) -> (usize, usize) {
    let mut src = HashSet::new();
    let mut tgt = HashSet::new();
    for p in pairs {
        src.extend(p.src.split(' '));
        tgt.extend(p.tgt.split(' '));
    }
    (src.len() + 2, tgt.len() + 2)
}
