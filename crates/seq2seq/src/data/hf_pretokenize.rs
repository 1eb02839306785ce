//! The text preparation steps of a Hugging Face `tokenizer.json` that come
//! before its model: normalizers and pre-tokenizers.
//!
//! A `tokenizers` pipeline is normalizer → pre-tokenizer → model →
//! post-processor. The normalizer rewrites the whole text (Unicode forms,
//! lowercasing); the pre-tokenizer cuts it into pieces ("words") that the
//! BPE model then splits on its own, never across pieces. We implement the
//! steps that BPE tokenizers commonly use, written from the behaviour the
//! `tokenizers` library documents and shows (checked against it by
//! tests/data_hf_tokenizer.rs):
//!
//! * `Whitespace`: runs of word characters, and runs of other non-space
//!   characters (the library's `\w+|[^\w\s]+`).
//! * `WhitespaceSplit`: pieces between white space.
//! * `Metaspace`: spaces become `▁`, one is put in front of the text, and
//!   the text is cut before every `▁` (SentencePiece style).
//! * `ByteLevel`: GPT-2's split (contractions, letters, digits, other
//!   marks, each with one optional leading space), then every UTF-8 byte
//!   is written as one printable character, so no input is unknown.
//! * `Sequence`: each of a list in turn.
//!
//! Unicode classes come from the standard library's `char` methods and
//! `unicode-normalization` (letters: alphabetic but not a mark nor a
//! number), which matches the library's regular expressions on every
//! letter, mark and digit except a few circled letters.

use serde_json::Value;

/// A problem with the JSON at `path` (a dotted JSON path such as
/// `pre_tokenizer.pretokenizers[1]`).
pub(super) struct JsonError {
    pub path: String,
    pub message: String,
}

pub(super) type JsonResult<T> = std::result::Result<T, JsonError>;

pub(super) fn json_error(path: &str, message: impl Into<String>) -> JsonError {
    JsonError {
        path: path.to_string(),
        message: message.into(),
    }
}

/// The `"type"` of the object at `path`.
pub(super) fn type_of<'a>(value: &'a Value, path: &str) -> JsonResult<&'a str> {
    value
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| json_error(path, "has no \"type\" string"))
}

/// A boolean field, `default` when absent or null.
pub(super) fn flag(value: &Value, key: &str, default: bool, path: &str) -> JsonResult<bool> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(json_error(
            &format!("{path}.{key}"),
            format!("must be true or false, found {other}"),
        )),
    }
}

/// A text rewrite applied to the whole input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Normalizer {
    Nfc,
    Nfd,
    Nfkc,
    Nfkd,
    Lowercase,
}

impl Normalizer {
    /// The normalizers of `value` (null, one, or a `Sequence`), in order.
    pub fn parse(value: &Value, path: &str) -> JsonResult<Vec<Normalizer>> {
        if value.is_null() {
            return Ok(Vec::new());
        }
        let one = match type_of(value, path)? {
            "NFC" => Normalizer::Nfc,
            "NFD" => Normalizer::Nfd,
            "NFKC" => Normalizer::Nfkc,
            "NFKD" => Normalizer::Nfkd,
            "Lowercase" => Normalizer::Lowercase,
            "Sequence" => return parse_sequence(value, "normalizers", path, Normalizer::parse),
            other => {
                return Err(json_error(
                    path,
                    format!(
                        "normalizer {other:?} is not supported \
                         (supported: NFC, NFD, NFKC, NFKD, Lowercase, Sequence)"
                    ),
                ))
            }
        };
        Ok(vec![one])
    }

    pub fn apply(&self, text: &str) -> String {
        use unicode_normalization::UnicodeNormalization;
        match self {
            Normalizer::Nfc => text.nfc().collect(),
            Normalizer::Nfd => text.nfd().collect(),
            Normalizer::Nfkc => text.nfkc().collect(),
            Normalizer::Nfkd => text.nfkd().collect(),
            Normalizer::Lowercase => text.to_lowercase(),
        }
    }
}

