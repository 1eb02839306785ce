//! Sampling: the output drawn at random, one token per step, from the
//! model's distribution reshaped by a temperature and cut to its most
//! probable tokens.
//!
//! At step t the model gives log p(v | y_<t, x) for every token v. The
//! token is drawn from
//!
//! ```text
//!   q_T(v)  ∝ exp(log p(v) / T)                 temperature T > 0
//!   V_k     = the k tokens with the largest q_T  top-k   (Fan et al. 2018, §5.4)
//!   V_p     = the smallest set of tokens, taken in order of falling q_T
//!             within V_k, whose mass Σ q_T / Σ_{V_k} q_T ≥ P
//!                                               top-p, "nucleus" (Holtzman et al. 2020, §3.1)
//!   y_t     ~ q(v) = q_T(v) / Σ_{V_p} q_T   for v ∈ V_p, 0 elsewhere
//! ```
//!
//! T < 1 sharpens the distribution (T → 0 is greedy), T > 1 flattens it;
//! k = 0 and P = 1 leave it whole. Top-k with k = 1 keeps the argmax
//! alone and so is greedy decoding. Ties in q_T go to the lower token id,
//! as greedy's argmax does. The filters run in the order above, as in
//! fairseq and Hugging Face `generate`: the nucleus is taken within the
//! top k.
//!
//! The hypothesis' `log_prob` is the model's own log P(Y | X) at T = 1,
//! unfiltered (the quantity beam search ranks), and `score` divides it by
//! the length penalty as for beam search, so sampled and searched outputs
//! can be compared.
//!
//! Random numbers: sentence r of a batch draws from its own stream, a pure
//! function of ([`Sampling::seed`], [`Sampling::offset`] + r), so the same
//! seed gives the same outputs bit for bit, whatever the batch size and
//! the device, as long as the model's log-probabilities are the same.

use super::{AttentionMap, DecodeOptions, Hypothesis};
use crate::data::Vocab;
use crate::models::{Seq2Seq, Source};
use std::cmp::Ordering;
use tensor::{no_grad, Error, Result, Rng, Tensor};

/// How to draw the output. `Default`: T = 1, no top-k, no top-p, seed 0.
#[derive(Clone, Debug, PartialEq)]
pub struct Sampling {
    /// T > 0: log-probabilities are divided by it before renormalising.
    pub temperature: f32,
    /// Keep only the k most probable tokens; 0 keeps all.
    pub top_k: usize,
    /// Keep the smallest set of most probable tokens whose mass is ≥ P,
    /// 0 < P ≤ 1; 1 keeps all.
    pub top_p: f32,
    /// The seed of every sentence's stream of random numbers.
    pub seed: u64,
    /// The index of the batch's first sentence in a longer input: row r
    /// draws from stream `offset + r`, so an input decoded in batches of
    /// any size gets the same samples.
    pub offset: u64,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            seed: 0,
            offset: 0,
        }
    }
}

impl Sampling {
    /// Rejects settings that define no distribution, naming the setting.
    pub fn check(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::InvalidArgument { op: "sample", msg });
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return bad(format!(
                "temperature {} must be a number > 0",
                self.temperature
            ));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad(format!("top-p {} must be in (0, 1]", self.top_p));
        }
        Ok(())
    }

    /// The distribution q to draw from, given one row of the model's
    /// log-probabilities: the tokens it keeps with their probabilities
    /// (summing to 1), most probable first, the lower id first on ties.
    /// NaN counts as probability 0.
    pub fn distribution(&self, log_probs: &[f32]) -> Vec<(u32, f32)> {
        let inv_t = 1.0 / self.temperature as f64;
        let mut kept: Vec<(u32, f64)> = log_probs
            .iter()
            .enumerate()
            .map(|(v, &lp)| {
                (
                    v as u32,
                    if lp.is_nan() {
                        f64::NEG_INFINITY
                    } else {
                        lp as f64 * inv_t
                    },
                )
            })
            .collect();
        kept.sort_by(|a, b| {
            b.1.partial_cmp(&a.1)
                .unwrap_or(Ordering::Equal)
                .then(a.0.cmp(&b.0))
        });
        if self.top_k > 0 {
            kept.truncate(self.top_k);
        }
        // q_T ∝ exp(z - max z): the largest term is 1, so nothing overflows
        let max = kept.first().map_or(0.0, |&(_, z)| z);
        if max == f64::NEG_INFINITY {
            return Vec::new(); // every token has probability 0
        }
        for (_, z) in kept.iter_mut() {
            *z = (*z - max).exp();
        }
        kept.retain(|&(_, q)| q > 0.0);
        let total: f64 = kept.iter().map(|&(_, q)| q).sum();
        if self.top_p < 1.0 {
            let target = self.top_p as f64 * total;
            let mut mass = 0.0;
            let mut n = kept.len();
            for (i, &(_, q)) in kept.iter().enumerate() {
                mass += q;
                if mass >= target {
                    n = i + 1;
                    break;
                }
            }
            kept.truncate(n);
        }
        let total: f64 = kept.iter().map(|&(_, q)| q).sum();
        kept.into_iter()
            .map(|(v, q)| (v, (q / total) as f32))
            .collect()
    }

    /// Draws a token from `q` (as from [`Sampling::distribution`]) with
    /// `u` uniform in [0, 1): the first token whose cumulative probability
    /// exceeds u. None when q is empty.
    pub fn draw(q: &[(u32, f32)], u: f64) -> Option<u32> {
        let mut cumulative = 0.0f64;
        for &(v, p) in q {
            cumulative += p as f64;
            if u < cumulative {
                return Some(v);
            }
        }
        // u fell in the rounding gap below 1: the last kept token
        q.last().map(|&(v, _)| v)
    }

    /// The seed of stream `index` (sentence `offset + r`).
    fn stream(&self, index: u64) -> u64 {
        splitmix64(splitmix64(self.seed) ^ index)
    }
}

