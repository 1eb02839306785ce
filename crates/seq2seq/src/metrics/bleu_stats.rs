//! BLEU's sufficient statistics and sacreBLEU's `compute_bleu`.
//!
//! Per segment we need only the hypothesis length, the closest reference
//! length, and per order n the clipped matches and the hypothesis n-gram
//! count; these add up over a corpus, and the score is computed once from
//! the sums (Papineni et al. 2002, section 2.2: corpus-level, not an
//! average of sentence scores). `score` follows sacreBLEU 2.6.0's
//! `BLEU.compute_bleu` line by line, so the floating-point operations
//! happen in the same order and the results agree to rounding.

use super::bleu::{BleuConfig, BleuScore, Smooth, MAX_ORDER};
use crate::data::normalize::py_split;
use std::collections::HashMap;

/// Sufficient statistics: they add up over segments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BleuStats {
    pub sys_len: u64,
    pub ref_len: u64,
    pub correct: [u64; MAX_ORDER],
    pub total: [u64; MAX_ORDER],
}

/// Counts of all 1..4-grams of a token sequence.
fn ngrams<'a>(tokens: &'a [&'a str]) -> HashMap<&'a [&'a str], u64> {
    let mut counts = HashMap::new();
    for n in 1..=MAX_ORDER {
        for gram in tokens.windows(n) {
            *counts.entry(gram).or_insert(0) += 1;
        }
    }
    counts
}

/// The reference length closest to `hyp_len`, the shorter on a tie.
fn closest_ref_len(hyp_len: u64, ref_lens: &[u64]) -> u64 {
    ref_lens
        .iter()
        .copied()
        .min_by_key(|&r| (r.abs_diff(hyp_len), r))
        .unwrap_or(0)
}

impl BleuStats {
    /// Statistics of one tokenized hypothesis against its tokenized references.
    pub fn segment(hyp: &str, refs: &[String]) -> BleuStats {
        let hyp_tokens: Vec<&str> = py_split(hyp).collect();
        let ref_tokens: Vec<Vec<&str>> = refs.iter().map(|r| py_split(r).collect()).collect();
        let mut max_ref: HashMap<&[&str], u64> = HashMap::new();
        for tokens in &ref_tokens {
            for (gram, count) in ngrams(tokens) {
                let best = max_ref.entry(gram).or_insert(0);
                *best = (*best).max(count);
            }
        }
        let ref_lens: Vec<u64> = ref_tokens.iter().map(|t| t.len() as u64).collect();
        let mut stats = BleuStats {
            sys_len: hyp_tokens.len() as u64,
            ref_len: closest_ref_len(hyp_tokens.len() as u64, &ref_lens),
            ..Default::default()
        };
        for (gram, count) in ngrams(&hyp_tokens) {
            let n = gram.len() - 1;
            stats.total[n] += count;
            stats.correct[n] += count.min(max_ref.get(gram).copied().unwrap_or(0));
        }
        stats
    }

    /// Adds another segment's statistics.
    pub fn add(&mut self, other: &BleuStats) {
        self.sys_len += other.sys_len;
        self.ref_len += other.ref_len;
        for n in 0..MAX_ORDER {
            self.correct[n] += other.correct[n];
            self.total[n] += other.total[n];
        }
    }

    /// The score of these statistics (sacreBLEU's `compute_bleu`).
    pub fn score(&self, cfg: &BleuConfig, nrefs: usize) -> BleuScore {
        let (mut correct, mut total) = (self.correct, self.total);
        let (sys_len, ref_len) = (self.sys_len, self.ref_len);
        let bp = match (sys_len < ref_len, sys_len > 0) {
            (false, _) => 1.0,
            (true, true) => (1.0 - ref_len as f64 / sys_len as f64).exp(),
            (true, false) => 0.0,
        };
        let mut precisions = [0.0f64; MAX_ORDER];
        let result = |score: f64,
                      correct: [u64; MAX_ORDER],
                      total: [u64; MAX_ORDER],
                      precisions: [f64; MAX_ORDER]| {
            BleuScore {
                score,
                counts: correct.to_vec(),
                totals: total.to_vec(),
                precisions: precisions.to_vec(),
                bp,
                sys_len,
                ref_len,
                signature: cfg.signature(nrefs),
            }
        };
        if correct.iter().all(|&c| c == 0) {
            return result(0.0, correct, total, precisions);
        }
        let mut smooth_mteval = 1.0f64;
        let mut eff_order = MAX_ORDER;
        for n in 0..MAX_ORDER {
            if let (Smooth::AddK(k), 1..) = (cfg.smooth, n) {
                correct[n] += k;
                total[n] += k;
            }
            if total[n] == 0 {
                break;
            }
            if cfg.effective_order {
                eff_order = n + 1;
            }
            precisions[n] = match (correct[n], cfg.smooth) {
                (0, Smooth::Exp) => {
                    smooth_mteval *= 2.0;
                    100.0 / (smooth_mteval * total[n] as f64)
                }
                (0, Smooth::Floor(v)) => 100.0 * v / total[n] as f64,
                (0, _) => 0.0,
                (c, _) => 100.0 * c as f64 / total[n] as f64,
            };
        }
        // sacreBLEU's `my_log`: log 0 is floored to -9999999999.
        let log = |p: f64| if p == 0.0 { -9_999_999_999.0 } else { p.ln() };
        let mean_log =
            precisions[..eff_order].iter().map(|&p| log(p)).sum::<f64>() / eff_order as f64;
        result(bp * mean_log.exp(), correct, total, precisions)
    }
}
