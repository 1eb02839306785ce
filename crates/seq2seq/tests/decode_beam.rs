//! Beam search (seq2seq::decode) on small random models of every family:
//! width 1 is greedy; a beam wide enough to keep every prefix finds the
//! sequence an exhaustive search over all outputs scores best; a
//! hypothesis' reported log-probability is what teacher forcing gives the
//! same tokens; a batch of sentences decodes as each sentence alone;
//! attention maps are distributions over the real source tokens; the
//! length limit ends hypotheses without `<eos>`; the GPU finds what the
//! CPU finds. All of it under both length penalty rules, GNMT's and the
//! power |Y|^α: the exhaustive optimum found under each says the early
//! stop never loses the best. N-best lists start with the best hypothesis and are ranked;
//! sampling with top-k 1 is greedy, reproducible from its seed, the same
//! in a batch as alone, and reports the model's log-probability.

use seq2seq::data::Vocab;
use seq2seq::decode::{decode, decode_nbest, DecodeOptions, Hypothesis, LengthNorm, Sampling};
use seq2seq::models::{
    AttnConfig, CellKind, Model, ModelConfig, RnnSeq2SeqConfig, ScoreKind, Source, Target,
    TransformerSeq2SeqConfig,
};
use seq2seq::Ctx;
use tensor::{Device, Rng, Tensor};

const SRC_VOCAB: usize = 20;

/// One model of every family (and the variants whose decoder state differs:
/// LSTM's cell, Luong's input feeding, pre- and post-norm).
fn configs(tgt_vocab: usize) -> Vec<(&'static str, ModelConfig)> {
    let rnn = |cell| {
        ModelConfig::Rnn(RnnSeq2SeqConfig {
            cell,
            src_vocab: SRC_VOCAB,
            tgt_vocab,
            embed_size: 8,
            hidden_size: 12,
            num_layers: 2,
            dropout: 0.0,
            reverse_source: true,
            teacher_forcing: 1.0,
        })
    };
    let attn = |cell, score, input_feeding| {
        ModelConfig::Attn(AttnConfig {
            cell,
            score,
            src_vocab: SRC_VOCAB,
            tgt_vocab,
            embed_size: 8,
            hidden_size: 6,
            num_layers: 1,
            bidirectional: true,
            attn_size: 10,
            dropout: 0.0,
            input_feeding,
            teacher_forcing: 1.0,
        })
    };
    let transformer = |norm_first| {
        ModelConfig::Transformer(TransformerSeq2SeqConfig {
            src_vocab: SRC_VOCAB,
            tgt_vocab,
            d_model: 16,
            nhead: 4,
            num_encoder_layers: 1,
            num_decoder_layers: 2,
            dim_feedforward: 24,
            dropout: 0.0,
            norm_first,
            share_embeddings: false,
            tie_output: false,
            max_len: 64,
        })
    };
    vec![
        ("gru", rnn(CellKind::Gru)),
        ("lstm", rnn(CellKind::Lstm)),
        ("bahdanau", attn(CellKind::Gru, ScoreKind::Bahdanau, false)),
        ("luong-feed", attn(CellKind::Lstm, ScoreKind::General, true)),
        ("transformer-post", transformer(false)),
        ("transformer-pre", transformer(true)),
    ]
}

/// A random model with sharper output distributions (so prefixes differ)
/// and `eos_bias` added to the `<eos>` logit (to end outputs early, or never).
fn model(config: &ModelConfig, seed: u64, eos_bias: f32, device: &Device) -> Model {
    let m = Model::new(config, &mut Rng::new(seed), device).unwrap();
    let generator = match &m {
        Model::Rnn(m) => &m.generator,
        Model::Attn(m) => &m.generator,
        Model::Transformer(m) => &m.generator,
    };
    let w = &generator.weight;
    w.copy_from(&w.detach().mul_scalar(3.0).unwrap()).unwrap();
    let embed = match &m {
        Model::Rnn(m) => &m.tgt_embed,
        Model::Attn(m) => &m.tgt_embed,
        Model::Transformer(m) => m.tgt_embed.as_ref().unwrap(),
    };
    let e = &embed.weight;
    e.copy_from(&e.detach().mul_scalar(4.0).unwrap()).unwrap();
    let b = generator.bias.as_ref().unwrap();
    let mut bias = b.to_vec();
    bias[Vocab::EOS as usize] += eos_bias;
    let n = bias.len();
    b.copy_from(&Tensor::from_vec(bias, [n], device).unwrap())
        .unwrap();
    m
}