/// The items of a `Sequence` object's list `key`, each parsed by `parse`.
fn parse_sequence<T>(
    value: &Value,
    key: &str,
    path: &str,
    parse: fn(&Value, &str) -> JsonResult<Vec<T>>,
) -> JsonResult<Vec<T>> {
    let items = value
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| json_error(path, format!("a Sequence needs a \"{key}\" list")))?;
    let mut all = Vec::new();
    for (i, item) in items.iter().enumerate() {
        all.extend(parse(item, &format!("{path}.{key}[{i}]"))?);
    }
    Ok(all)
}

/// When Metaspace puts a `▁` in front of a piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Prepend {
    Always,
    /// Only in front of the piece that starts the text.
    First,
    Never,
}

/// One way of cutting text into the pieces the model splits further.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PreTokenizer {
    Whitespace,
    WhitespaceSplit,
    Metaspace {
        replacement: char,
        prepend: Prepend,
        split: bool,
    },
    ByteLevel {
        add_prefix_space: bool,
        use_regex: bool,
    },
}

/// A piece of the text and the byte offset it starts at in the normalized text.
pub(super) type Piece = (usize, String);

impl PreTokenizer {
    /// The pre-tokenizers of `value` (null, one, or a `Sequence`), in order.
    pub fn parse(value: &Value, path: &str) -> JsonResult<Vec<PreTokenizer>> {
        if value.is_null() {
            return Ok(Vec::new());
        }
        let one = match type_of(value, path)? {
            "Whitespace" => PreTokenizer::Whitespace,
            "WhitespaceSplit" => PreTokenizer::WhitespaceSplit,
            "Metaspace" => parse_metaspace(value, path)?,
            "ByteLevel" => PreTokenizer::ByteLevel {
                add_prefix_space: flag(value, "add_prefix_space", true, path)?,
                use_regex: flag(value, "use_regex", true, path)?,
            },
            "Sequence" => return parse_sequence(value, "pretokenizers", path, PreTokenizer::parse),
            other => {
                return Err(json_error(
                    path,
                    format!(
                        "pre-tokenizer {other:?} is not supported (supported: Whitespace, \
                         WhitespaceSplit, Metaspace, ByteLevel, Sequence)"
                    ),
                ))
            }
        };
        Ok(vec![one])
    }

    /// Cuts each piece further.
    pub fn apply(&self, pieces: Vec<Piece>) -> Vec<Piece> {
        let mut out = Vec::new();
        for (start, text) in pieces {
            let cut = match self {
                PreTokenizer::Whitespace => split_words_and_marks(&text),
                PreTokenizer::WhitespaceSplit => split_whitespace(&text),
                PreTokenizer::Metaspace {
                    replacement,
                    prepend,
                    split,
                } => metaspace(&text, start, *replacement, *prepend, *split),
                PreTokenizer::ByteLevel {
                    add_prefix_space,
                    use_regex,
                } => byte_level(&text, *add_prefix_space, *use_regex),
            };
            out.extend(cut.into_iter().map(|(at, piece)| (start + at, piece)));
        }
        out
    }
}

fn parse_metaspace(value: &Value, path: &str) -> JsonResult<PreTokenizer> {
    let replacement = match value.get("replacement").and_then(Value::as_str) {
        None => '\u{2581}',
        Some(s) if s.chars().count() == 1 => s.chars().next().unwrap_or('\u{2581}'),
        Some(s) => {
            let msg = format!("must be one character, found {s:?}");
            return Err(json_error(&format!("{path}.replacement"), msg));
        }
    };
    // Older files say `add_prefix_space`; newer ones `prepend_scheme`.
    let prepend = match value.get("prepend_scheme").and_then(Value::as_str) {
        Some("always") => Prepend::Always,
        Some("first") => Prepend::First,
        Some("never") => Prepend::Never,
        Some(other) => {
            let msg = format!("{other:?} is not always, first or never");
            return Err(json_error(&format!("{path}.prepend_scheme"), msg));
        }
        None if flag(value, "add_prefix_space", true, path)? => Prepend::Always,
        None => Prepend::Never,
    };
    Ok(PreTokenizer::Metaspace {
        replacement,
        prepend,
        split: flag(value, "split", true, path)?,
    })
}

