//! Incremental Transformer decoding (models/transformer.rs with the
//! key/value caches of nn/transformer_layer.rs) gives what full
//! recomputation gives: step t's logits equal `forward`'s (teacher forcing
//! on the same prefix) at position t, also after the caches are reordered;
//! step t's cross-attention weights equal those of
//! `MultiheadAttention::forward` on the whole prefix; and the positional
//! table's end is a clear error.

use seq2seq::data::Vocab;
use seq2seq::decode::{decode, DecodeOptions};
use seq2seq::models::{
    Model, ModelConfig, Seq2Seq, Source, Target, TransformerSeq2Seq, TransformerSeq2SeqConfig,
};
use seq2seq::nn::{Masks, Weights};
use seq2seq::Ctx;
use tensor::{no_grad, Device, Rng, Tensor};

const SRC_VOCAB: usize = 17;
const TGT_VOCAB: usize = 13;

fn transformer(norm_first: bool, tie: bool, device: &Device) -> TransformerSeq2Seq {
    let config = TransformerSeq2SeqConfig {
        src_vocab: SRC_VOCAB,
        tgt_vocab: TGT_VOCAB,
        d_model: 24,
        nhead: 3,
        num_encoder_layers: 2,
        num_decoder_layers: 3,
        dim_feedforward: 40,
        dropout: 0.1, // inactive when decoding
        norm_first,
        share_embeddings: false,
        tie_output: tie,
        max_len: 16,
    };
    TransformerSeq2Seq::new(config, &mut Rng::new(3), device).unwrap()
}

/// Random ids in `lo..hi`, `rows × cols`.
fn random_ids(rows: usize, cols: usize, lo: u32, hi: u32, seed: u64) -> Vec<Vec<u32>> {
    let mut rng = Rng::new(seed);
    (0..rows)
        .map(|_| {
            (0..cols)
                .map(|_| lo + ((rng.uniform() * (hi - lo) as f64) as u32).min(hi - lo - 1))
                .collect()
        })
        .collect()
}

fn sources(lens: &[usize], seed: u64, device: &Device) -> (Vec<Vec<u32>>, Source) {
    let rows: Vec<Vec<u32>> = random_ids(lens.len(), 9, 4, SRC_VOCAB as u32, seed)
        .into_iter()
        .zip(lens)
        .map(|(r, &n)| r[..n].to_vec())
        .collect();
    let src = Source::from_ids(&rows, device).unwrap();
    (rows, src)
}

/// `<bos> y` as a `[B, T]` tensor for teacher forcing.
fn decoder_input(prefixes: &[Vec<u32>], device: &Device) -> Tensor {
    let t = prefixes[0].len();
    let ids: Vec<f32> = prefixes.iter().flatten().map(|&v| v as f32).collect();
    Tensor::from_vec(ids, [prefixes.len(), t], device).unwrap()
}

/// Teacher-forced logits `[B, T, V]` of the decoder inputs `prefixes`.
fn full_logits(m: &TransformerSeq2Seq, src: &Source, prefixes: &[Vec<u32>]) -> Vec<f32> {
    let device = src.ids.device();
    let input = decoder_input(prefixes, &device);
    let target = Target {
        output: input.zeros_like().unwrap(),
        input,
    };
    no_grad(|| m.forward(src, &target, &mut Ctx::eval()))
        .unwrap()
        .to_vec()
}

fn assert_close(got: &[f32], want: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    let (i, diff) = got
        .iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .enumerate()
        .fold((0, 0.0f32), |m, (i, d)| if d > m.1 { (i, d) } else { m });
    assert!(
        diff <= tol,
        "{what}: element {i} differs by {diff} ({} vs {})",
        got[i],
        want[i]
    );
}