/// A random model whose outputs end at different lengths: random decoders
/// tend to a fixed point where `<eos>` is always or never the best token,
/// so the `<eos>` bias is chosen (from a grid) to give greedy outputs of
/// as many different lengths as possible on `src` — some ending early,
/// some not — so that sentences leave the batch at different steps. When
/// no bias does it for `seed`, the next seeds are tried.
fn varied_model(config: &ModelConfig, seed: u64, src: &Source, device: &Device) -> Model {
    let (seed, bias) = varied(config, seed, src);
    model(config, seed, bias, device)
}

/// The seed and `<eos>` bias of [`varied_model`] (found on the CPU).
fn varied(config: &ModelConfig, seed: u64, src: &Source) -> (u64, f32) {
    let device = &Device::Cpu;
    let src = &Source {
        ids: src.ids.to(device).unwrap(),
        lens: src.lens.clone(),
        pad_mask: src.pad_mask.to(device).unwrap(),
    };
    let max_len = 15;
    let lengths = |m: &Model| -> Vec<usize> {
        m.greedy(src, max_len)
            .unwrap()
            .iter()
            .map(Vec::len)
            .collect()
    };
    let distinct = |lens: &[usize]| {
        let mut l = lens.to_vec();
        l.sort();
        l.dedup();
        l.len()
    };
    for seed in seed..seed + 5 {
        let (best, lens) = (0..=64)
            .map(|i| i as f32 * 0.125 - 3.0)
            .map(|bias| (bias, lengths(&model(config, seed, bias, device))))
            .max_by_key(|(_, lens)| distinct(lens))
            .unwrap();
        if distinct(&lens) >= 2 && lens.iter().any(|&l| l < max_len) {
            return (seed, best);
        }
    }
    panic!("no <eos> bias gives outputs of different lengths from seed {seed} on");
}

/// Random sources of the given lengths (ids 4.., no specials).
fn sources(lens: &[usize], seed: u64, device: &Device) -> Source {
    let mut rng = Rng::new(seed);
    let rows: Vec<Vec<u32>> = lens
        .iter()
        .map(|&n| {
            (0..n)
                .map(|_| {
                    4 + (rng.uniform() * (SRC_VOCAB - 4) as f64) as u32 % (SRC_VOCAB as u32 - 4)
                })
                .collect()
        })
        .collect();
    Source::from_ids(&rows, device).unwrap()
}

/// Source row `r` alone.
fn row(src: &Source, r: usize) -> Source {
    let ids: Vec<u32> = src.ids.to_vec()[r * src.ids.dims()[1]..][..src.lens[r]]
        .iter()
        .map(|&v| v as u32)
        .collect();
    Source::from_ids(&[ids], &src.ids.device()).unwrap()
}

fn options(beam: usize, length_penalty: f32, max_len: usize) -> DecodeOptions {
    DecodeOptions {
        beam,
        length_penalty,
        max_len_ratio: 0.0,
        max_len,
        ..Default::default()
    }
}

/// [`options`] under the length penalty rule `rule`.
fn options_with(
    rule: LengthNorm,
    beam: usize,
    length_penalty: f32,
    max_len: usize,
) -> DecodeOptions {
    DecodeOptions {
        length_norm: rule,
        ..options(beam, length_penalty, max_len)
    }
}

/// The GNMT score, written out here independently of the library.
fn gnmt(log_prob: f64, len: usize, alpha: f32) -> f64 {
    normalised(log_prob, len, alpha, LengthNorm::Gnmt)
}

/// log P / lp(len) under `rule`, `len` counting the `<eos>` if any,
/// written out here independently of the library.
fn normalised(log_prob: f64, len: usize, alpha: f32, rule: LengthNorm) -> f64 {
    let lp = match rule {
        LengthNorm::Gnmt => (5.0 + len as f64) / 6.0,
        LengthNorm::Power => len as f64,
    };
    log_prob / lp.powf(alpha as f64)
}

