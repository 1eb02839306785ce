//! Beam search, batched over sentences.
//!
//! Every sentence keeps up to K live prefixes ("beams"). At each step the
//! model scores the next token for all live beams of all unfinished
//! sentences in one batch of rows; then, per sentence, on the host:
//!
//! ```text
//!   candidates  = { (y, v) : y live, v ∈ vocabulary },  log P(y v) = log P(y) + log p(v | y, x)
//!   best 2K candidates by log P (all have the same length, so the same lp)
//!     · ending in <eos> and among the best K  → a finished hypothesis, score = log P / lp
//!     · not ending in <eos>                    → a live beam, until there are K
//! ```
//!
//! Taking 2K candidates guarantees K live beams whenever the vocabulary
//! allows it (each beam adds at most one `<eos>` candidate), so finished
//! hypotheses do not shrink the beam. The best 2K of the whole step are
//! among the best 2K of each beam, so each row's 2K best are chosen where
//! the logits are (`Tensor::topk`, one kernel on the GPU) and only those
//! come back to the host, not the `[R, V]` distribution. Width 1 is greedy search: the single
//! best token is either `<eos>` (the end) or the one beam.
//!
//! A sentence stops when it has K finished hypotheses, when it reaches its
//! length limit (its live beams then finish without `<eos>`), or earlier
//! when no live beam can still beat the N-th best finished one (N =
//! [`DecodeOptions::nbest`], 1 unless an n-best list is asked for):
//! log-probs only fall as tokens are added, so a beam of t tokens with
//! log P = L ≤ 0 can reach at most L / max(lp(t+1), lp(limit)): its final
//! length lies between t + 1 and the limit, and lp, monotonic in the
//! length under both rules ([`super::LengthNorm`]), is largest at one of
//! the two ends. Since that bound also holds against the best, asking for
//! more hypotheses never changes the best one, and stopping there returns
//! the best that running on until K hypotheses have finished (what
//! CTranslate2 does, at patience 1) would return. The whole search stops when every sentence has stopped;
//! finished sentences leave the batch, so the rows that go through the
//! model are those of the live beams only.
//!
//! Every step's choices are kept as back-pointers (a tree of nodes per
//! sentence); the chosen hypotheses are read back through them, together
//! with the attention rows of the beams they went through.

use super::{AttentionMap, DecodeOptions, Hypothesis};
use crate::data::Vocab;
use crate::models::{Seq2Seq, Source};
use std::cmp::Ordering;
use tensor::{no_grad, Result, Tensor, TOPK_NONE};

/// Decodes every source row with beam width `opts.beam`; the best
/// hypothesis of each row, in order.
pub fn beam_search<M: Seq2Seq>(
    model: &M,
    src: &Source,
    opts: &DecodeOptions,
) -> Result<Vec<Hypothesis>> {
    Ok(beam_search_nbest(model, src, opts)?
        .into_iter()
        .map(|list| {
            // empty only when every candidate had probability 0 (or NaN)
            list.into_iter().next().unwrap_or(Hypothesis {
                tokens: Vec::new(),
                score: f32::NEG_INFINITY,
                log_prob: f32::NEG_INFINITY,
                attention: Vec::new(),
            })
        })
        .collect())
}

/// Decodes every source row with beam width `opts.beam`; the
/// `opts.nbest` best finished hypotheses of each row, best first.
pub fn beam_search_nbest<M: Seq2Seq>(
    model: &M,
    src: &Source,
    opts: &DecodeOptions,
) -> Result<Vec<Vec<Hypothesis>>> {
    opts.check()?;
    if src.lens.is_empty() {
        return Ok(Vec::new());
    }
    no_grad(|| {
        let mut search = Search::new(model, src, opts);
        search.run(model, src)?;
        Ok(search.into_hypotheses())
    })
}

/// One token of a prefix tree: a beam is the path from the root to a node.
struct Node {
    /// The node before (None: the first token).
    parent: Option<usize>,
    token: u32,
    /// Step and row (in that step's batch) whose output scored this token:
    /// where this token's attention weights are.
    step: usize,
    row: usize,
}