/// Runs `steps` decoder steps feeding `inputs[.., t]` and compares each
/// step's logits with position t of `full` `[B, T, V]`.
fn check_steps(
    m: &TransformerSeq2Seq,
    mut state: <TransformerSeq2Seq as Seq2Seq>::State,
    inputs: &[Vec<u32>],
    steps: std::ops::Range<usize>,
    full: &[f32],
    what: &str,
) -> <TransformerSeq2Seq as Seq2Seq>::State {
    let (b, t_len) = (inputs.len(), inputs[0].len());
    let device = m.generator.weight.device();
    for t in steps {
        let prev: Vec<f32> = inputs.iter().map(|r| r[t] as f32).collect();
        let prev = Tensor::from_vec(prev, [b], &device).unwrap();
        let step = no_grad(|| m.step(&state, &prev)).unwrap();
        let got = step.logits.to_vec(); // [B, V]
                                        // without the weights: the same logits through the fused heads
        let bare = no_grad(|| m.step_logits(&state, &prev)).unwrap();
        assert!(bare.attention.is_empty() && !step.attention.is_empty());
        assert_close(
            &bare.logits.to_vec(),
            &got,
            1e-6,
            &format!("{what} step_logits {t}"),
        );
        let want: Vec<f32> = (0..b)
            .flat_map(|r| full[(r * t_len + t) * TGT_VOCAB..][..TGT_VOCAB].to_vec())
            .collect();
        assert_close(&got, &want, 1e-5, &format!("{what} step {t}"));
        state = step.state;
    }
    state
}

#[test]
fn incremental_steps_equal_full_recomputation() {
    let device = Device::Cpu;
    let (_, src) = sources(&[3, 7, 1, 5], 1, &device);
    let mut inputs = random_ids(4, 8, 0, TGT_VOCAB as u32, 2);
    for row in &mut inputs {
        row[0] = Vocab::BOS;
    }
    for (norm_first, tie) in [(false, false), (true, false), (true, true)] {
        let m = transformer(norm_first, tie, &device);
        let full = full_logits(&m, &src, &inputs);
        let state = no_grad(|| m.start(&src)).unwrap();
        let state = check_steps(
            &m,
            state,
            &inputs,
            0..8,
            &full,
            &format!("norm_first {norm_first}"),
        );
        assert_eq!(state.position, 8);
        assert_eq!(state.layers.len(), 3);
        let cached = state.layers[0].self_attn.as_ref().unwrap();
        assert_eq!(
            cached.keys.dims(),
            &[4, 3, 8, 8],
            "[B, h, t, d]: one position per step"
        );
    }
}

/// Reordering the caches mid-sentence (as beam search does: rows repeated,
/// dropped, and shuffled among rows of the same source) continues exactly
/// as decoding the reordered rows from the start. The rows diverge after
/// each reorder, so two rows of one source hold different prefixes.
#[test]
fn reordered_caches_continue_the_reordered_rows() {
    let device = Device::Cpu;
    let (rows, src) = sources(&[3, 7, 1, 5], 4, &device);
    let with_bos = |mut ids: Vec<Vec<u32>>| {
        for row in &mut ids {
            row[0] = Vocab::BOS;
        }
        ids
    };
    let inputs = with_bos(random_ids(4, 7, 4, TGT_VOCAB as u32, 5));
    // a new batch from rows `order` of `prev`: prefixes kept up to `kept`, then new tokens
    let pick = |prev: &[Vec<u32>], order: &[usize], kept: usize, seed: u64| -> Vec<Vec<u32>> {
        let fresh = random_ids(order.len(), 7, 4, TGT_VOCAB as u32, seed);
        order
            .iter()
            .zip(fresh)
            .map(|(&r, f)| [&prev[r][..kept], &f[kept..]].concat())
            .collect()
    };
    // first: repeat and drop rows (new sources per row); then: swap rows 1
    // and 2, which share source 0 (the memory stays as it is)
    let (first, second) = ([2usize, 0, 0, 3], [0usize, 2, 1, 3]);
    let inputs1 = pick(&inputs, &first, 3, 6);
    let inputs2 = pick(&inputs1, &second, 5, 7);
    let src1: Vec<Vec<u32>> = first.iter().map(|&r| rows[r].clone()).collect();
    let src2: Vec<Vec<u32>> = second.iter().map(|&r| src1[r].clone()).collect();
    let (src1, src2) = (
        Source::from_ids(&src1, &device).unwrap(),
        Source::from_ids(&src2, &device).unwrap(),
    );
    let reorder = |m: &TransformerSeq2Seq, state, order: &[usize]| {
        let ids: Vec<f32> = order.iter().map(|&r| r as f32).collect();
        let n = ids.len();
        m.reorder(&state, &Tensor::from_vec(ids, [n], &device).unwrap())
            .unwrap()
    };
    for norm_first in [false, true] {
        let m = transformer(norm_first, false, &device);
        let what = format!("norm_first {norm_first}");
        let state = no_grad(|| m.start(&src)).unwrap();
        let full = full_logits(&m, &src, &inputs);
        let state = check_steps(&m, state, &inputs, 0..3, &full, &what);
        // each batch is padded to its own longest source
        let state = reorder(&m, state, &first);
        let full = full_logits(&m, &src1, &inputs1);
        let state = check_steps(&m, state, &inputs1, 3..5, &full, &format!("{what} first"));
        let state = reorder(&m, state, &second);
        let full = full_logits(&m, &src2, &inputs2);
        check_steps(&m, state, &inputs2, 5..7, &full, &format!("{what} second"));

        // two reorders with no step between: the second picks rows of the first
        let state = no_grad(|| m.start(&src)).unwrap();
        let full = full_logits(&m, &src, &inputs);
        let state = check_steps(&m, state, &inputs, 0..3, &full, &what);
        let state = reorder(&m, reorder(&m, state, &first), &second);
        let both = pick(&pick(&inputs, &first, 3, 8), &second, 3, 9);
        let src_both: Vec<Vec<u32>> = second.iter().map(|&r| rows[first[r]].clone()).collect();
        let src_both = Source::from_ids(&src_both, &device).unwrap();
        let full = full_logits(&m, &src_both, &both);
        check_steps(&m, state, &both, 3..7, &full, &format!("{what} twice"));
    }
}