/// log P(y | x) of whole outputs by teacher forcing (`forward`), one
/// output per entry of `outputs`, all for source row `src` (one row):
/// `outputs[i]` is the full token list, `<eos>` included if it has one.
fn teacher_forced_log_probs(model: &Model, src: &Source, outputs: &[Vec<u32>]) -> Vec<f64> {
    let device = src.ids.device();
    let n = outputs.len();
    let t = outputs.iter().map(Vec::len).max().unwrap();
    let (mut input, mut output) = (vec![0.0; n * t], vec![0.0; n * t]);
    for (i, y) in outputs.iter().enumerate() {
        for (j, &v) in y.iter().enumerate() {
            input[i * t + j] = if j == 0 { Vocab::BOS } else { y[j - 1] } as f32;
            output[i * t + j] = v as f32;
        }
    }
    let target = Target {
        input: Tensor::from_vec(input, [n, t], &device).unwrap(),
        output: Tensor::from_vec(output.clone(), [n, t], &device).unwrap(),
    };
    let ids = src.ids.to_vec()[..src.lens[0]]
        .iter()
        .map(|&v| v as u32)
        .collect::<Vec<_>>();
    let batch = Source::from_ids(&vec![ids; n], &device).unwrap();
    let logits = tensor::no_grad(|| model.forward(&batch, &target, &mut Ctx::eval())).unwrap();
    let v = logits.dims()[2];
    let lp = logits.log_softmax(-1).unwrap().to_vec(); // [n, t, V]
    outputs
        .iter()
        .enumerate()
        .map(|(i, y)| {
            y.iter()
                .enumerate()
                .map(|(j, &tok)| lp[(i * t + j) * v + tok as usize] as f64)
                .sum()
        })
        .collect()
}

/// The tokens a hypothesis scored: its output, then `<eos>` unless it was
/// cut by the length limit.
fn scored_tokens(h: &Hypothesis, limit: usize) -> Vec<u32> {
    let mut y = h.tokens.clone();
    if y.len() < limit {
        y.push(Vocab::EOS);
    }
    y
}

/// Every output of at most `limit` tokens: `<eos>`-terminated ones, and
/// those that reach the limit without `<eos>`.
fn all_outputs(vocab: usize, limit: usize) -> Vec<Vec<u32>> {
    let words: Vec<u32> = (0..vocab as u32).filter(|&v| v != Vocab::EOS).collect();
    let mut prefixes = vec![vec![]];
    let mut outputs = Vec::new();
    for len in 0..=limit {
        for p in &prefixes {
            if len < limit {
                outputs.push(p.iter().copied().chain([Vocab::EOS]).collect());
            } else {
                outputs.push(p.clone());
            }
        }
        if len < limit {
            prefixes = prefixes
                .iter()
                .flat_map(|p| words.iter().map(move |&w| [p.clone(), vec![w]].concat()))
                .collect();
        }
    }
    outputs
}

/// Exhaustive search: the best-scoring output under `rule` and its score.
fn brute_force(
    model: &Model,
    src: &Source,
    vocab: usize,
    limit: usize,
    alpha: f32,
    rule: LengthNorm,
) -> (Vec<u32>, f64) {
    let outputs = all_outputs(vocab, limit);
    let lps = teacher_forced_log_probs(model, src, &outputs);
    let (best, score) = outputs
        .iter()
        .zip(&lps)
        .map(|(y, &lp)| (y, normalised(lp, y.len(), alpha, rule)))
        .fold((None, f64::NEG_INFINITY), |(b, s), (y, sc)| match sc > s {
            true => (Some(y), sc),
            false => (b, s),
        });
    let tokens = best
        .unwrap()
        .iter()
        .copied()
        .filter(|&v| v != Vocab::EOS)
        .collect();
    (tokens, score)
}

#[test]
fn beam_width_one_is_greedy() {
    let device = Device::Cpu;
    let src = sources(&[5, 2, 8, 1, 6, 3], 7, &device);
    for (name, config) in configs(12) {
        for seed in [1, 2] {
            let m = varied_model(&config, seed, &src, &device);
            let greedy = m.greedy(&src, 15).unwrap();
            let beam = decode(&m, &src, &options(1, 0.6, 15)).unwrap();
            let lens: Vec<usize> = greedy.iter().map(Vec::len).collect();
            for (r, (g, b)) in greedy.iter().zip(&beam).enumerate() {
                assert_eq!(&b.tokens, g, "{name} seed {seed} row {r}: beam 1 ≠ greedy");
            }
            eprintln!("{name} seed {seed}: greedy lengths {lens:?}");
        }
    }
}