/// SplitMix64's finaliser: turns nearby integers into unrelated ones, so
/// that seed s, sentence n+1 and seed s+1, sentence n do not share a stream.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One sentence being sampled.
struct Draft {
    rng: Rng,
    /// Most tokens its output may have, `<eos>` included.
    limit: usize,
    /// Real source tokens (columns of its attention maps).
    src_len: usize,
    /// Drawn tokens, `<eos>` excluded.
    tokens: Vec<u32>,
    /// Tokens scored, `<eos>` included.
    len: usize,
    log_prob: f32,
    /// Per attention map (and head): the rows of the steps so far.
    attention: Vec<Vec<f32>>,
    done: bool,
}

/// Samples one output for every source row with `opts.sampling` (the
/// default [`Sampling`] when unset); one hypothesis per row, in order.
pub fn sample<M: Seq2Seq>(
    model: &M,
    src: &Source,
    opts: &DecodeOptions,
) -> Result<Vec<Hypothesis>> {
    let sampling = opts.sampling.clone().unwrap_or_default();
    let opts = DecodeOptions {
        sampling: Some(sampling.clone()),
        ..opts.clone()
    };
    opts.check()?;
    if src.lens.is_empty() {
        return Ok(Vec::new());
    }
    let cap = model.max_decode_len().unwrap_or(usize::MAX);
    let mut drafts: Vec<Draft> = src
        .lens
        .iter()
        .enumerate()
        .map(|(r, &len)| Draft {
            rng: Rng::new(sampling.stream(sampling.offset.wrapping_add(r as u64))),
            limit: opts.max_output_len(len).min(cap).max(1),
            src_len: len,
            tokens: Vec::new(),
            len: 0,
            log_prob: 0.0,
            attention: Vec::new(),
            done: false,
        })
        .collect();
    let mut names: Vec<String> = Vec::new(); // one per map, heads apart
    no_grad(|| {
        let device = src.ids.device();
        let mut state = model.start(src)?;
        // live[i]: the sentence of batch row i
        let mut live: Vec<usize> = (0..drafts.len()).collect();
        let mut prev: Vec<f32> = vec![Vocab::BOS as f32; live.len()];
        while !live.is_empty() {
            let rows = live.len();
            let last = Tensor::from_vec(prev, [rows], &device)?;
            let step = match opts.attention {
                true => model.step(&state, &last)?,
                false => model.step_logits(&state, &last)?,
            };
            let log_probs = step.logits.log_softmax(-1)?.try_to_vec()?; // [R, V]
            let vocab = log_probs.len() / rows;
            if opts.attention {
                keep_attention(&step.attention, &live, &mut drafts, &mut names)?;
            }
            let mut keep = Vec::with_capacity(rows);
            let mut next = Vec::with_capacity(rows);
            for (i, &s) in live.iter().enumerate() {
                let row = &log_probs[i * vocab..(i + 1) * vocab];
                let d = &mut drafts[s];
                let q = sampling.distribution(row);
                let token = Sampling::draw(&q, d.rng.uniform());
                d.len += 1;
                match token {
                    Some(v) => {
                        d.log_prob += row[v as usize];
                        if v == Vocab::EOS {
                            d.done = true;
                        } else {
                            d.tokens.push(v);
                        }
                    }
                    None => {
                        // every token had probability 0 (NaN logits)
                        d.log_prob = f32::NEG_INFINITY;
                        d.done = true;
                    }
                }
                if d.len >= d.limit {
                    d.done = true; // out of room: ends here, without <eos>
                }
                if !d.done {
                    keep.push(i as f32);
                    next.push(*d.tokens.last().expect("a live draft has a token") as f32);
                }
            }
            let identity = keep.len() == rows;
            live = keep.iter().map(|&i| live[i as usize]).collect();
            prev = next;
            if live.is_empty() {
                break;
            }
            state = match identity {
                true => step.state,
                false => {
                    let n = keep.len();
                    model.reorder(&step.state, &Tensor::from_vec(keep, [n], &device)?)?
                }
            };
        }
        Ok(())
    })?;
    Ok(drafts
        .into_iter()
        .map(|d| {
            let cols = d.src_len;
            let attention = names
                .iter()
                .zip(d.attention)
                .map(|(name, weights)| AttentionMap {
                    name: name.clone(),
                    rows: weights.len() / cols.max(1),
                    cols,
                    weights,
                })
                .collect();
            Hypothesis {
                score: opts.score(d.log_prob, d.len),
                tokens: d.tokens,
                log_prob: d.log_prob,
                attention,
            }
        })
        .collect())
}