/// A live prefix: its last node (None: still empty) and log P.
#[derive(Clone, Copy)]
struct Beam {
    node: Option<usize>,
    log_prob: f32,
}

/// A hypothesis that will not grow any more.
struct Finished {
    node: usize,
    log_prob: f32,
    score: f32,
}

/// The search state of one source sentence.
struct Sentence {
    /// Most tokens its output may have, `<eos>` included.
    limit: usize,
    /// Real source tokens (columns of its attention maps).
    src_len: usize,
    nodes: Vec<Node>,
    beams: Vec<Beam>,
    finished: Vec<Finished>,
    done: bool,
}

/// The attention tensors one step returned, on the host.
struct StepAttention {
    /// Per attention: its values `[R, H, S]` (H = 1 for `[R, S]`).
    values: Vec<Vec<f32>>,
}

/// Name and number of heads of each attention the model returns.
struct AttentionLayout {
    names: Vec<String>,
    /// Heads of each: `Some(H)` for `[R, H, S]`, `None` for `[R, S]`.
    heads: Vec<Option<usize>>,
    /// Padded source width S.
    width: usize,
}

struct Search<'o> {
    opts: &'o DecodeOptions,
    sentences: Vec<Sentence>,
    attention: Vec<StepAttention>,
    layout: Option<AttentionLayout>,
}

/// A candidate extension: beam `beam` of a sentence followed by `token`.
#[derive(Clone, Copy)]
struct Candidate {
    log_prob: f32,
    beam: usize,
    token: u32,
}

impl<'o> Search<'o> {
    fn new<M: Seq2Seq>(model: &M, src: &Source, opts: &'o DecodeOptions) -> Self {
        let cap = model.max_decode_len().unwrap_or(usize::MAX);
        let sentences = src
            .lens
            .iter()
            .map(|&len| Sentence {
                limit: opts.max_output_len(len).min(cap).max(1),
                src_len: len,
                nodes: Vec::new(),
                beams: vec![Beam {
                    node: None,
                    log_prob: 0.0,
                }],
                finished: Vec::new(),
                done: false,
            })
            .collect();
        Search {
            opts,
            sentences,
            attention: Vec::new(),
            layout: None,
        }
    }

    fn run<M: Seq2Seq>(&mut self, model: &M, src: &Source) -> Result<()> {
        let device = src.ids.device();
        let mut state = model.start(src)?; // one row per sentence, each one empty beam
        for t in 0.. {
            // the last token of every live beam, sentence after sentence
            let prev: Vec<f32> = self
                .live()
                .flat_map(|s| s.beams.iter().map(|b| s.last_token(b) as f32))
                .collect();
            let rows = prev.len();
            let prev = Tensor::from_vec(prev, [rows], &device)?;
            let step = match self.opts.attention {
                true => model.step(&state, &prev)?,
                false => model.step_logits(&state, &prev)?,
            };
            let best = best_extensions(&step.logits, 2 * self.opts.beam)?;
            if self.opts.attention {
                self.keep_attention(&step.attention)?;
            }
            // expand every live sentence; `parents` lists, for each new beam, its row
            let mut parents = Vec::new();
            let mut first_row = 0;
            for s in self.sentences.iter_mut().filter(|s| !s.done) {
                let n = s.beams.len();
                let block = &best[first_row..first_row + n];
                for j in s.expand(block, t, first_row, self.opts) {
                    parents.push((first_row + j) as f32);
                }
                first_row += n;
            }
            if parents.is_empty() {
                return Ok(());
            }
            let identity =
                parents.len() == rows && parents.iter().enumerate().all(|(i, &p)| p == i as f32);
            state = match identity {
                true => step.state,
                false => {
                    let n = parents.len();
                    model.reorder(&step.state, &Tensor::from_vec(parents, [n], &device)?)?
                }
            };
        }
        Ok(())
    }

    /// The sentences still searching, in batch order.
    fn live(&self) -> impl Iterator<Item = &Sentence> {
        self.sentences.iter().filter(|s| !s.done)
    }