/// Cross-attention weights of every decoder layer at step t, from the
/// full prefix: the layer inputs by running the layers' `forward`, then
/// `MultiheadAttention::forward` with per-head weights, as the layer does.
fn full_cross_attention(m: &TransformerSeq2Seq, src: &Source, input: &Tensor) -> Vec<Vec<f32>> {
    let ctx = &mut Ctx::eval();
    let d = (m.config.d_model as f32).sqrt();
    let x = m
        .src_embed
        .forward(&src.ids)
        .unwrap()
        .mul_scalar(d)
        .unwrap();
    let x = m.positional.forward(&x, ctx).unwrap();
    let padding = Masks {
        key_padding_mask: Some(&src.pad_mask),
        ..Default::default()
    };
    let memory = m.transformer.encoder.forward(&x, &padding, ctx).unwrap();
    let table = m.tgt_embed.as_ref().unwrap();
    let y = table.forward(input).unwrap().mul_scalar(d).unwrap();
    let mut y = m.positional.forward(&y, ctx).unwrap();
    let causal = Masks {
        causal: true,
        ..Default::default()
    };
    let mut weights = Vec::new();
    for layer in &m.transformer.decoder.layers {
        // the cross-attention's query: after the self-attention sub-layer
        let query = match m.config.norm_first {
            true => {
                let n = layer.norm1.forward(&y).unwrap();
                let (a, _) = layer
                    .self_attn
                    .forward(&n, &n, &n, &causal, Weights::None, ctx)
                    .unwrap();
                layer.norm2.forward(&y.add(&a).unwrap()).unwrap()
            }
            false => {
                let (a, _) = layer
                    .self_attn
                    .forward(&y, &y, &y, &causal, Weights::None, ctx)
                    .unwrap();
                layer.norm1.forward(&y.add(&a).unwrap()).unwrap()
            }
        };
        let (_, w) = layer
            .multihead_attn
            .forward(&query, &memory, &memory, &padding, Weights::PerHead, ctx)
            .unwrap();
        weights.push(w.unwrap().to_vec()); // [B, h, T, S]
        y = layer.forward(&y, &memory, &causal, &padding, ctx).unwrap();
    }
    weights
}

