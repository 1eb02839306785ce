//! Measuring a model: validation loss (teacher forced, per target token,
//! no label smoothing, so e^loss is the perplexity), exact-match accuracy
//! of greedy decoding on held-out pairs, and the BLEU and chrF of that
//! decoding.

use super::data::Lexicon;
use crate::data::{Batcher, Pair};
use crate::metrics::{corpus_bleu, corpus_chrf, BleuConfig, ChrfConfig};
use crate::models::{Model, Source, Target};
use crate::nn::Ctx;
use tensor::{no_grad, Device, Result, Rng, Tensor};

/// Mean cross-entropy per real target token over every batch of `data`.
pub fn validation_loss(model: &Model, data: &Batcher, device: &Device) -> Result<f32> {
    no_grad(|| {
        let mut total: Option<Tensor> = None;
        let mut tokens = 0usize;
        // the order does not matter for a sum; a fixed stream keeps it stable
        for batch in data.epoch(&mut Rng::new(0)) {
            let (src, tgt) = (
                Source::from_batch(&batch, device)?,
                Target::from_batch(&batch, device)?,
            );
            let n = batch.target_tokens();
            let loss = model
                .loss(&src, &tgt, 0.0, &mut Ctx::eval())?
                .mul_scalar(n as f32)?;
            total = Some(match total {
                Some(t) => t.add(&loss)?,
                None => loss,
            });
            tokens += n;
        }
        match total {
            Some(t) => Ok(t.item()? / tokens.max(1) as f32),
            None => Ok(f32::NAN),
        }
    })
}

/// One decoded example.
#[derive(Clone, Debug)]
pub struct Decoded {
    pub source: String,
    pub reference: String,
    pub hypothesis: String,
    pub correct: bool,
}

/// Greedy-decodes every pair's source; a hypothesis is correct when its
/// tokens equal the reference's. Returns the accuracy and every example.
pub fn exact_match(
    model: &Model,
    lexicon: &Lexicon,
    pairs: &[Pair],
    max_len: usize,
    device: &Device,
) -> Result<(f32, Vec<Decoded>)> {
    const CHUNK: usize = 256;
    // sorted by length, so a chunk's rows need little padding
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.sort_by_key(|&i| pairs[i].src.len());
    let mut decoded: Vec<Option<Decoded>> = vec![None; pairs.len()];
    for chunk in order.chunks(CHUNK) {
        let ids: Vec<Vec<u32>> = chunk
            .iter()
            .map(|&i| lexicon.encode_source(&pairs[i].src))
            .collect();
        let hyps = model.greedy(&Source::from_ids(&ids, device)?, max_len)?;
        for (&i, hyp) in chunk.iter().zip(hyps) {
            let p = &pairs[i];
            decoded[i] = Some(Decoded {
                source: p.src.clone(),
                reference: p.tgt.clone(),
                hypothesis: lexicon.decode_target(&hyp),
                correct: hyp == lexicon.encode_target(&p.tgt),
            });
        }
    }
    let decoded: Vec<Decoded> = decoded
        .into_iter()
        .map(|d| d.expect("every pair decoded"))
        .collect();
    let right = decoded.iter().filter(|d| d.correct).count();
    Ok((right as f32 / decoded.len().max(1) as f32, decoded))
}

/// Corpus scores of greedy decoding, as sacreBLEU gives them (0–100).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GreedyScores {
    pub bleu: f32,
    pub chrf: f32,
    /// Exact-match accuracy in [0, 1].
    pub exact: f32,
}

/// Greedy-decodes every pair's source and scores the hypotheses against
/// the references with sacreBLEU's defaults (BLEU: 13a tokenizer, exp
/// smoothing; chrF2). The hypotheses are the target tokenizer's own
/// decoding, without `s2s eval`'s detokenizer, so a word-level model can
/// score a little differently here than in `eval`; as a signal between
/// validations of one run that does not matter.
pub fn greedy_scores(
    model: &Model,
    lexicon: &Lexicon,
    pairs: &[Pair],
    max_len: usize,
    device: &Device,
) -> Result<GreedyScores> {
    let (exact, decoded) = exact_match(model, lexicon, pairs, max_len, device)?;
    let hyps: Vec<&str> = decoded.iter().map(|d| d.hypothesis.as_str()).collect();
    let refs = vec![decoded
        .iter()
        .map(|d| d.reference.as_str())
        .collect::<Vec<_>>()];
    let metric = |e: crate::metrics::MetricError| tensor::Error::InvalidArgument {
        op: "greedy_scores",
        msg: e.to_string(),
    };
    let bleu = corpus_bleu(&hyps, &refs, &BleuConfig::default()).map_err(metric)?;
    let chrf = corpus_chrf(&hyps, &refs, &ChrfConfig::default()).map_err(metric)?;
    Ok(GreedyScores {
        bleu: bleu.score as f32,
        chrf: chrf.score as f32,
        exact,
    })
}