#[test]
fn reported_log_prob_and_score_match_teacher_forcing() {
    let device = Device::Cpu;
    let src = sources(&[4, 7, 2, 5, 1, 3], 11, &device);
    for (name, config) in configs(12) {
        let m = varied_model(&config, 3, &src, &device);
        for (beam, alpha, rule) in [
            (1, 0.0, LengthNorm::Gnmt),
            (3, 0.6, LengthNorm::Gnmt),
            (5, 1.0, LengthNorm::Gnmt),
            (3, 0.6, LengthNorm::Power),
            (5, 1.0, LengthNorm::Power),
        ] {
            let hyps = decode(&m, &src, &options_with(rule, beam, alpha, 10)).unwrap();
            for (r, h) in hyps.iter().enumerate() {
                let y = scored_tokens(h, 10);
                let lp = teacher_forced_log_probs(&m, &row(&src, r), std::slice::from_ref(&y))[0];
                assert!(
                    (h.log_prob as f64 - lp).abs() < 1e-4 * lp.abs().max(1.0),
                    "{name} beam {beam} row {r}: log_prob {} but teacher forcing gives {lp}",
                    h.log_prob
                );
                let score = normalised(lp, y.len(), alpha, rule);
                assert!(
                    (h.score as f64 - score).abs() < 1e-4 * score.abs().max(1.0),
                    "{name} beam {beam} {rule:?} row {r}: score {} but lp-normalised {score}",
                    h.score
                );
            }
        }
    }
}

/// Vocabulary of 6 (the 4 specials and 2 words) and outputs of at most 4
/// tokens: 781 possible outputs, at most 5³ = 125 live prefixes before the
/// last step — a beam of 200 keeps them all, so it must find the best.
#[test]
fn wide_beam_finds_the_exhaustive_optimum() {
    let device = Device::Cpu;
    let (vocab, limit) = (6, 4);
    let src = sources(&[3, 5, 2, 6], 5, &device);
    for (name, config) in configs(vocab) {
        for (seed, alpha, rule) in [
            (1, 0.0, LengthNorm::Gnmt),
            (2, 0.6, LengthNorm::Gnmt),
            (3, 2.0, LengthNorm::Gnmt),
            (2, 0.6, LengthNorm::Power),
            (3, 2.0, LengthNorm::Power),
        ] {
            // the <eos> bias whose optima (found by brute force) have the
            // most different lengths, so that they are not all empty
            let (m, optima) = (0..=8)
                .map(|i| {
                    let m = model(&config, seed, i as f32 - 3.0, &device);
                    let optima: Vec<_> = (0..src.rows())
                        .map(|r| brute_force(&m, &row(&src, r), vocab, limit, alpha, rule))
                        .collect();
                    (m, optima)
                })
                .max_by_key(|(_, optima)| {
                    let mut lens: Vec<usize> = optima.iter().map(|(y, _)| y.len()).collect();
                    lens.sort();
                    lens.dedup();
                    (lens.len(), lens.iter().filter(|&&l| l > 0).count())
                })
                .unwrap();
            let opts = DecodeOptions {
                attention: true,
                ..options_with(rule, 200, alpha, limit)
            };
            let hyps = decode(&m, &src, &opts).unwrap();
            for (r, h) in hyps.iter().enumerate() {
                let (best, score) = optima[r].clone();
                eprintln!("{name} seed {seed} α {alpha} {rule:?} row {r}: best {best:?}");
                assert_same_maps(
                    h,
                    &replayed_attention(&m, &row(&src, r), &scored_tokens(h, limit)),
                    name,
                );
                assert_eq!(
                    h.tokens, best,
                    "{name} seed {seed} α {alpha} {rule:?} row {r}: beam {} vs exhaustive {score}",
                    h.score
                );
                assert!((h.score as f64 - score).abs() < 1e-4 * score.abs().max(1.0));
                // a narrow beam may miss it, but never beats it
                let narrow =
                    decode(&m, &row(&src, r), &options_with(rule, 2, alpha, limit)).unwrap();
                assert!(narrow[0].score as f64 <= score + 1e-4 * score.abs().max(1.0));
            }
        }
    }
}

/// Width 10 over a vocabulary of 6: the first step has only 6 candidates.
/// With outputs of at most 2 tokens the 5 live prefixes all fit, so the
/// result is again the exhaustive optimum.
#[test]
fn beam_wider_than_the_vocabulary() {
    let device = Device::Cpu;
    let (vocab, limit) = (6, 2);
    let src = sources(&[4, 1, 6], 9, &device);
    for (name, config) in configs(vocab) {
        let m = model(&config, 4, 0.0, &device);
        let hyps = decode(&m, &src, &options(10, 0.6, limit)).unwrap();
        for (r, h) in hyps.iter().enumerate() {
            let (best, score) = brute_force(&m, &row(&src, r), vocab, limit, 0.6, LengthNorm::Gnmt);
            assert_eq!(h.tokens, best, "{name} row {r}");
            assert!((h.score as f64 - score).abs() < 1e-4 * score.abs().max(1.0));
        }
    }
}

