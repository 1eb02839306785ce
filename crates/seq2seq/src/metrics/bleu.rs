//! Corpus BLEU, compatible with sacreBLEU 2.x (Papineni et al. 2002;
//! Post 2018).
//!
//! BLEU compares a system's translations with reference translations by
//! n-gram overlap, over a whole corpus:
//!
//! ```text
//! p_n  = Σ_seg Σ_ngram min(count_hyp, max_ref count_ref) / Σ_seg #hyp n-grams   (n = 1..4)
//! BP   = 1 if c ≥ r else exp(1 − r/c)     c = hypothesis words, r = reference words
//! BLEU = 100 · BP · exp(¼ Σ_n log p_n)
//! ```
//!
//! Clipping by the reference count stops "the the the" from scoring; the
//! brevity penalty stops a system from saying only what it is sure of.
//! With several references, counts clip against the largest count in any
//! reference, and r sums, per segment, the reference length closest to the
//! hypothesis length (the shorter one on a tie).
//!
//! The numbers depend on details, so we follow sacreBLEU 2.6.0 (`BLEU` and
//! its `compute_bleu`) exactly and print its signature, e.g.
//! `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`:
//!
//! * text is lowercased (if asked), right-stripped and tokenized ([`Tokenize`]);
//! * a corpus with no matching n-gram at all scores 0;
//! * smoothing (Chen and Cherry 2014) only changes orders with no match:
//!   `exp` (the default, mteval's) gives the k-th such order the precision
//!   1 / (2^k · total); `floor` gives it ε / total; `add-k` adds k to
//!   matches and totals of orders 2..4; `none` leaves 0 (score 0);
//! * `effective_order` (on for sentence BLEU) averages only over the orders
//!   that have any hypothesis n-grams.
//!
//! "Tokenized BLEU", what multi-bleu.perl and torchtext report and older
//! papers quote, is the same computation on already tokenized text with no
//! tokenizer and no smoothing: [`BleuConfig::tokenized`].

pub use super::bleu_stats::BleuStats;
use super::tokenizer::Tokenize;
use super::{check_streams, MetricError, SACREBLEU_VERSION};
use crate::data::normalize::is_py_space;

/// Highest n-gram order.
pub const MAX_ORDER: usize = 4;

/// How orders without any matching n-gram are treated (see module docs).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Smooth {
    None,
    /// sacreBLEU's default value is 0.1.
    Floor(f64),
    /// sacreBLEU's default value is 1.
    AddK(u64),
    Exp,
}

impl Smooth {
    /// "exp", "none", "floor[0.10]", "add-k[1.00]" — as in the signature.
    pub fn name(self) -> String {
        match self {
            Smooth::None => "none".into(),
            Smooth::Exp => "exp".into(),
            Smooth::Floor(v) => format!("floor[{v:.2}]"),
            Smooth::AddK(k) => format!("add-k[{k}.00]"),
        }
    }
}

/// Everything that changes a BLEU value.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BleuConfig {
    pub tokenize: Tokenize,
    pub lowercase: bool,
    pub smooth: Smooth,
    pub effective_order: bool,
}

impl Default for BleuConfig {
    /// sacreBLEU's corpus defaults: 13a, mixed case, exp smoothing.
    fn default() -> Self {
        BleuConfig {
            tokenize: Tokenize::Thirteen,
            lowercase: false,
            smooth: Smooth::Exp,
            effective_order: false,
        }
    }
}

impl BleuConfig {
    /// sacreBLEU's `sentence_bleu` defaults: as corpus BLEU, plus effective order.
    pub fn sentence() -> Self {
        BleuConfig {
            effective_order: true,
            ..Default::default()
        }
    }

    /// multi-bleu.perl-style BLEU on text that is already tokenized.
    pub fn tokenized() -> Self {
        BleuConfig {
            tokenize: Tokenize::None,
            smooth: Smooth::None,
            ..Default::default()
        }
    }

    /// The sacreBLEU signature for `nrefs` references per segment.
    pub fn signature(&self, nrefs: usize) -> String {
        format!(
            "nrefs:{nrefs}|case:{}|eff:{}|tok:{}|smooth:{}|version:{SACREBLEU_VERSION}",
            if self.lowercase { "lc" } else { "mixed" },
            if self.effective_order { "yes" } else { "no" },
            self.tokenize.name(),
            self.smooth.name()
        )
    }

