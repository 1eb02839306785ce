//! A Hugging Face `tokenizer.json` whose model is BPE, read and applied
//! without the `tokenizers` crate (see docs/architecture.md for why).
//!
//! The file describes a pipeline: normalizer → pre-tokenizer → model →
//! post-processor → decoder. We run the first three exactly as the library
//! does (hf_pretokenize.rs has the first two) and leave the post-processor
//! out: special tokens such as `[CLS]` are the library's way of framing a
//! sentence, and our models add their own `<bos>`/`<eos>`.
//!
//! The BPE model differs from ours (bpe.rs) in three ways, all read from
//! the file:
//!
//! * Merges are applied by rank, one occurrence at a time: repeatedly the
//!   pair with the lowest rank, and of equal pairs the leftmost. (Ours
//!   merges every occurrence of the pair at once; on words the two agree
//!   except in contrived merge lists.)
//! * Word boundaries are marked by a `continuing_subword_prefix` on all but
//!   the first symbol (`##`), an `end_of_word_suffix` on the last (`</w>`,
//!   like ours), a `▁` or `Ġ` from the pre-tokenizer, or not at all.
//! * A character outside the vocabulary becomes `unk_token` (consecutive
//!   ones fused into one with `fuse_unk`), its bytes `<0xNN>` with
//!   `byte_fallback`, or is dropped when the model has neither.
//!
//! Anything we do not implement (other models, normalizers or
//! pre-tokenizers, BPE dropout) is refused with the file and the JSON path.

use super::error::{DataError, Result};
use super::hf_pretokenize::{
    char_byte, flag, json_error, type_of, JsonError, JsonResult, Normalizer, PreTokenizer, Prepend,
};
use super::tokenize::detokenize;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// A BPE `tokenizer.json`, ready to encode; it keeps the file's JSON so a
/// run can save it unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HfTokenizer {
    json: Value,
    normalizers: Vec<Normalizer>,
    pre_tokenizers: Vec<PreTokenizer>,
    model: HfBpe,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct HfBpe {
    vocab: HashMap<String, u32>,
    tokens: HashMap<u32, String>,
    /// (left id, right id) → (rank, id of the merged token).
    merges: HashMap<(u32, u32), (usize, u32)>,
    unk: Option<u32>,
    fuse_unk: bool,
    byte_fallback: bool,
    prefix: Option<String>,
    suffix: Option<String>,
    ignore_merges: bool,
}

impl HfTokenizer {
    /// Reads `path`, a `tokenizer.json`.
    pub fn load(path: impl AsRef<Path>) -> Result<HfTokenizer> {
        let path = path.as_ref();
        let json: Value = super::read_json(path)?;
        HfTokenizer::from_json(json, path)
    }

    /// Parses the JSON of a `tokenizer.json`; errors name `path` and the
    /// JSON path of the part at fault.
    pub fn from_json(json: Value, path: &Path) -> Result<HfTokenizer> {
        let at = |e: JsonError| DataError::bad_file(path, format!("{}: {}", e.path, e.message));
        let null = Value::Null;
        let field = |key: &str| json.get(key).unwrap_or(&null);
        let normalizers = Normalizer::parse(field("normalizer"), "normalizer").map_err(at)?;
        let pre_tokenizers =
            PreTokenizer::parse(field("pre_tokenizer"), "pre_tokenizer").map_err(at)?;
        let model = HfBpe::parse(field("model")).map_err(at)?;
        Ok(HfTokenizer {
            json,
            normalizers,
            pre_tokenizers,
            model,
        })
    }

    /// The file's JSON, as read.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// Text → tokens, as the library's `encode(text, add_special_tokens=False).tokens`.
    pub fn encode(&self, text: &str) -> Vec<String> {
        let mut text = text.to_string();
        for n in &self.normalizers {
            text = n.apply(&text);
        }
        let mut pieces = vec![(0, text)];
        for p in &self.pre_tokenizers {
            pieces = p.apply(pieces);
        }
        let mut cache: HashMap<String, Vec<u32>> = HashMap::new();
        let mut out = Vec::new();
        for (_, piece) in pieces {
            let ids = cache
                .entry(piece)
                .or_insert_with_key(|piece| self.model.encode_word(piece));
            out.extend(ids.iter().map(|id| self.model.tokens[id].clone()));
        }
        out
    }