/// With `<eos>` made impossible, every hypothesis runs to the limit: the
/// absolute cap, or the source-length ratio when it is smaller.
#[test]
fn the_length_limit_ends_hypotheses_without_eos() {
    let device = Device::Cpu;
    let src = sources(&[3, 6], 13, &device);
    for (name, config) in configs(12) {
        let m = model(&config, 5, -1e4, &device);
        for beam in [1, 3] {
            let opts = DecodeOptions {
                attention: true,
                ..options(beam, 0.6, 5)
            };
            let hyps = decode(&m, &src, &opts).unwrap();
            for (r, h) in hyps.iter().enumerate() {
                assert_eq!(h.tokens.len(), 5, "{name} beam {beam} row {r}");
                assert!(h.tokens.iter().all(|&v| v != Vocab::EOS));
                let lp =
                    teacher_forced_log_probs(&m, &row(&src, r), std::slice::from_ref(&h.tokens))[0];
                assert!(
                    (h.log_prob as f64 - lp).abs() < 1e-4 * lp.abs().max(1.0),
                    "{name}"
                );
                assert!((h.score as f64 - gnmt(lp, 5, 0.6)).abs() < 1e-4 * lp.abs().max(1.0));
                assert!(h.attention.iter().all(|a| a.rows == 5));
            }
            // ratio 1: as many tokens as the source has, at most 5
            let ratio = DecodeOptions {
                max_len_ratio: 1.0,
                ..options(beam, 0.6, 5)
            };
            let lens: Vec<usize> = decode(&m, &src, &ratio)
                .unwrap()
                .iter()
                .map(|h| h.tokens.len())
                .collect();
            assert_eq!(lens, vec![3, 5], "{name} beam {beam}");
        }
    }
}

/// Attention maps of `h`: cols the real source length, one row per scored
/// token, each row a distribution.
fn check_maps(h: &Hypothesis, src_len: usize, limit: usize, expected: &[String], what: &str) {
    let names: Vec<&str> = h.attention.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        expected.iter().map(String::as_str).collect::<Vec<_>>(),
        "{what}"
    );
    let rows = scored_tokens(h, limit).len();
    for a in &h.attention {
        assert_eq!((a.rows, a.cols), (rows, src_len), "{what} {}", a.name);
        assert_eq!(a.weights.len(), rows * src_len);
        for t in 0..a.rows {
            let sum: f32 = a.row(t).iter().sum();
            assert!(
                (sum - 1.0).abs() < 1e-5,
                "{what} {} row {t} sums to {sum}",
                a.name
            );
            assert!(a.row(t).iter().all(|&w| w >= 0.0));
        }
    }
}

fn expected_maps(config: &ModelConfig) -> Vec<String> {
    match config {
        ModelConfig::Rnn(_) => vec![],
        ModelConfig::Attn(_) => vec!["attention".to_string()],
        ModelConfig::Transformer(c) => (0..c.num_decoder_layers)
            .flat_map(|l| {
                (0..c.nhead).map(move |h| format!("decoder.layers.{l}.multihead_attn head {h}"))
            })
            .collect(),
    }
}

#[test]
fn batched_beam_equals_each_sentence_alone() {
    let device = Device::Cpu;
    let lens = [3, 7, 1, 5, 2];
    let src = sources(&lens, 17, &device);
    for (name, config) in configs(12) {
        let m = varied_model(&config, 6, &src, &device);
        let opts = DecodeOptions {
            attention: true,
            ..options(4, 0.6, 12)
        };
        let batch = decode(&m, &src, &opts).unwrap();
        assert_eq!(batch.len(), lens.len());
        for (r, b) in batch.iter().enumerate() {
            let alone = &decode(&m, &row(&src, r), &opts).unwrap()[0];
            let what = format!("{name} row {r}");
            assert_eq!(b.tokens, alone.tokens, "{what}");
            assert!((b.score - alone.score).abs() < 1e-4, "{what}");
            assert!((b.log_prob - alone.log_prob).abs() < 1e-4, "{what}");
            check_maps(b, lens[r], 12, &expected_maps(&config), &what);
            assert_eq!(b.attention.len(), alone.attention.len());
            for (x, y) in b.attention.iter().zip(&alone.attention) {
                assert_eq!((x.rows, x.cols), (y.rows, y.cols));
                let diff = x
                    .weights
                    .iter()
                    .zip(&y.weights)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f32::max);
                assert!(
                    diff < 1e-4,
                    "{what} {}: batched and alone differ by {diff}",
                    x.name
                );
            }
        }
        // no maps unless asked, and asking for them changes no output bit
        let quiet = decode(&m, &src, &options(4, 0.6, 12)).unwrap();
        assert!(quiet.iter().all(|h| h.attention.is_empty()));
        for (q, b) in quiet.iter().zip(&batch) {
            assert_eq!(q.tokens, b.tokens, "{name}");
            assert_eq!(q.score.to_bits(), b.score.to_bits(), "{name}");
            assert_eq!(q.log_prob.to_bits(), b.log_prob.to_bits(), "{name}");
        }
    }
}