/// Appends one step's attention rows to each live sentence: per map `[R, S]`
/// or `[R, H, S]` (one map per head), cut to the sentence's real tokens.
fn keep_attention(
    attention: &[(String, Tensor)],
    live: &[usize],
    drafts: &mut [Draft],
    names: &mut Vec<String>,
) -> Result<()> {
    let first = names.is_empty();
    let mut map = 0; // index over maps, heads apart
    for (name, w) in attention {
        let d = w.dims();
        let (heads, width) = match d.len() {
            3 => (Some(d[1]), d[2]),
            _ => (None, d[d.len() - 1]),
        };
        let values = w.try_to_vec()?;
        for h in 0..heads.unwrap_or(1) {
            if first {
                names.push(match heads {
                    Some(_) => format!("{name} head {h}"),
                    None => name.clone(),
                });
            }
            for (i, &s) in live.iter().enumerate() {
                let draft = &mut drafts[s];
                if draft.attention.len() <= map {
                    draft.attention.resize(map + 1, Vec::new());
                }
                let start = (i * heads.unwrap_or(1) + h) * width;
                let cols = draft.src_len.min(width);
                draft.attention[map].extend_from_slice(&values[start..start + cols]);
            }
            map += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ln(p: &[f32]) -> Vec<f32> {
        p.iter().map(|p| p.ln()).collect()
    }

    fn close(a: &[(u32, f32)], b: &[(u32, f32)]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x.0 == y.0 && (x.1 - y.1).abs() < 1e-6)
    }

    #[test]
    fn the_whole_distribution_by_default() {
        let q = Sampling::default().distribution(&ln(&[0.1, 0.6, 0.3]));
        assert!(close(&q, &[(1, 0.6), (2, 0.3), (0, 0.1)]), "{q:?}");
    }

    #[test]
    fn temperature_divides_the_log_probabilities() {
        // T = 0.5 squares the probabilities: 0.6² : 0.3² : 0.1² = 36 : 9 : 1
        let s = Sampling {
            temperature: 0.5,
            ..Default::default()
        };
        let q = s.distribution(&ln(&[0.1, 0.6, 0.3]));
        assert!(
            close(&q, &[(1, 36.0 / 46.0), (2, 9.0 / 46.0), (0, 1.0 / 46.0)]),
            "{q:?}"
        );
        // a very high temperature is nearly uniform
        let s = Sampling {
            temperature: 1e6,
            ..Default::default()
        };
        let q = s.distribution(&ln(&[0.1, 0.6, 0.3]));
        assert!(
            q.iter().all(|&(_, p)| (p - 1.0 / 3.0).abs() < 1e-4),
            "{q:?}"
        );
    }

    #[test]
    fn top_k_keeps_the_k_most_probable_renormalised() {
        let s = Sampling {
            top_k: 2,
            ..Default::default()
        };
        let q = s.distribution(&ln(&[0.1, 0.6, 0.3]));
        assert!(close(&q, &[(1, 2.0 / 3.0), (2, 1.0 / 3.0)]), "{q:?}");
    }

    #[test]
    fn top_k_one_is_greedy_with_greedys_ties() {
        let s = Sampling {
            top_k: 1,
            temperature: 3.0,
            ..Default::default()
        };
        let q = s.distribution(&ln(&[0.2, 0.4, 0.4]));
        assert_eq!(q, vec![(1, 1.0)]); // the lower id of the two most probable
        for u in [0.0, 0.5, 0.999_999] {
            assert_eq!(Sampling::draw(&q, u), Some(1));
        }
    }

    #[test]
    fn top_p_keeps_the_smallest_set_with_enough_mass() {
        let p = ln(&[0.05, 0.5, 0.25, 0.2]);
        let with = |top_p| {
            Sampling {
                top_p,
                ..Default::default()
            }
            .distribution(&p)
        };
        // 0.5 alone reaches P = 0.5
        assert!(close(&with(0.5), &[(1, 1.0)]));
        // 0.5 < 0.6 ≤ 0.5 + 0.25: two tokens
        assert!(close(&with(0.6), &[(1, 2.0 / 3.0), (2, 1.0 / 3.0)]));
        // 0.75 is reached exactly by two tokens: still two
        assert_eq!(with(0.75).len(), 2);
        // 0.9 needs three
        assert!(close(
            &with(0.9),
            &[(1, 0.5 / 0.95), (2, 0.25 / 0.95), (3, 0.2 / 0.95)]
        ));
        assert_eq!(with(1.0).len(), 4);
        // tiny P: the most probable token alone
        assert_eq!(with(1e-6).len(), 1);
    }

    #[test]
    fn top_p_is_taken_within_the_top_k() {
        // top-k 2 → {0.5, 0.25} renormalised to {2/3, 1/3}; P = 0.6 → just the first
        let s = Sampling {
            top_k: 2,
            top_p: 0.6,
            ..Default::default()
        };
        let q = s.distribution(&ln(&[0.05, 0.5, 0.25, 0.2]));
        assert!(close(&q, &[(1, 1.0)]), "{q:?}");
    }

    #[test]
    fn zero_probabilities_and_nan_are_never_drawn() {
        let q = Sampling::default().distribution(&[f32::NEG_INFINITY, f32::NAN, 0.0]);
        assert_eq!(q, vec![(2, 1.0)]);
        let none = Sampling::default().distribution(&[f32::NEG_INFINITY, f32::NAN]);
        assert!(none.is_empty());
        assert_eq!(Sampling::draw(&none, 0.5), None);
    }

    #[test]
    fn draws_follow_the_cumulative_distribution() {
        let q = [(4, 0.5), (7, 0.3), (1, 0.2)];
        assert_eq!(Sampling::draw(&q, 0.0), Some(4));
        assert_eq!(Sampling::draw(&q, 0.49), Some(4));
        assert_eq!(Sampling::draw(&q, 0.5), Some(7));
        assert_eq!(Sampling::draw(&q, 0.79), Some(7));
        assert_eq!(Sampling::draw(&q, 0.81), Some(1));
        assert_eq!(Sampling::draw(&q, 1.0 - 1e-12), Some(1));
        // frequencies over many uniform draws match q
        let mut rng = Rng::new(5);
        let mut counts = [0usize; 8];
        let n = 20_000;
        for _ in 0..n {
            counts[Sampling::draw(&q, rng.uniform()).unwrap() as usize] += 1;
        }
        for &(v, p) in &q {
            let f = counts[v as usize] as f32 / n as f32;
            assert!((f - p).abs() < 0.02, "token {v}: {f} vs {p}");
        }
    }

    #[test]
    fn settings_without_a_distribution_are_refused() {
        for (t, p) in [
            (0.0, 1.0),
            (-1.0, 1.0),
            (f32::NAN, 1.0),
            (1.0, 0.0),
            (1.0, 1.5),
        ] {
            let s = Sampling {
                temperature: t,
                top_p: p,
                ..Default::default()
            };
            assert!(s.check().is_err(), "T {t}, P {p}");
        }
        assert!(Sampling::default().check().is_ok());
    }

    #[test]
    fn streams_differ_by_seed_and_sentence() {
        let s = |seed| Sampling {
            seed,
            ..Default::default()
        };
        assert_ne!(s(1).stream(0), s(0).stream(1));
        assert_ne!(s(1).stream(0), s(1).stream(1));
        assert_eq!(s(1).stream(3), s(1).stream(3));
    }
}