/// The Unicode "connector punctuation" characters (`_` and its kin), which
/// regular expressions count as word characters.
fn is_connector(c: char) -> bool {
    matches!(
        c,
        '_' | '\u{203F}' | '\u{2040}' | '\u{2054}' | '\u{FE33}' | '\u{FE34}' | '\u{FE4D}'
            ..='\u{FE4F}' | '\u{FF3F}'
    )
}

fn is_mark(c: char) -> bool {
    unicode_normalization::char::is_combining_mark(c)
}

/// `\p{L}`: a letter.
fn is_letter(c: char) -> bool {
    c.is_alphabetic() && !is_mark(c) && !c.is_numeric()
}

/// `\w`: letters, marks, digits and connectors.
fn is_word(c: char) -> bool {
    is_letter(c) || is_mark(c) || c.is_numeric() || is_connector(c)
}

/// Pieces of `text` cut wherever `class` changes, dropping the pieces of
/// class `None` (the separators).
fn runs(text: &str, class: impl Fn(char) -> Option<u8>) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    let mut current: Option<(u8, usize)> = None;
    for (i, c) in text.char_indices() {
        let k = class(c);
        if current.map(|(cur, _)| Some(cur)) != Some(k) {
            if let Some((_, start)) = current.take() {
                out.push((start, text[start..i].to_string()));
            }
            current = k.map(|k| (k, i));
        }
    }
    if let Some((_, start)) = current {
        out.push((start, text[start..].to_string()));
    }
    out
}

/// `\w+|[^\w\s]+`.
fn split_words_and_marks(text: &str) -> Vec<Piece> {
    runs(text, |c| match (c.is_whitespace(), is_word(c)) {
        (true, _) => None,
        (false, true) => Some(0),
        (false, false) => Some(1),
    })
}

fn split_whitespace(text: &str) -> Vec<Piece> {
    runs(text, |c| (!c.is_whitespace()).then_some(0))
}

/// Spaces → `replacement`, the prefix, then cuts before each replacement.
/// Offsets of the result are approximate (they only decide `First`).
fn metaspace(text: &str, start: usize, rep: char, prepend: Prepend, split: bool) -> Vec<Piece> {
    let mut s: String = text
        .chars()
        .map(|c| if c == ' ' { rep } else { c })
        .collect();
    let wanted = match prepend {
        Prepend::Always => true,
        Prepend::First => start == 0,
        Prepend::Never => false,
    };
    if wanted && !s.starts_with(rep) {
        s.insert(0, rep);
    }
    if !split {
        return vec![(0, s)];
    }
    let mut out = Vec::new();
    let mut begin = 0;
    for (i, c) in s.char_indices() {
        if c == rep && i > begin {
            out.push((begin, s[begin..i].to_string()));
            begin = i;
        }
    }
    if begin < s.len() {
        out.push((begin, s[begin..].to_string()));
    }
    out
}

/// GPT-2's pre-tokenization, then each byte as its printable character.
fn byte_level(text: &str, add_prefix_space: bool, use_regex: bool) -> Vec<Piece> {
    let mut owned = text.to_string();
    if add_prefix_space && !owned.starts_with(' ') {
        owned.insert(0, ' ');
    }
    let pieces = if use_regex {
        gpt2_split(&owned)
    } else {
        vec![(0, owned.clone())]
    };
    pieces
        .into_iter()
        .map(|(at, p)| (at, p.bytes().map(byte_char).collect()))
        .collect()
}