/// The attention maps of a hypothesis, recomputed by feeding its tokens
/// to the model step by step (no search): what the back-pointers must give.
fn replayed_attention(m: &Model, src: &Source, scored: &[u32]) -> Vec<Vec<f32>> {
    use seq2seq::models::Seq2Seq;
    fn replay<M: Seq2Seq>(m: &M, src: &Source, scored: &[u32]) -> Vec<Vec<f32>> {
        let device = src.ids.device();
        let mut state = m.start(src).unwrap();
        let mut prev = Vocab::BOS;
        let mut maps: Vec<Vec<f32>> = Vec::new();
        for &tok in scored {
            let step = m
                .step(
                    &state,
                    &Tensor::from_vec(vec![prev as f32], [1], &device).unwrap(),
                )
                .unwrap();
            let s = src.lens[0];
            let mut i = 0;
            for (_, w) in &step.attention {
                let w = w.to_vec(); // [1, S] or [1, h, S]
                let width = *step.attention[0].1.dims().last().unwrap();
                for head in w.chunks(width) {
                    if maps.len() <= i {
                        maps.push(Vec::new());
                    }
                    maps[i].extend_from_slice(&head[..s]);
                    i += 1;
                }
            }
            state = step.state;
            prev = tok;
        }
        maps
    }
    tensor::no_grad(|| match m {
        Model::Rnn(x) => replay(x, src, scored),
        Model::Attn(x) => replay(x, src, scored),
        Model::Transformer(x) => replay(x, src, scored),
    })
}

/// The maps returned with a beam hypothesis are those of the beams it came
/// through: replaying its tokens gives the same weights.
#[test]
fn attention_follows_the_chosen_hypothesis() {
    let device = Device::Cpu;
    let lens = [4, 6, 3];
    let src = sources(&lens, 29, &device);
    for (name, config) in configs(12) {
        let m = varied_model(&config, 12, &src, &device);
        let opts = DecodeOptions {
            attention: true,
            ..options(5, 1.0, 9)
        };
        for (r, h) in decode(&m, &src, &opts).unwrap().iter().enumerate() {
            let replayed = replayed_attention(&m, &row(&src, r), &scored_tokens(h, 9));
            assert_same_maps(h, &replayed, &format!("{name} row {r}"));
        }
    }
}

fn assert_same_maps(h: &Hypothesis, replayed: &[Vec<f32>], what: &str) {
    assert_eq!(replayed.len(), h.attention.len(), "{what}");
    for (a, want) in h.attention.iter().zip(replayed) {
        assert_eq!(a.weights.len(), want.len(), "{what} {}", a.name);
        let diff = a
            .weights
            .iter()
            .zip(want)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        assert!(diff < 1e-4, "{what} {}: differs by {diff}", a.name);
    }
}

/// The weights a step returns put nothing on padded source positions.
#[test]
fn step_attention_is_zero_on_padding() {
    use seq2seq::models::Seq2Seq;
    let device = Device::Cpu;
    let lens = [2, 6, 4];
    let src = sources(&lens, 19, &device);
    let prev = Tensor::full(Vocab::BOS as f32, [3], &device).unwrap();
    let check = |attention: Vec<(String, Tensor)>, what: &str| {
        assert!(!attention.is_empty(), "{what}");
        for (name, w) in attention {
            let s = *w.dims().last().unwrap();
            let per_row = w.numel() / (3 * s);
            let w = w.to_vec();
            for (r, &n) in lens.iter().enumerate() {
                for m in 0..per_row {
                    let map = &w[(r * per_row + m) * s..][..s];
                    let sum: f32 = map[..n].iter().sum();
                    assert!((sum - 1.0).abs() < 1e-5, "{what} {name} row {r}");
                    assert!(
                        map[n..].iter().all(|&x| x == 0.0),
                        "{what} {name} row {r}: {map:?}"
                    );
                }
            }
        }
    };
    for (name, config) in configs(12) {
        let m = model(&config, 8, 0.0, &device);
        tensor::no_grad(|| match &m {
            Model::Rnn(_) => {}
            Model::Attn(a) => {
                let step = a.step(&a.start(&src).unwrap(), &prev).unwrap();
                check(step.attention, name)
            }
            Model::Transformer(t) => {
                let step = t.step(&t.start(&src).unwrap(), &prev).unwrap();
                let step = t.step(&step.state, &prev).unwrap();
                check(step.attention, name)
            }
        });
    }
}

