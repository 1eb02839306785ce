//! BLEU's tokenizers: `13a` (the default) and `none`.
//!
//! BLEU counts word n-grams, so its value depends on how text is cut into
//! words. Post (2018, "A Call for Clarity in Reporting BLEU Scores")
//! showed that differing tokenizations change scores by more than most
//! improvements papers report, and made sacreBLEU apply one fixed
//! tokenizer to detokenized text: `13a`, the tokenizer of the WMT scoring
//! script mteval-v13a.pl. We reproduce sacreBLEU's Python version
//! character for character:
//!
//! ```python
//! line = line.replace('<skipped>', '').replace('-\n', '').replace('\n', ' ')
//! if '&' in line:  # unescape four SGML entities, in this order
//!     line = line.replace('&quot;', '"').replace('&amp;', '&')
//!                .replace('&lt;', '<').replace('&gt;', '>')
//! line = f' {line} '
//! line = re.sub(r'([\{-\~\[-\` -\&\(-\+\:-\@\/])', r' \1 ', line)  # symbols
//! line = re.sub(r'([^0-9])([\.,])', r'\1 \2 ', line)  # . , not after a digit
//! line = re.sub(r'([\.,])([^0-9])', r' \1 \2', line)  # . , not before a digit
//! line = re.sub(r'([0-9])(-)', r'\1 \2 ', line)       # - after a digit
//! return ' '.join(line.split())
//! ```
//!
//! The last three patterns match exactly two characters, and Python's
//! `re.sub` replaces leftmost non-overlapping matches, so each becomes one
//! left-to-right scan that, after a match, resumes behind both characters.
//! That is why "a.." splits only the first full stop in the second pass.

use crate::data::normalize::py_split;

/// How sentences are tokenized before n-grams are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Tokenize {
    /// mteval-v13a, sacreBLEU's default.
    #[default]
    #[serde(rename = "13a")]
    Thirteen,
    /// Split on white space only: for text that is already tokenized.
    #[serde(rename = "none")]
    None,
}

impl Tokenize {
    /// The name used in signatures and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Tokenize::Thirteen => "13a",
            Tokenize::None => "none",
        }
    }

    /// Tokenizes one line; tokens are then separated by white space.
    pub fn apply(self, line: &str) -> String {
        match self {
            Tokenize::Thirteen => tokenize_13a(line),
            Tokenize::None => line.to_string(),
        }
    }
}

impl std::str::FromStr for Tokenize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "13a" => Ok(Tokenize::Thirteen),
            "none" => Ok(Tokenize::None),
            other => Err(format!(
                "unknown BLEU tokenizer {other:?} (expected 13a or none)"
            )),
        }
    }
}

/// The first 13a pattern: ASCII symbols other than `'` `,` `-` `.` and
/// digits/letters — the ranges `{-~`, `[-\``, ` -&`, `(-+`, `:-@` and `/`.
fn is_13a_symbol(c: char) -> bool {
    matches!(c, '{'..='~' | '['..='`' | ' '..='&' | '('..='+' | ':'..='@' | '/')
}

/// One `re.sub` of a two-character pattern `(A)(B)` (see the module docs).
fn sub_pairs(
    chars: &[char],
    first: impl Fn(char) -> bool,
    second: impl Fn(char) -> bool,
    spaces: (bool, bool, bool),
) -> Vec<char> {
    let mut out = Vec::with_capacity(chars.len() + chars.len() / 2);
    let mut i = 0;
    while i < chars.len() {
        if i + 1 < chars.len() && first(chars[i]) && second(chars[i + 1]) {
            // Replacement "[sp]\1[sp]\2[sp]" with the spaces this rule uses.
            let (before, between, after) = spaces;
            out.extend(before.then_some(' '));
            out.push(chars[i]);
            out.extend(between.then_some(' '));
            out.push(chars[i + 1]);
            out.extend(after.then_some(' '));
            i += 2;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// sacreBLEU's `13a` tokenizer (see the module docs).
pub fn tokenize_13a(line: &str) -> String {
    let mut line = line
        .replace("<skipped>", "")
        .replace("-\n", "")
        .replace('\n', " ");
    if line.contains('&') {
        line = line
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
    }
    let digit = |c: char| c.is_ascii_digit();
    let not_digit = |c: char| !c.is_ascii_digit();
    let dot_comma = |c: char| c == '.' || c == ',';

    // Rule 1 (one character, " \1 "), on the line padded with spaces.
    let mut chars = Vec::with_capacity(line.len() * 2);
    for c in format!(" {line} ").chars() {
        if is_13a_symbol(c) {
            chars.extend([' ', c, ' ']);
        } else {
            chars.push(c);
        }
    }
    let chars = sub_pairs(&chars, not_digit, dot_comma, (false, true, true)); // r'\1 \2 '
    let chars = sub_pairs(&chars, dot_comma, not_digit, (true, true, false)); // r' \1 \2'
    let chars = sub_pairs(&chars, digit, |c| c == '-', (false, true, true)); // r'\1 \2 '
    let text: String = chars.into_iter().collect();
    py_split(&text).collect::<Vec<_>>().join(" ")
}