    /// Copies one step's attention weights to the host.
    fn keep_attention(&mut self, attention: &[(String, Tensor)]) -> Result<()> {
        if self.layout.is_none() {
            let mut layout = AttentionLayout {
                names: Vec::new(),
                heads: Vec::new(),
                width: 0,
            };
            for (name, w) in attention {
                let d = w.dims();
                layout.names.push(name.clone());
                layout.heads.push((d.len() == 3).then(|| d[1]));
                layout.width = d[d.len() - 1];
            }
            self.layout = Some(layout);
        }
        let values = attention
            .iter()
            .map(|(_, w)| w.try_to_vec())
            .collect::<Result<Vec<_>>>()?;
        self.attention.push(StepAttention { values });
        Ok(())
    }

    fn into_hypotheses(self) -> Vec<Vec<Hypothesis>> {
        let Search {
            opts,
            sentences,
            attention,
            layout,
        } = self;
        sentences
            .into_iter()
            .map(|s| s.nbest(opts.nbest, &attention, layout.as_ref()))
            .collect()
    }
}

/// Best first: higher log-probability, then the lower beam, then the
/// lower token id (so that ties resolve as greedy's argmax does).
fn best_first(a: &Candidate, b: &Candidate) -> Ordering {
    b.log_prob
        .total_cmp(&a.log_prob)
        .then(a.beam.cmp(&b.beam))
        .then(a.token.cmp(&b.token))
}

/// The `n` best extensions of every row of `logits` `[R, V]` as (token,
/// log p), best first, the lower token first on ties, a non-finite log p as
/// -∞. Chosen where the logits are (`Tensor::log_softmax_topk`: on the
/// CPU one pass over the logits, on the GPU a kernel), so R · n candidates
/// come back to the host instead of R · V numbers.
fn best_extensions(logits: &Tensor, n: usize) -> Result<Vec<Vec<(u32, f32)>>> {
    let vocab = logits.dims().last().copied().unwrap_or(0);
    let n = n.min(vocab);
    let (values, tokens) = logits.log_softmax_topk(n)?;
    let both = Tensor::cat(&[values, tokens], -1)?.try_to_vec()?; // [R, 2n], one read
    Ok(both
        .chunks_exact(2 * n)
        .map(|row| {
            let (values, tokens) = row.split_at(n);
            let log_p = |v: f32| if v <= TOPK_NONE { f32::NEG_INFINITY } else { v };
            tokens
                .iter()
                .zip(values)
                .map(|(&t, &v)| (t as u32, log_p(v)))
                .collect()
        })
        .collect())
}

/// The largest lp a live beam of `len` tokens can end with under a length
/// limit of `limit` tokens: it ends after `len + 1` to `limit` tokens, and
/// lp, monotonic in the length, is largest at one of the two ends.
fn lp_bound(opts: &DecodeOptions, len: usize, limit: usize) -> f32 {
    opts.length_penalty_of(len + 1)
        .max(opts.length_penalty_of(limit))
}

impl Sentence {
    fn last_token(&self, beam: &Beam) -> u32 {
        beam.node.map_or(Vocab::BOS, |n| self.nodes[n].token)
    }

    /// One step for this sentence: `best` holds the best extensions (token,
    /// log p(token | beam)) of each of its beams, which sit in the batch
    /// from `first_row`.
    /// Updates the beams and finished hypotheses; returns, for each new
    /// beam, the index of the beam it extends.
    fn expand(
        &mut self,
        best: &[Vec<(u32, f32)>],
        step: usize,
        first_row: usize,
        opts: &DecodeOptions,
    ) -> Vec<usize> {
        let k = opts.beam;
        let len = step + 1; // tokens of every candidate, this one included
                            // the best 2K extensions overall are among the best 2K of each beam
        let keep = 2 * k;
        let mut candidates: Vec<Candidate> = Vec::with_capacity(self.beams.len() * keep);
        for (j, beam) in self.beams.iter().enumerate() {
            candidates.extend(best[j].iter().map(|&(token, lp)| Candidate {
                log_prob: beam.log_prob + lp,
                beam: j,
                token,
            }));
        }
        candidates.sort_unstable_by(best_first);
        candidates.truncate(keep);

        let mut beams = Vec::with_capacity(k);
        let mut parents = Vec::with_capacity(k);
        for (rank, c) in candidates.iter().enumerate() {
            if c.log_prob == f32::NEG_INFINITY {
                break; // probability 0: nothing worse to take
            }
            let node = Node {
                parent: self.beams[c.beam].node,
                token: c.token,
                step,
                row: first_row + c.beam,
            };
            if c.token == Vocab::EOS {
                if rank < k {
                    self.nodes.push(node);
                    self.finish(self.nodes.len() - 1, c.log_prob, len, opts);
                }
            } else if beams.len() < k {
                self.nodes.push(node);
                beams.push(Beam {
                    node: Some(self.nodes.len() - 1),
                    log_prob: c.log_prob,
                });
                parents.push(c.beam);
            }
        }
        if len >= self.limit {
            // out of room: the live beams end here, without <eos>
            for b in &beams {
                self.finish(
                    b.node.expect("a beam after a step has a token"),
                    b.log_prob,
                    len,
                    opts,
                );
            }
            beams.clear();
        }
        self.beams = beams;
        self.done =
            self.beams.is_empty() || self.finished.len() >= k || self.cannot_improve(len, opts);
        if self.done {
            self.beams.clear();
            return Vec::new();
        }
        parents
    }