#[test]
fn bad_options_are_refused_by_name() {
    let device = Device::Cpu;
    let src = sources(&[3], 1, &device);
    let m = model(&configs(12)[0].1, 1, 0.0, &device);
    let err = decode(&m, &src, &options(0, 0.6, 10))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("beam"), "{err}");
    let err = decode(&m, &src, &options(2, 0.6, 0))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("max_len"), "{err}");
    let err = decode(&m, &src, &options(2, f32::NAN, 5))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("length penalty"), "{err}");
    // no sentences, no hypotheses
    let none = Source::from_ids(&[], &device).unwrap();
    assert!(decode(&m, &none, &options(3, 0.6, 5)).unwrap().is_empty());
}

#[test]
fn gpu_beam_finds_what_the_cpu_finds() {
    if !kernels_gpu::gpu_ready_for_tests() {
        return;
    }
    let lens = [3, 6, 2, 5, 1, 4];
    for (name, config) in configs(12) {
        if !matches!(name, "bahdanau" | "transformer-pre" | "lstm") {
            continue;
        }
        let opts = DecodeOptions {
            attention: true,
            ..options(3, 0.6, 10)
        };
        let (seed, bias) = varied(&config, 2, &sources(&lens, 23, &Device::Cpu));
        let run = |device: Device| {
            let m = model(&config, seed, bias, &device);
            decode(&m, &sources(&lens, 23, &device), &opts).unwrap()
        };
        let (cpu, gpu) = (run(Device::Cpu), run(Device::Gpu));
        for (r, (c, g)) in cpu.iter().zip(&gpu).enumerate() {
            assert_eq!(c.tokens, g.tokens, "{name} row {r}");
            assert!(
                (c.score - g.score).abs() < 1e-3,
                "{name} row {r}: {} vs {}",
                c.score,
                g.score
            );
            for (x, y) in c.attention.iter().zip(&g.attention) {
                let diff = x
                    .weights
                    .iter()
                    .zip(&y.weights)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f32::max);
                assert!(diff < 1e-3, "{name} row {r} {}: {diff}", x.name);
            }
        }
    }
}

#[test]
fn nbest_lists_start_with_the_best_and_are_ranked() {
    let device = Device::Cpu;
    let src = sources(&[5, 2, 8, 3], 13, &device);
    let cases = [LengthNorm::Gnmt, LengthNorm::Power]
        .into_iter()
        .flat_map(|rule| configs(12).into_iter().map(move |c| (rule, c)));
    for (rule, (name, config)) in cases {
        let m = varied_model(&config, 4, &src, &device);
        let opts = DecodeOptions {
            attention: true,
            ..options_with(rule, 4, 0.6, 10)
        };
        let best = decode(&m, &src, &opts).unwrap();
        let nbest = decode_nbest(
            &m,
            &src,
            &DecodeOptions {
                nbest: 4,
                ..opts.clone()
            },
        )
        .unwrap();
        assert_eq!(nbest.len(), best.len());
        for (r, (list, b)) in nbest.iter().zip(&best).enumerate() {
            let what = format!("{name} {rule:?} row {r}");
            assert_eq!(list.len(), 4, "{what}");
            assert_eq!(&list[0], b, "{what}: the n-best list starts elsewhere");
            for pair in list.windows(2) {
                assert!(pair[0].score >= pair[1].score, "{what}: not ranked");
            }
            let mut outputs: Vec<&Vec<u32>> = list.iter().map(|h| &h.tokens).collect();
            outputs.sort();
            outputs.dedup();
            assert_eq!(outputs.len(), list.len(), "{what}: repeated hypotheses");
            for h in list {
                let y = scored_tokens(h, 10);
                let lp = teacher_forced_log_probs(&m, &row(&src, r), std::slice::from_ref(&y))[0];
                assert!(
                    (h.log_prob as f64 - lp).abs() < 1e-4 * lp.abs().max(1.0),
                    "{what}"
                );
                let score = normalised(lp, y.len(), 0.6, rule);
                assert!(
                    (h.score as f64 - score).abs() < 1e-4 * score.abs().max(1.0),
                    "{what}"
                );
                let replayed = replayed_attention(&m, &row(&src, r), &y);
                assert_same_maps(h, &replayed, &what);
            }
        }
        // one hypothesis asked for: the list of one
        let one = decode_nbest(&m, &src, &opts).unwrap();
        assert!(one
            .iter()
            .zip(&best)
            .all(|(l, b)| l.len() == 1 && &l[0] == b));
    }
}