#[test]
fn step_attention_equals_full_cross_attention() {
    let device = Device::Cpu;
    let lens = [2, 6, 4];
    let (_, src) = sources(&lens, 7, &device);
    let s = src.ids.dims()[1];
    let mut inputs = random_ids(3, 5, 4, TGT_VOCAB as u32, 8);
    for row in &mut inputs {
        row[0] = Vocab::BOS;
    }
    for norm_first in [false, true] {
        let m = transformer(norm_first, false, &device);
        let full = no_grad(|| full_cross_attention(&m, &src, &decoder_input(&inputs, &device)));
        let (h, t_len) = (3, 5);
        let mut state = no_grad(|| m.start(&src)).unwrap();
        for t in 0..t_len {
            let prev: Vec<f32> = inputs.iter().map(|r| r[t] as f32).collect();
            let step =
                no_grad(|| m.step(&state, &Tensor::from_vec(prev, [3], &device).unwrap())).unwrap();
            assert_eq!(step.attention.len(), 3, "one entry per decoder layer");
            for (l, (name, w)) in step.attention.iter().enumerate() {
                assert_eq!(name, &format!("decoder.layers.{l}.multihead_attn"));
                assert_eq!(w.dims(), &[3, h, s], "[B, h, S]");
                let want: Vec<f32> = (0..3 * h)
                    .flat_map(|bh| full[l][(bh * t_len + t) * s..][..s].to_vec())
                    .collect();
                assert_close(
                    &w.to_vec(),
                    &want,
                    1e-5,
                    &format!("norm_first {norm_first} layer {l} step {t}"),
                );
            }
            state = step.state;
        }
    }
}

#[test]
fn decoding_past_the_positional_table_is_a_clear_error() {
    let device = Device::Cpu;
    let m = transformer(true, false, &device);
    let (_, src) = sources(&[3], 9, &device);
    let mut state = no_grad(|| m.start(&src)).unwrap();
    let bos = Tensor::full(Vocab::BOS as f32, [1], &device).unwrap();
    for _ in 0..16 {
        state = no_grad(|| m.step(&state, &bos)).unwrap().state;
    }
    let err = no_grad(|| m.step(&state, &bos)).err().unwrap().to_string();
    assert!(
        err.contains("positional table") && err.contains("17"),
        "{err}"
    );
    // decode stops at the table's end instead: at most 16 tokens
    let config = ModelConfig::Transformer(m.config.clone());
    let model = Model::new(&config, &mut Rng::new(3), &device).unwrap();
    let opts = DecodeOptions {
        beam: 2,
        max_len: 100,
        max_len_ratio: 0.0,
        ..Default::default()
    };
    let hyps = decode(&model, &src, &opts).unwrap();
    assert!(hyps[0].tokens.len() <= 16);
}

/// The same check on the GPU (skipped without an adapter unless
/// `S2S_REQUIRE_GPU=1`), against the CPU's full recomputation.
#[test]
fn incremental_steps_on_gpu_equal_full_recomputation() {
    if !kernels_gpu::gpu_ready_for_tests() {
        return;
    }
    let (_, src) = sources(&[3, 7, 1, 5], 1, &Device::Cpu);
    let mut inputs = random_ids(4, 6, 0, TGT_VOCAB as u32, 2);
    for row in &mut inputs {
        row[0] = Vocab::BOS;
    }
    let cpu = transformer(true, false, &Device::Cpu);
    let full = full_logits(&cpu, &src, &inputs);
    let gpu = transformer(true, false, &Device::Gpu);
    let gsrc = Source {
        ids: src.ids.to(&Device::Gpu).unwrap(),
        lens: src.lens.clone(),
        pad_mask: src.pad_mask.to(&Device::Gpu).unwrap(),
    };
    let (b, t_len) = (4, 6);
    let mut state = no_grad(|| gpu.start(&gsrc)).unwrap();
    for t in 0..t_len {
        let prev: Vec<f32> = inputs.iter().map(|r| r[t] as f32).collect();
        let step =
            no_grad(|| gpu.step(&state, &Tensor::from_vec(prev, [b], &Device::Gpu).unwrap()))
                .unwrap();
        let want: Vec<f32> = (0..b)
            .flat_map(|r| full[(r * t_len + t) * TGT_VOCAB..][..TGT_VOCAB].to_vec())
            .collect();
        assert_close(&step.logits.to_vec(), &want, 1e-3, &format!("gpu step {t}"));
        state = step.state;
    }
}