    /// Tokens → text. Byte-level and Metaspace tokens hold their spaces and
    /// are decoded exactly; otherwise words are told apart by the prefix
    /// or suffix (or each token is a word) and joined by [`detokenize`].
    pub fn decode<S: AsRef<str>>(&self, tokens: &[S]) -> String {
        let byte_level = self
            .pre_tokenizers
            .iter()
            .any(|p| matches!(p, PreTokenizer::ByteLevel { .. }));
        let metaspace = self.pre_tokenizers.iter().find_map(|p| match p {
            PreTokenizer::Metaspace {
                replacement,
                prepend,
                ..
            } => Some((*replacement, *prepend)),
            _ => None,
        });
        let joined: String = tokens
            .iter()
            .map(|t| self.model.strip(t.as_ref()))
            .collect();
        if byte_level {
            let bytes: Vec<u8> = joined
                .chars()
                .flat_map(|c| match char_byte(c) {
                    Some(b) => vec![b],
                    None => c.to_string().into_bytes(),
                })
                .collect();
            return String::from_utf8_lossy(&bytes).into_owned();
        }
        if let Some((rep, prepend)) = metaspace {
            let text: String = joined
                .chars()
                .map(|c| if c == rep { ' ' } else { c })
                .collect();
            return match prepend {
                Prepend::Never => text,
                _ => text.strip_prefix(' ').unwrap_or(&text).to_string(),
            };
        }
        detokenize(&self.model.words(tokens))
    }
}

impl HfBpe {
    fn parse(model: &Value) -> JsonResult<HfBpe> {
        if model.is_null() {
            return Err(json_error("model", "is missing"));
        }
        match type_of(model, "model")? {
            "BPE" => {}
            other => {
                let msg = format!("model type {other:?} is not supported (only BPE)");
                return Err(json_error("model.type", msg));
            }
        }
        match model.get("dropout") {
            None | Some(Value::Null) => {}
            Some(d) if d.as_f64() == Some(0.0) => {}
            Some(d) => {
                let msg = format!("BPE dropout {d} makes encoding random; set it to null");
                return Err(json_error("model.dropout", msg));
            }
        }
        let vocab: HashMap<String, u32> = match model.get("vocab").and_then(Value::as_object) {
            Some(map) => map
                .iter()
                .map(
                    |(token, id)| match id.as_u64().and_then(|i| u32::try_from(i).ok()) {
                        Some(id) => Ok((token.clone(), id)),
                        None => Err(json_error(
                            &format!("model.vocab[{token:?}]"),
                            format!("id {id} is not a token id"),
                        )),
                    },
                )
                .collect::<JsonResult<_>>()?,
            None => return Err(json_error("model.vocab", "is not an object of token ids")),
        };
        let tokens: HashMap<u32, String> = vocab.iter().map(|(t, &i)| (i, t.clone())).collect();
        let text = |key: &str| -> JsonResult<Option<String>> {
            match model.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(json_error(
                    &format!("model.{key}"),
                    format!("must be a string or null, found {other}"),
                )),
            }
        };
        let prefix = text("continuing_subword_prefix")?;
        let unk = match text("unk_token")? {
            None => None,
            Some(unk) => match vocab.get(&unk) {
                Some(&id) => Some(id),
                None => {
                    let msg = format!("{unk:?} is not in model.vocab");
                    return Err(json_error("model.unk_token", msg));
                }
            },
        };
        let merges = parse_merges(model, &vocab, prefix.as_deref())?;
        Ok(HfBpe {
            vocab,
            tokens,
            merges,
            unk,
            fuse_unk: flag(model, "fuse_unk", false, "model")?,
            byte_fallback: flag(model, "byte_fallback", false, "model")?,
            prefix,
            suffix: text("end_of_word_suffix")?,
            ignore_merges: flag(model, "ignore_merges", false, "model")?,
        })
    }

    /// The initial symbols of a word: one per character (prefix and suffix
    /// added), unknown ones handled as the module docs say.
    fn symbols(&self, word: &str) -> Vec<u32> {
        let mut out = Vec::new();
        let mut pending_unk = false;
        let n = word.chars().count();
        for (i, c) in word.chars().enumerate() {
            let mut s = String::new();
            if i > 0 {
                s.push_str(self.prefix.as_deref().unwrap_or(""));
            }
            s.push(c);
            if i + 1 == n {
                s.push_str(self.suffix.as_deref().unwrap_or(""));
            }
            if let Some(&id) = self.vocab.get(&s) {
                if pending_unk {
                    out.extend(self.unk);
                    pending_unk = false;
                }
                out.push(id);
                continue;
            }
            if self.byte_fallback {
                let bytes: Option<Vec<u32>> = s
                    .bytes()
                    .map(|b| self.vocab.get(&format!("<0x{b:02X}>")).copied())
                    .collect();
                if let Some(bytes) = bytes {
                    // The library emits a pending unknown only before a known
                    // character; byte tokens leave it pending.
                    out.extend(bytes);
                    continue;
                }
            }
            if self.unk.is_some() {
                if pending_unk && !self.fuse_unk {
                    out.extend(self.unk);
                }
                pending_unk = true;
            }
        }
        if pending_unk {
            out.extend(self.unk);
        }
        out
    }

    /// Splits one pre-tokenized piece into token ids.
    fn encode_word(&self, word: &str) -> Vec<u32> {
        if self.ignore_merges {
            if let Some(&id) = self.vocab.get(word) {
                return vec![id];
            }
        }
        let mut symbols = self.symbols(word);
        loop {
            let best = symbols
                .windows(2)
                .enumerate()
                .filter_map(|(i, p)| self.merges.get(&(p[0], p[1])).map(|&(r, id)| (r, i, id)))
                .min();
            let Some((_, i, merged)) = best else { break };
            symbols[i] = merged;
            symbols.remove(i + 1);
        }
        symbols
    }

    /// A token without the prefix and suffix that mark word boundaries.
    fn strip<'a>(&self, token: &'a str) -> &'a str {
        let t = match &self.prefix {
            Some(p) => token.strip_prefix(p.as_str()).unwrap_or(token),
            None => token,
        };
        match &self.suffix {
            Some(s) => t.strip_suffix(s.as_str()).unwrap_or(t),
            None => t,
        }
    }

    /// Tokens joined into words by the prefix or suffix convention.
    fn words<S: AsRef<str>>(&self, tokens: &[S]) -> Vec<String> {
        let mut words: Vec<String> = Vec::new();
        let mut ended = true;
        for t in tokens {
            let t = t.as_ref();
            let starts_word = match (&self.prefix, &self.suffix) {
                (Some(p), _) => !t.starts_with(p.as_str()),
                (None, Some(_)) => ended,
                (None, None) => true,
            };
            ended = self
                .suffix
                .as_ref()
                .is_some_and(|s| t.ends_with(s.as_str()));
            let piece = self.strip(t);
            match words.last_mut() {
                Some(w) if !starts_word => w.push_str(piece),
                _ => words.push(piece.to_string()),
            }
        }
        words
    }
}