/// The pieces of GPT-2's pattern
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
/// matched left to right as a regular expression engine would.
fn gpt2_split(text: &str) -> Vec<Piece> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    let offset = |i: usize| chars.get(i).map_or(text.len(), |&(o, _)| o);
    let other = |c: char| !c.is_whitespace() && !is_letter(c) && !c.is_numeric();
    let classes: [&dyn Fn(char) -> bool; 3] = [&is_letter, &|c: char| c.is_numeric(), &other];
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let end = match_gpt2_at(&chars, i, &at, &classes);
        out.push((offset(i), text[offset(i)..offset(end)].to_string()));
        i = end;
    }
    out
}

/// The end (a char index) of the match that starts at `i`.
fn match_gpt2_at(
    chars: &[(usize, char)],
    i: usize,
    at: &dyn Fn(usize) -> Option<char>,
    classes: &[&dyn Fn(char) -> bool; 3],
) -> usize {
    if at(i) == Some('\'') {
        for suffix in ["s", "t", "re", "ve", "m", "ll", "d"] {
            let n = suffix.chars().count();
            let follows = suffix
                .chars()
                .enumerate()
                .all(|(k, c)| at(i + 1 + k) == Some(c));
            if follows {
                return i + 1 + n;
            }
        }
    }
    let first = if at(i) == Some(' ') { i + 1 } else { i };
    for class in classes {
        if at(first).is_some_and(class) {
            let mut end = first;
            while at(end).is_some_and(class) {
                end += 1;
            }
            return end;
        }
    }
    // White space: all of it if it ends the text; otherwise all but the
    // last character (which then opens the next piece), or that one char.
    let mut end = i;
    while at(end).is_some_and(char::is_whitespace) {
        end += 1;
    }
    if end == chars.len() || end - i == 1 {
        end
    } else {
        end - 1
    }
}

/// GPT-2's printable stand-in for byte `b`: printable Latin-1 bytes stand
/// for themselves, the others are numbered from U+0100 on.
pub(super) fn byte_char(b: u8) -> char {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    if printable(b) {
        return char::from(b);
    }
    let rank = (0..b).filter(|&x| !printable(x)).count() as u32;
    char::from_u32(256 + rank).unwrap_or('\u{FFFD}')
}

/// The byte that [`byte_char`] wrote as `c`, if it is one of its characters.
pub(super) fn char_byte(c: char) -> Option<u8> {
    (0..=255u8).find(|&b| byte_char(b) == c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(pieces: Vec<Piece>) -> Vec<String> {
        pieces.into_iter().map(|(_, p)| p).collect()
    }

    #[test]
    fn whitespace_splits_words_from_marks() {
        let p = PreTokenizer::Whitespace.apply(vec![(0, "It's 3.5km, ok?!".into())]);
        assert_eq!(texts(p), ["It", "'", "s", "3", ".", "5km", ",", "ok", "?!"]);
    }

    #[test]
    fn metaspace_prefixes_and_cuts_before_each_space() {
        let m = PreTokenizer::Metaspace {
            replacement: '▁',
            prepend: Prepend::Always,
            split: true,
        };
        let p = m.apply(vec![(0, "a  bc d".into())]);
        assert_eq!(texts(p), ["▁a", "▁", "▁bc", "▁d"]);
    }

    #[test]
    fn gpt2_split_keeps_one_space_with_the_next_word() {
        let p = gpt2_split("I'll  see 42!  ");
        assert_eq!(texts(p), ["I", "'ll", " ", " see", " 42", "!", "  "]);
    }

    #[test]
    fn byte_chars_are_gpt2s_table() {
        assert_eq!(byte_char(b' '), 'Ġ');
        assert_eq!(byte_char(b'\n'), 'Ċ');
        assert_eq!(byte_char(b'a'), 'a');
        assert_eq!(byte_char(0xAD), 'Ń');
        assert!((0..=255u8).all(|b| char_byte(byte_char(b)) == Some(b)));
    }
}
