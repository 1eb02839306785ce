//! A SentencePiece `.model` (Kudo and Richardson 2018), read and applied
//! without the library: unigram and BPE models.
//!
//! The file is a protocol buffer, a `ModelProto`; we read the three parts
//! that decide encoding (protobuf.rs has the wire format): the pieces
//! (text, score, type), `trainer_spec.model_type`, and the
//! `normalizer_spec` switches. SentencePiece works on the raw sentence:
//! runs of spaces become one, a space is put in front (`add_dummy_prefix`),
//! and every space is written `▁`. Then
//!
//! * **unigram**: the split whose pieces' scores (log-probabilities) sum
//!   highest, found by Viterbi over the sentence: `best[end]` is the best
//!   score of any split of the text up to `end`. A character no piece
//!   covers is the unknown piece, scored 10 below the lowest score.
//! * **BPE**: from characters, repeatedly join the adjacent pair whose
//!   concatenation is a piece with the highest score (leftmost on ties).
//!
//! Consecutive unknown characters become one token: their own text, as the
//! library's `encode(text, out_type=str)` gives them. Normalization rule
//! `identity` is exact; `nmt_nfkc` and `nfkc` are applied as Unicode NFKC
//! (the library's rule tables also map control characters), other rules
//! and byte fallback are refused.

use super::error::{DataError, Result};
use super::protobuf::{fields, Field};
use std::collections::HashMap;
use std::path::Path;

/// The symbol SentencePiece writes for a space.
const SPACE: char = '\u{2581}';

/// How the pieces are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpModelType {
    Unigram,
    Bpe,
}

/// A SentencePiece model; it keeps the file's bytes so a run can save it.
#[derive(Debug, Clone, PartialEq)]
pub struct SentencePiece {
    bytes: Vec<u8>,
    model_type: SpModelType,
    /// Normal (and user-defined) pieces: text → (id, score).
    pieces: HashMap<String, (usize, f32)>,
    longest_piece: usize,
    min_score: f32,
    nfkc: bool,
    add_dummy_prefix: bool,
    remove_extra_whitespaces: bool,
}

impl Eq for SentencePiece {}