/// `model.merges`: "a b" strings (older files) or ["a", "b"] pairs.
fn parse_merges(
    model: &Value,
    vocab: &HashMap<String, u32>,
    prefix: Option<&str>,
) -> JsonResult<HashMap<(u32, u32), (usize, u32)>> {
    let list = model
        .get("merges")
        .and_then(Value::as_array)
        .ok_or_else(|| json_error("model.merges", "is not a list"))?;
    let mut merges = HashMap::new();
    for (rank, m) in list.iter().enumerate() {
        let path = format!("model.merges[{rank}]");
        let (a, b) = match m {
            Value::String(s) => match s.split(' ').collect::<Vec<_>>()[..] {
                [a, b] => (a.to_string(), b.to_string()),
                _ => return Err(json_error(&path, format!("{s:?} is not two symbols"))),
            },
            Value::Array(pair) => match &pair[..] {
                [Value::String(a), Value::String(b)] => (a.clone(), b.clone()),
                _ => return Err(json_error(&path, "is not a pair of strings")),
            },
            other => return Err(json_error(&path, format!("{other} is not a merge"))),
        };
        let right = prefix.and_then(|p| b.strip_prefix(p)).unwrap_or(&b);
        let merged = format!("{a}{right}");
        let id = |s: &str| {
            vocab
                .get(s)
                .copied()
                .ok_or_else(|| json_error(&path, format!("{s:?} is not in model.vocab")))
        };
        // A repeated merge keeps its last rank, as in the library.
        merges.insert((id(&a)?, id(&b)?), (rank, id(&merged)?));
    }
    Ok(merges)
}