    /// Lowercase (optionally), strip the right end, tokenize.
    fn preprocess(&self, sentence: &str) -> String {
        let lowered;
        let s = if self.lowercase {
            lowered = sentence.to_lowercase();
            &lowered
        } else {
            sentence
        };
        self.tokenize.apply(s.trim_end_matches(is_py_space))
    }
}

/// A BLEU value with its sufficient statistics, as sacreBLEU reports them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BleuScore {
    /// 0..100
    pub score: f64,
    /// Matching n-grams per order (after add-k smoothing, if any).
    pub counts: Vec<u64>,
    /// Hypothesis n-grams per order.
    pub totals: Vec<u64>,
    /// Percent precision per order.
    pub precisions: Vec<f64>,
    pub bp: f64,
    pub sys_len: u64,
    pub ref_len: u64,
    pub signature: String,
}

impl BleuScore {
    /// sys_len / ref_len (0 with no reference words).
    pub fn ratio(&self) -> f64 {
        if self.ref_len > 0 {
            self.sys_len as f64 / self.ref_len as f64
        } else {
            0.0
        }
    }

    /// sacreBLEU's one-line summary:
    /// `BLEU = 32.88 85.0/52.9/28.6/9.1 (BP = 1.000 ratio = 1.000 hyp_len = 20 ref_len = 20)`.
    pub fn format(&self) -> String {
        let precisions: Vec<String> = self.precisions.iter().map(|p| format!("{p:.1}")).collect();
        format!(
            "BLEU = {:.2} {} (BP = {:.3} ratio = {:.3} hyp_len = {} ref_len = {})",
            self.score,
            precisions.join("/"),
            self.bp,
            self.ratio(),
            self.sys_len,
            self.ref_len
        )
    }
}

/// Corpus BLEU. `refs[k][i]` is the k-th reference of sentence i (one
/// inner list per reference "stream", as in sacreBLEU).
pub fn corpus_bleu<H: AsRef<str>, R: AsRef<str>>(
    hyps: &[H],
    refs: &[Vec<R>],
    cfg: &BleuConfig,
) -> Result<BleuScore, MetricError> {
    check_streams(hyps.len(), refs)?;
    let mut stats = BleuStats::default();
    for (i, hyp) in hyps.iter().enumerate() {
        let seg_refs: Vec<String> = refs
            .iter()
            .map(|stream| cfg.preprocess(stream[i].as_ref()))
            .collect();
        stats.add(&BleuStats::segment(
            &cfg.preprocess(hyp.as_ref()),
            &seg_refs,
        ));
    }
    Ok(stats.score(cfg, refs.len()))
}

/// BLEU of one sentence against its references (use [`BleuConfig::sentence`]
/// for sacreBLEU's `sentence_bleu`).
pub fn sentence_bleu<R: AsRef<str>>(
    hyp: &str,
    refs: &[R],
    cfg: &BleuConfig,
) -> Result<BleuScore, MetricError> {
    let streams: Vec<Vec<&str>> = refs.iter().map(|r| vec![r.as_ref()]).collect();
    corpus_bleu(&[hyp], &streams, cfg)
}

/// Tokenized BLEU on token lists (no tokenizer, no smoothing, mixed case).
/// `refs[k][i]` is the k-th reference of sentence i.
pub fn tokenized_bleu<H: AsRef<str>, R: AsRef<str>>(
    hyps: &[Vec<H>],
    refs: &[Vec<Vec<R>>],
) -> Result<BleuScore, MetricError> {
    let join = |tokens: &[_]| {
        tokens
            .iter()
            .map(|t: &R| t.as_ref())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let hyps: Vec<String> = hyps
        .iter()
        .map(|h| h.iter().map(|t| t.as_ref()).collect::<Vec<_>>().join(" "))
        .collect();
    let refs: Vec<Vec<String>> = refs
        .iter()
        .map(|stream| stream.iter().map(|r| join(r)).collect())
        .collect();
    corpus_bleu(&hyps, &refs, &BleuConfig::tokenized())
}