#[test]
fn nbest_beyond_the_beam_and_sampling_in_a_beam_are_refused() {
    let device = Device::Cpu;
    let src = sources(&[3], 1, &device);
    let (_, config) = &configs(8)[0];
    let m = model(config, 1, 0.0, &device);
    let wide = DecodeOptions {
        nbest: 3,
        ..options(2, 0.6, 5)
    };
    let e = decode_nbest(&m, &src, &wide).unwrap_err().to_string();
    assert!(e.contains("nbest 3") && e.contains("beam width 2"), "{e}");
    let sampled_beam = DecodeOptions {
        sampling: Some(Sampling::default()),
        ..options(2, 0.6, 5)
    };
    let e = decode(&m, &src, &sampled_beam).unwrap_err().to_string();
    assert!(e.contains("beam must be 1"), "{e}");
}

fn sampling(seed: u64, temperature: f32, top_k: usize, top_p: f32) -> DecodeOptions {
    DecodeOptions {
        sampling: Some(Sampling {
            temperature,
            top_k,
            top_p,
            seed,
            offset: 0,
        }),
        ..options(1, 0.6, 12)
    }
}

#[test]
fn sampling_the_top_token_is_greedy() {
    let device = Device::Cpu;
    let src = sources(&[5, 2, 8, 1, 6, 3], 7, &device);
    for (name, config) in configs(12) {
        let m = varied_model(&config, 1, &src, &device);
        let greedy = decode(&m, &src, &options(1, 0.6, 12)).unwrap();
        for opts in [sampling(3, 0.7, 1, 1.0), sampling(4, 1.0, 0, 1e-6)] {
            let sampled = decode(&m, &src, &opts).unwrap();
            for (r, (s, g)) in sampled.iter().zip(&greedy).enumerate() {
                assert_eq!(s.tokens, g.tokens, "{name} row {r}");
                assert!((s.log_prob - g.log_prob).abs() < 1e-5, "{name} row {r}");
                assert!((s.score - g.score).abs() < 1e-5, "{name} row {r}");
            }
        }
    }
}

#[test]
fn sampling_is_reproducible_and_the_same_in_a_batch_as_alone() {
    let device = Device::Cpu;
    let src = sources(&[5, 2, 8, 4, 6, 3], 9, &device);
    let mut differ = 0;
    for (name, config) in configs(12) {
        let m = varied_model(&config, 2, &src, &device);
        let opts = DecodeOptions {
            attention: true,
            ..sampling(11, 1.5, 8, 0.95)
        };
        let first = decode(&m, &src, &opts).unwrap();
        assert_eq!(
            first,
            decode(&m, &src, &opts).unwrap(),
            "{name}: same seed, other output"
        );
        for (r, h) in first.iter().enumerate() {
            let what = format!("{name} row {r}");
            // row r of the batch draws from stream r: alone, with offset r
            let mut alone_opts = opts.clone();
            alone_opts.sampling.as_mut().unwrap().offset = r as u64;
            let alone = decode(&m, &row(&src, r), &alone_opts).unwrap();
            assert_eq!(alone[0].tokens, h.tokens, "{what}: alone ≠ in the batch");
            // the reported log-probability is the model's, at T = 1, unfiltered
            let y = scored_tokens(h, 12);
            let lp = teacher_forced_log_probs(&m, &row(&src, r), std::slice::from_ref(&y))[0];
            assert!(
                (h.log_prob as f64 - lp).abs() < 1e-4 * lp.abs().max(1.0),
                "{what}"
            );
            assert!((h.score as f64 - gnmt(lp, y.len(), 0.6)).abs() < 1e-4 * lp.abs().max(1.0));
            let replayed = replayed_attention(&m, &row(&src, r), &y);
            assert_same_maps(h, &replayed, &what);
        }
        let other = decode(&m, &src, &sampling(12, 1.5, 8, 0.95)).unwrap();
        differ += first
            .iter()
            .zip(&other)
            .filter(|(a, b)| a.tokens != b.tokens)
            .count();
    }
    assert!(
        differ > 0,
        "seeds 11 and 12 drew the same outputs everywhere"
    );
}
