//! Text normalisation: one canonical spelling for every sentence.
//!
//! The same word can reach us as different code points: "é" as one
//! character (U+00E9) or as "e" followed by a combining acute (U+0301).
//! Unicode normalisation form C (NFC, UAX #15) composes both into the first,
//! so a vocabulary never holds two spellings of one word. NFC is the default.
//!
//! The PyTorch seq2seq tutorial ("NLP From Scratch: Translation with a
//! Sequence to Sequence Network and Attention", Robertson 2017) goes much
//! further, and to reproduce its numbers we copy its `normalizeString`
//! exactly:
//!
//! ```python
//! s = unicodeToAscii(s.lower().strip())      # NFD, then drop marks
//! s = re.sub(r"([.!?])", r" \1", s)
//! s = re.sub(r"[^a-zA-Z!?]+", r" ", s)       # older: [^a-zA-Z.!?]+
//! return s.strip()
//! ```
//!
//! It folds "Ça va ?" to "ca va ?", drops digits and most punctuation, and
//! (in the current version) the full stop too. The older version kept `.`;
//! [`Normalization::TutorialKeepPeriod`] reproduces that one.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// How each side of a sentence pair is normalised after reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Normalization {
    /// Keep the text as it is, apart from trimming white space at the ends.
    None,
    /// Unicode NFC, trimmed (the default).
    #[default]
    Nfc,
    /// The PyTorch tutorial's `normalizeString` (regex `[^a-zA-Z!?]+`).
    Tutorial,
    /// The tutorial's older `normalizeString` (regex `[^a-zA-Z.!?]+`).
    TutorialKeepPeriod,
}

impl Normalization {
    /// Normalises one sentence; `lowercase` is applied after NFC (the
    /// tutorial variants always lowercase).
    pub fn apply(self, text: &str, lowercase: bool) -> String {
        let text = match self {
            Normalization::None => py_strip(text).to_string(),
            Normalization::Nfc => nfc(py_strip(text)),
            Normalization::Tutorial => return tutorial_normalize(text, false),
            Normalization::TutorialKeepPeriod => return tutorial_normalize(text, true),
        };
        if lowercase {
            text.to_lowercase()
        } else {
            text
        }
    }
}

/// Unicode normalisation form C.
pub fn nfc(text: &str) -> String {
    text.nfc().collect()
}

/// White space as Python's `str.split()` and `str.strip()` see it: Rust's
/// `char::is_whitespace` (the Unicode White_Space property) plus the four
/// ASCII information separators U+001C..U+001F, which Python also counts.
/// Matching Python matters wherever we promise Python's numbers.
pub fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `s.strip()`.
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// Python's `s.split()`: split on runs of white space, no empty pieces.
pub fn py_split(s: &str) -> impl Iterator<Item = &str> {
    s.split(is_py_space).filter(|w| !w.is_empty())
}

/// ASCII folding as the tutorial's `unicodeToAscii` does it: decompose (NFD)
/// and drop the combining marks, so "é" becomes "e" and "ß" stays "ß".
///
/// Python drops only general category Mn; we drop every combining mark
/// (Mn, Mc, Me). The difference never reaches the output of
/// [`tutorial_normalize`]: spacing marks follow non-Latin letters, which the
/// next step turns into spaces together with the mark.
pub fn ascii_fold(text: &str) -> String {
    text.nfd().filter(|&c| !is_combining_mark(c)).collect()
}

/// The tutorial's `normalizeString`, step by step (see the module docs).
pub fn tutorial_normalize(text: &str, keep_period: bool) -> String {
    let folded = ascii_fold(py_strip(&text.to_lowercase()));
    // `re.sub(r"([.!?])", r" \1", s)`: a space before each sentence mark.
    let mut spaced = String::with_capacity(folded.len() + 8);
    for c in folded.chars() {
        if matches!(c, '.' | '!' | '?') {
            spaced.push(' ');
        }
        spaced.push(c);
    }
    // `re.sub(r"[^a-zA-Z!?]+", r" ", s)`: every run of other characters
    // (including the spaces just added) becomes one space.
    let keep =
        |c: char| c.is_ascii_alphabetic() || c == '!' || c == '?' || (keep_period && c == '.');
    let mut out = String::with_capacity(spaced.len());
    let mut in_run = false;
    for c in spaced.chars() {
        if keep(c) {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push(' ');
            in_run = true;
        }
    }
    // Only ASCII letters, `!?.` and single spaces are left, so a plain
    // trim equals Python's `strip()` here.
    out.trim_matches(' ').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tutorial_examples() {
        assert_eq!(tutorial_normalize("Ça va ?", false), "ca va ?");
        assert_eq!(tutorial_normalize("Je vais bien.", false), "je vais bien");
        assert_eq!(tutorial_normalize("Je vais bien.", true), "je vais bien .");
        assert_eq!(tutorial_normalize("I'm OK.", false), "i m ok");
        assert_eq!(tutorial_normalize("Va\u{202f}!", false), "va !");
        assert_eq!(tutorial_normalize("  ", false), "");
    }

    #[test]
    fn nfc_composes() {
        assert_eq!(nfc("e\u{301}"), "\u{e9}");
        assert_eq!(
            Normalization::Nfc.apply("  E\u{301}t\u{e9} ", true),
            "\u{e9}t\u{e9}"
        );
    }
}