impl SentencePiece {
    /// Reads `path`, a SentencePiece `.model`.
    pub fn load(path: impl AsRef<Path>) -> Result<SentencePiece> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
        SentencePiece::from_bytes(bytes, path)
    }

    /// Parses a `ModelProto`; errors name `path` and the field at fault.
    pub fn from_bytes(bytes: Vec<u8>, path: &Path) -> Result<SentencePiece> {
        let bad = |msg: String| DataError::bad_file(path, msg);
        let top = fields(&bytes).map_err(|e| bad(format!("ModelProto: {e}")))?;
        let mut pieces = HashMap::new();
        let (mut model_type, mut byte_fallback) = (1, false);
        let mut norm = ("nmt_nfkc".to_string(), true, true);
        let mut index = 0;
        for (number, value) in top {
            match (number, value) {
                (1, Field::Bytes(piece)) => {
                    let at = format!("ModelProto.pieces[{index}]");
                    let (text, score, kind) =
                        parse_piece(piece).map_err(|e| bad(format!("{at}: {e}")))?;
                    // 1 normal, 4 user-defined; unknown, control, unused
                    // and byte pieces are never matched in text.
                    if kind == 1 || kind == 4 {
                        pieces.insert(text, (index, score));
                    }
                    index += 1;
                }
                (2, Field::Bytes(spec)) => {
                    let spec = fields(spec).map_err(|e| bad(format!("trainer_spec: {e}")))?;
                    for (n, v) in spec {
                        match (n, v) {
                            (3, Field::Varint(t)) => model_type = t,
                            (35, Field::Varint(b)) => byte_fallback = b != 0,
                            _ => {}
                        }
                    }
                }
                (3, Field::Bytes(spec)) => {
                    let spec = fields(spec).map_err(|e| bad(format!("normalizer_spec: {e}")))?;
                    for (n, v) in spec {
                        match (n, v) {
                            (1, Field::Bytes(name)) => {
                                norm.0 = String::from_utf8_lossy(name).into()
                            }
                            (3, Field::Varint(b)) => norm.1 = b != 0,
                            (4, Field::Varint(b)) => norm.2 = b != 0,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        let model_type = match model_type {
            1 => SpModelType::Unigram,
            2 => SpModelType::Bpe,
            other => {
                let kind = ["", "unigram", "bpe", "word", "char"]
                    .get(other as usize)
                    .unwrap_or(&"?");
                return Err(bad(format!(
                    "trainer_spec.model_type is {other} ({kind}); only unigram (1) and bpe (2) are supported"
                )));
            }
        };
        if byte_fallback {
            return Err(bad(
                "trainer_spec.byte_fallback is true; byte fallback is not supported".into(),
            ));
        }
        let nfkc = match norm.0.as_str() {
            "identity" => false,
            "nmt_nfkc" | "nfkc" => true,
            other => {
                return Err(bad(format!(
                    "normalizer_spec.name {other:?} is not supported (identity, nmt_nfkc, nfkc)"
                )))
            }
        };
        if pieces.is_empty() {
            return Err(bad("ModelProto.pieces holds no normal piece".into()));
        }
        let longest_piece = pieces
            .keys()
            .map(|p: &String| p.chars().count())
            .max()
            .unwrap_or(1);
        let min_score = pieces
            .values()
            .map(|&(_, s)| s)
            .fold(f32::INFINITY, f32::min);
        Ok(SentencePiece {
            bytes,
            model_type,
            pieces,
            longest_piece,
            min_score,
            nfkc,
            add_dummy_prefix: norm.1,
            remove_extra_whitespaces: norm.2,
        })
    }

    /// The file's bytes, as read.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn model_type(&self) -> SpModelType {
        self.model_type
    }

    /// The sentence as the model sees it: spaces squeezed, a leading `▁`.
    fn normalize(&self, text: &str) -> Vec<char> {
        let mut s: String = if self.nfkc {
            use unicode_normalization::UnicodeNormalization;
            text.nfkc().collect()
        } else {
            text.to_string()
        };
        if self.remove_extra_whitespaces {
            s = s
                .split(' ')
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
        }
        if self.add_dummy_prefix && !s.is_empty() {
            s.insert(0, ' ');
        }
        s.chars()
            .map(|c| if c == ' ' { SPACE } else { c })
            .collect()
    }

    /// Text → pieces, as the library's `encode(text, out_type=str)`.
    pub fn encode(&self, text: &str) -> Vec<String> {
        let chars = self.normalize(text);
        let spans = match self.model_type {
            SpModelType::Unigram => self.viterbi(&chars),
            SpModelType::Bpe => self.bpe(&chars),
        };
        // (piece, known): consecutive unknown characters are one token.
        let mut out: Vec<(String, bool)> = Vec::new();
        for (start, end) in spans {
            let text: String = chars[start..end].iter().collect();
            let known = self.pieces.contains_key(&text);
            match out.last_mut() {
                Some((prev, false)) if !known => prev.push_str(&text),
                _ => out.push((text, known)),
            }
        }
        out.into_iter().map(|(p, _)| p).collect()
    }

    /// The best-scoring split into pieces, as (start, end) char spans.
    fn viterbi(&self, chars: &[char]) -> Vec<(usize, usize)> {
        let n = chars.len();
        // best[end] = (score, start of its last piece)
        let mut best: Vec<Option<(f32, usize)>> = vec![None; n + 1];
        best[0] = Some((0.0, 0));
        let unk_score = self.min_score - 10.0;
        for start in 0..n {
            let Some((base, _)) = best[start] else {
                continue;
            };
            let mut single = false;
            let mut piece = String::new();
            for end in start + 1..=(start + self.longest_piece).min(n) {
                piece.push(chars[end - 1]);
                if let Some(&(_, score)) = self.pieces.get(&piece) {
                    single |= end == start + 1;
                    relax(&mut best[end], base + score, start);
                }
            }
            if !single {
                relax(&mut best[start + 1], base + unk_score, start);
            }
        }
        let mut spans = Vec::new();
        let mut end = n;
        while end > 0 {
            let (_, start) = best[end].unwrap_or((0.0, end - 1));
            spans.push((start, end));
            end = start;
        }
        spans.reverse();
        spans
    }

    /// BPE: characters, then the best-scoring joinable pair, repeatedly.
    fn bpe(&self, chars: &[char]) -> Vec<(usize, usize)> {
        let mut spans: Vec<(usize, usize)> = (0..chars.len()).map(|i| (i, i + 1)).collect();
        let score = |a: (usize, usize), b: (usize, usize)| -> Option<f32> {
            let joined: String = chars[a.0..b.1].iter().collect();
            self.pieces.get(&joined).map(|&(_, s)| s)
        };
        loop {
            let mut best: Option<(f32, usize)> = None;
            for i in 0..spans.len().saturating_sub(1) {
                if let Some(s) = score(spans[i], spans[i + 1]) {
                    if best.is_none_or(|(b, _)| s > b) {
                        best = Some((s, i));
                    }
                }
            }
            let Some((_, i)) = best else { break };
            spans[i].1 = spans[i + 1].1;
            spans.remove(i + 1);
        }
        spans
    }

    /// Pieces → text: `▁` is a space, the leading one dropped.
    pub fn decode<S: AsRef<str>>(&self, pieces: &[S]) -> String {
        let joined: String = pieces.iter().map(|p| p.as_ref()).collect();
        let text: String = joined
            .chars()
            .map(|c| if c == SPACE { ' ' } else { c })
            .collect();
        match self.add_dummy_prefix {
            true => text.strip_prefix(' ').unwrap_or(&text).to_string(),
            false => text,
        }
    }
}

/// Keeps the first of equal scores, as the library's Viterbi does.
fn relax(slot: &mut Option<(f32, usize)>, score: f32, start: usize) {
    if slot.is_none_or(|(s, _)| score > s) {
        *slot = Some((score, start));
    }
}

/// A `SentencePiece` message: (piece, score, type); type 1 (normal) when absent.
fn parse_piece(bytes: &[u8]) -> std::result::Result<(String, f32, u64), String> {
    let (mut text, mut score, mut kind) = (None, 0.0, 1);
    for (n, v) in fields(bytes)? {
        match (n, v) {
            (1, Field::Bytes(b)) => {
                text = Some(
                    String::from_utf8(b.to_vec()).map_err(|_| "piece is not UTF-8".to_string())?,
                )
            }
            (2, Field::Fixed32(bits)) => score = f32::from_bits(bits),
            (3, Field::Varint(t)) => kind = t,
            _ => {}
        }
    }
    Ok((text.ok_or("has no piece text")?, score, kind))
}
