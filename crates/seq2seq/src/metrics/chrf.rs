//! chrF: the character n-gram F-score (Popović 2015), as sacreBLEU 2.x
//! computes it.
//!
//! BLEU gives no credit for "chat" against "chats"; chrF compares character
//! n-grams (n = 1..6, white space removed), so partly right words count,
//! which makes it correlate better with human judgement for morphologically
//! rich languages. For each order n, over the whole corpus:
//!
//! ```text
//! P_n = matching n-grams / hypothesis n-grams,  R_n = matching / reference n-grams
//! P, R = averages of P_n, R_n over the orders where both counts are > 0
//! chrF_β = 100 · (1 + β²) P R / (β² P + R)          β = 2: recall weighs 4× precision
//! ```
//!
//! sacreBLEU defaults: char order 6, word order 0 (2 would be chrF++,
//! Popović 2017, also supported), β = 2, case-sensitive, white space
//! ignored, no ε-smoothing. With several references, each segment uses the
//! reference with the best segment-level F-score. An order whose reference
//! has no n-grams counts no hypothesis n-grams either (sacreBLEU's rule).

use super::{check_streams, MetricError, SACREBLEU_VERSION};
use crate::data::normalize::py_split;
use std::collections::HashMap;

/// chrF settings (sacreBLEU's defaults via `Default`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChrfConfig {
    pub char_order: usize,
    pub word_order: usize,
    pub beta: u32,
    pub lowercase: bool,
    /// Keep white space inside character n-grams.
    pub whitespace: bool,
    /// chrF++.py-style ε-smoothing instead of effective-order averaging.
    pub eps_smoothing: bool,
}

impl Default for ChrfConfig {
    fn default() -> Self {
        ChrfConfig {
            char_order: 6,
            word_order: 0,
            beta: 2,
            lowercase: false,
            whitespace: false,
            eps_smoothing: false,
        }
    }
}

impl ChrfConfig {
    /// e.g. `nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0`.
    pub fn signature(&self, nrefs: usize) -> String {
        format!(
            "nrefs:{nrefs}|case:{}|eff:{}|nc:{}|nw:{}|space:{}|version:{SACREBLEU_VERSION}",
            if self.lowercase { "lc" } else { "mixed" },
            if self.eps_smoothing { "no" } else { "yes" },
            self.char_order,
            self.word_order,
            if self.whitespace { "yes" } else { "no" }
        )
    }

    /// Counts of character n-grams (orders 1..=char_order), then word
    /// n-grams (orders 1..=word_order), keyed by the n-gram's text.
    fn ngrams(&self, sentence: &str) -> Vec<HashMap<String, u64>> {
        let text = if self.lowercase {
            sentence.to_lowercase()
        } else {
            sentence.to_string()
        };
        let chars: Vec<char> = if self.whitespace {
            text.chars().collect()
        } else {
            py_split(&text).flat_map(str::chars).collect()
        };
        let mut orders = Vec::new();
        for n in 1..=self.char_order {
            let mut counts = HashMap::new();
            for gram in chars.windows(n) {
                *counts.entry(gram.iter().collect::<String>()).or_insert(0) += 1;
            }
            orders.push(counts);
        }
        let words = split_punctuation(&text);
        for n in 1..=self.word_order {
            let mut counts = HashMap::new();
            for gram in words.windows(n) {
                *counts.entry(gram.join(" ")).or_insert(0) += 1;
            }
            orders.push(counts);
        }
        orders
    }

