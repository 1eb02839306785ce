//! Our BPE merges in the format of subword-nmt (Sennrich's reference
//! implementation, github.com/rsennrich/subword-nmt), so a model's
//! segmentation can be reproduced, or its codes reused, with that tool.
//!
//! A subword-nmt "codes" file (version 0.2) is a `#version: 0.2` line and
//! then one merge per line, `left right`, in the order learned. Version 0.2
//! marks the end of a word exactly as we do: `</w>` glued to the word's
//! last character, so a merge such as `es t</w>` is copied as it is.
//! `subword-nmt apply-bpe` writes its output differently: `</w>` dropped,
//! and every symbol that does not end a word followed by `@@`;
//! [`subword_nmt_segments`] writes ours that way for comparison.

use super::bpe::{Bpe, END_OF_WORD};
use super::error::{DataError, Result};
use std::path::Path;

impl Bpe {
    /// The merges as a subword-nmt version 0.2 codes file.
    pub fn subword_nmt_codes(&self) -> String {
        let mut text = String::from("#version: 0.2\n");
        for (a, b) in self.merges() {
            text.push_str(&format!("{a} {b}\n"));
        }
        text
    }

    /// Writes [`Bpe::subword_nmt_codes`] to `path` (a temporary file, then a
    /// rename).
    pub fn save_subword_nmt_codes(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        std::fs::write(&tmp, self.subword_nmt_codes()).map_err(|e| DataError::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| DataError::io(path, e))
    }
}

/// Our subword symbols as `subword-nmt apply-bpe` prints them: `low@@ er`
/// for `["low", "er</w>"]`.
pub fn subword_nmt_segments<S: AsRef<str>>(symbols: &[S]) -> Vec<String> {
    symbols
        .iter()
        .map(|s| match s.as_ref().strip_suffix(END_OF_WORD) {
            Some(last) => last.to_string(),
            None => format!("{}@@", s.as_ref()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(a: &str, b: &str) -> (String, String) {
        (a.into(), b.into())
    }

    #[test]
    fn codes_are_the_merges_under_a_version_line() {
        let bpe = Bpe::from_merges(vec![pair("e", "s"), pair("es", "t</w>"), pair("l", "o")]);
        assert_eq!(
            bpe.subword_nmt_codes(),
            "#version: 0.2\ne s\nes t</w>\nl o\n"
        );
    }

    #[test]
    fn segments_mark_continued_words_with_at_at() {
        let bpe = Bpe::from_merges(vec![pair("e", "s"), pair("es", "t</w>"), pair("l", "o")]);
        let symbols = bpe.encode(&["lowest", "a"]);
        assert_eq!(symbols, ["lo", "w", "est</w>", "a</w>"]);
        assert_eq!(subword_nmt_segments(&symbols), ["lo@@", "w@@", "est", "a"]);
    }
}