    fn finish(&mut self, node: usize, log_prob: f32, len: usize, opts: &DecodeOptions) {
        self.finished.push(Finished {
            node,
            log_prob,
            score: opts.score(log_prob, len),
        });
    }

    /// True when no live beam (each `len` tokens long) can end with a
    /// better score than the `opts.nbest`-th best finished hypothesis.
    fn cannot_improve(&self, len: usize, opts: &DecodeOptions) -> bool {
        let Some(&nth) = self.ranked().get(opts.nbest.max(1) - 1) else {
            return false;
        };
        let nth = &self.finished[nth];
        let lp_max = lp_bound(opts, len, self.limit);
        let best_live = self
            .beams
            .iter()
            .map(|b| b.log_prob)
            .fold(f32::NEG_INFINITY, f32::max);
        nth.score >= best_live / lp_max
    }

    /// Indices into `finished`, highest score first; the earlier finished
    /// first on ties (a stable sort), so ties resolve the same way however
    /// long the list.
    fn ranked(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.finished.len()).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (self.finished[a].score, self.finished[b].score);
            b.partial_cmp(&a).unwrap_or(Ordering::Equal)
        });
        order
    }

    /// The `n` best finished hypotheses, best first.
    fn nbest(
        &self,
        n: usize,
        attention: &[StepAttention],
        layout: Option<&AttentionLayout>,
    ) -> Vec<Hypothesis> {
        self.ranked()
            .into_iter()
            .take(n)
            .map(|i| self.hypothesis(&self.finished[i], attention, layout))
            .collect()
    }

    /// A finished hypothesis, read back through the nodes.
    fn hypothesis(
        &self,
        best: &Finished,
        attention: &[StepAttention],
        layout: Option<&AttentionLayout>,
    ) -> Hypothesis {
        let mut path = Vec::new(); // nodes, last first
        let mut at = Some(best.node);
        while let Some(n) = at {
            path.push(n);
            at = self.nodes[n].parent;
        }
        path.reverse();
        let tokens = path
            .iter()
            .map(|&n| self.nodes[n].token)
            .filter(|&v| v != Vocab::EOS)
            .collect();
        let maps = match layout {
            Some(layout) => self.attention_maps(&path, attention, layout),
            None => Vec::new(),
        };
        Hypothesis {
            tokens,
            score: best.score,
            log_prob: best.log_prob,
            attention: maps,
        }
    }

    /// One map per attention and head: row t is the weights of the step
    /// that wrote path token t, cut to the real source tokens.
    fn attention_maps(
        &self,
        path: &[usize],
        attention: &[StepAttention],
        layout: &AttentionLayout,
    ) -> Vec<AttentionMap> {
        let (s, cols) = (layout.width, self.src_len.min(layout.width));
        let mut maps = Vec::new();
        for (i, (name, &per_head)) in layout.names.iter().zip(&layout.heads).enumerate() {
            let heads = per_head.unwrap_or(1);
            for h in 0..heads {
                let mut weights = Vec::with_capacity(path.len() * cols);
                for &n in path {
                    let node = &self.nodes[n];
                    let start = (node.row * heads + h) * s;
                    weights.extend_from_slice(&attention[node.step].values[i][start..start + cols]);
                }
                maps.push(AttentionMap {
                    name: match per_head {
                        Some(_) => format!("{name} head {h}"),
                        None => name.clone(),
                    },
                    rows: path.len(),
                    cols,
                    weights,
                });
            }
        }
        maps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::LengthNorm;

    #[test]
    fn length_penalty_is_gnmt() {
        let opts = DecodeOptions {
            length_penalty: 0.6,
            ..Default::default()
        };
        // lp(7) = ((5 + 7) / 6)^0.6 = 2^0.6
        assert!((opts.length_penalty_of(7) - 2f32.powf(0.6)).abs() < 1e-6);
        assert!((opts.score(-3.0, 7) + 3.0 / 2f32.powf(0.6)).abs() < 1e-6);
        assert_eq!(opts.max_output_len(10), 20);
        let capped = DecodeOptions {
            max_len: 15,
            ..opts
        };
        assert_eq!(capped.max_output_len(10), 15);
        assert_eq!(capped.max_output_len(0), 1);
    }

    fn rule(length_norm: LengthNorm, alpha: f32) -> DecodeOptions {
        DecodeOptions {
            length_penalty: alpha,
            length_norm,
            ..Default::default()
        }
    }

    #[test]
    fn length_penalty_is_a_power_of_the_length() {
        let opts = rule(LengthNorm::Power, 0.6);
        // lp(8) = 8^0.6 (7 words and <eos>, as CTranslate2 counts them)
        assert!((opts.length_penalty_of(8) - 8f32.powf(0.6)).abs() < 1e-6);
        assert!((opts.score(-3.0, 8) + 3.0 / 8f32.powf(0.6)).abs() < 1e-6);
        // one token (<eos> alone) is not penalised
        assert_eq!(opts.length_penalty_of(1), 1.0);
        assert_eq!(opts.score(-0.25, 1), -0.25);
        // α = 0: no penalty under either rule
        for norm in [LengthNorm::Gnmt, LengthNorm::Power] {
            assert_eq!(rule(norm, 0.0).score(-2.5, 9), -2.5);
        }
        // the power rule rewards length more than GNMT at the same α:
        // the longer of two outputs of equal log P loses less to the shorter
        let ratio = |o: &DecodeOptions| o.score(-4.0, 9) / o.score(-4.0, 5);
        let gnmt = rule(LengthNorm::Gnmt, 0.6);
        assert!((ratio(&opts) - (5.0f32 / 9.0).powf(0.6)).abs() < 1e-6);
        assert!((ratio(&gnmt) - (10.0f32 / 14.0).powf(0.6)).abs() < 1e-6);
        assert!(ratio(&opts) < ratio(&gnmt));
        assert_eq!(DecodeOptions::default().length_norm, LengthNorm::Gnmt);
        assert_eq!(LengthNorm::Power.name(), "power");
        assert_eq!(LengthNorm::Gnmt.name(), "gnmt");
    }

    /// The early stop's bound, under both rules and α of either sign: no
    /// length a live beam of `len` tokens can still end with (`len + 1` to
    /// `limit`) has a larger lp, so no log P ≤ L scores above L / bound.
    #[test]
    fn the_early_stop_bound_covers_every_reachable_length() {
        for norm in [LengthNorm::Gnmt, LengthNorm::Power] {
            for alpha in [-0.7, 0.0, 0.6, 1.0, 2.5] {
                let opts = rule(norm, alpha);
                for limit in 2..40 {
                    for len in 1..limit {
                        let bound = lp_bound(&opts, len, limit);
                        let largest = (len + 1..=limit)
                            .map(|n| opts.length_penalty_of(n))
                            .fold(f32::NEG_INFINITY, f32::max);
                        let what = format!("{norm:?} α {alpha} len {len} limit {limit}");
                        assert_eq!(bound, largest, "{what}");
                        for n in len + 1..=limit {
                            assert!(opts.score(-1.5, n) <= -1.5 / bound, "{what} |Y| {n}");
                        }
                    }
                }
            }
        }
    }
}