    /// The F-score of flattened [hyp, ref, match] statistics per order.
    fn f_score(&self, stats: &[u64]) -> f64 {
        let eps = 1e-16;
        let factor = (self.beta * self.beta) as f64;
        let (mut eps_sum, mut avg_prec, mut avg_rec, mut effective) = (0.0, 0.0, 0.0, 0);
        for s in stats.chunks(3) {
            let (n_hyp, n_ref, n_match) = (s[0], s[1], s[2]);
            let prec = if n_hyp > 0 {
                n_match as f64 / n_hyp as f64
            } else {
                eps
            };
            let rec = if n_ref > 0 {
                n_match as f64 / n_ref as f64
            } else {
                eps
            };
            let denom = factor * prec + rec;
            eps_sum += if denom > 0.0 {
                (1.0 + factor) * prec * rec / denom
            } else {
                eps
            };
            if n_hyp > 0 && n_ref > 0 {
                avg_prec += prec;
                avg_rec += rec;
                effective += 1;
            }
        }
        if self.eps_smoothing {
            return 100.0 * eps_sum / (self.char_order + self.word_order) as f64;
        }
        if effective > 0 {
            avg_prec /= effective as f64;
            avg_rec /= effective as f64;
        }
        if avg_prec + avg_rec == 0.0 {
            return 0.0;
        }
        100.0 * ((1.0 + factor) * avg_prec * avg_rec / (factor * avg_prec + avg_rec))
    }
}

/// chrF++'s word splitting: white space, then one ASCII punctuation mark
/// split off the end (or else the start) of each word longer than one.
fn split_punctuation(text: &str) -> Vec<String> {
    let punct = |c: char| c.is_ascii_punctuation();
    let mut words = Vec::new();
    for w in py_split(text) {
        let mut chars = w.chars();
        let (first, last) = (chars.next(), chars.next_back());
        match (first, last) {
            (Some(_), Some(l)) if punct(l) => {
                words.extend([w[..w.len() - 1].to_string(), l.to_string()])
            }
            (Some(f), Some(_)) if punct(f) => words.extend([f.to_string(), w[1..].to_string()]),
            _ => words.push(w.to_string()),
        }
    }
    words
}

/// [hyp, ref, match] per order for one hypothesis against one reference.
fn match_stats(hyp: &[HashMap<String, u64>], reference: &[HashMap<String, u64>]) -> Vec<u64> {
    let mut stats = Vec::with_capacity(hyp.len() * 3);
    for (h, r) in hyp.iter().zip(reference) {
        let n_hyp: u64 = if r.is_empty() { 0 } else { h.values().sum() };
        let n_match: u64 = h
            .iter()
            .map(|(g, &c)| c.min(r.get(g).copied().unwrap_or(0)))
            .sum();
        stats.extend([n_hyp, r.values().sum(), n_match]);
    }
    stats
}

/// A chrF value and its signature.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChrfScore {
    /// 0..100
    pub score: f64,
    pub signature: String,
}

impl ChrfScore {
    /// sacreBLEU's summary, e.g. `chrF2 = 58.12`.
    pub fn format(&self, cfg: &ChrfConfig) -> String {
        format!(
            "chrF{}{} = {:.2}",
            cfg.beta,
            "+".repeat(cfg.word_order),
            self.score
        )
    }
}

/// Corpus chrF; `refs[k][i]` is the k-th reference of sentence i.
pub fn corpus_chrf<H: AsRef<str>, R: AsRef<str>>(
    hyps: &[H],
    refs: &[Vec<R>],
    cfg: &ChrfConfig,
) -> Result<ChrfScore, MetricError> {
    check_streams(hyps.len(), refs)?;
    let mut total = vec![0u64; 3 * (cfg.char_order + cfg.word_order)];
    for (i, hyp) in hyps.iter().enumerate() {
        let hyp = cfg.ngrams(hyp.as_ref());
        let mut best: Option<(f64, Vec<u64>)> = None;
        for stream in refs {
            let stats = match_stats(&hyp, &cfg.ngrams(stream[i].as_ref()));
            let f = cfg.f_score(&stats);
            if best.as_ref().is_none_or(|(b, _)| f > *b) {
                best = Some((f, stats));
            }
        }
        for (t, s) in total.iter_mut().zip(best.map(|b| b.1).unwrap_or_default()) {
            *t += s;
        }
    }
    Ok(ChrfScore {
        score: cfg.f_score(&total),
        signature: cfg.signature(refs.len()),
    })
}

/// chrF of one sentence against its references.
pub fn sentence_chrf<R: AsRef<str>>(
    hyp: &str,
    refs: &[R],
    cfg: &ChrfConfig,
) -> Result<ChrfScore, MetricError> {
    let streams: Vec<Vec<&str>> = refs.iter().map(|r| vec![r.as_ref()]).collect();
    corpus_chrf(&[hyp], &streams, cfg)
}
