//! Int8 inference (models/quantize.rs): a quantized model's teacher-forced
//! logits stay close to the f32 model's, greedy and beam decoding run
//! through the int8 products, and training a quantized model is refused.

use seq2seq::decode::DecodeOptions;
use seq2seq::models::{
    AttnConfig, CellKind, Model, ModelConfig, RnnSeq2SeqConfig, ScoreKind, Source, Target,
    TransformerSeq2SeqConfig,
};
use seq2seq::Ctx;
use tensor::{no_grad, Device, Rng, Tensor};

const SRC_VOCAB: usize = 19;
const TGT_VOCAB: usize = 23;

fn configs() -> Vec<ModelConfig> {
    vec![
        ModelConfig::Transformer(TransformerSeq2SeqConfig {
            src_vocab: SRC_VOCAB,
            tgt_vocab: TGT_VOCAB,
            d_model: 32,
            nhead: 4,
            num_encoder_layers: 2,
            num_decoder_layers: 2,
            dim_feedforward: 48,
            dropout: 0.1,
            norm_first: false,
            share_embeddings: false,
            tie_output: false,
            max_len: 32,
        }),
        ModelConfig::Rnn(RnnSeq2SeqConfig {
            cell: CellKind::Gru,
            src_vocab: SRC_VOCAB,
            tgt_vocab: TGT_VOCAB,
            embed_size: 12,
            hidden_size: 20,
            num_layers: 1,
            dropout: 0.0,
            reverse_source: false,
            teacher_forcing: 1.0,
        }),
        ModelConfig::Attn(AttnConfig {
            cell: CellKind::Lstm,
            score: ScoreKind::Bahdanau,
            src_vocab: SRC_VOCAB,
            tgt_vocab: TGT_VOCAB,
            embed_size: 12,
            hidden_size: 20,
            num_layers: 1,
            bidirectional: true,
            attn_size: 16,
            dropout: 0.0,
            input_feeding: true,
            teacher_forcing: 1.0,
        }),
    ]
}

fn ids(rows: usize, cols: usize, hi: u32, seed: u64) -> Vec<Vec<u32>> {
    let mut rng = Rng::new(seed);
    (0..rows)
        .map(|_| {
            (0..cols)
                .map(|_| 4 + (rng.uniform() * (hi - 4) as f64) as u32 % (hi - 4))
                .collect()
        })
        .collect()
}

fn batch() -> (Source, Target) {
    let cpu = Device::Cpu;
    let src = Source::from_ids(&ids(3, 7, SRC_VOCAB as u32, 1), &cpu).unwrap();
    let tgt = ids(3, 6, TGT_VOCAB as u32, 2);
    let flat =
        |rows: &[Vec<u32>]| -> Vec<f32> { rows.iter().flatten().map(|&v| v as f32).collect() };
    let input = Tensor::from_vec(flat(&tgt), [3, 6], &cpu).unwrap();
    let target = Target {
        output: input.zeros_like().unwrap(),
        input,
    };
    (src, target)
}

#[test]
fn int8_logits_stay_close_to_f32_and_decoding_runs() {
    let (src, target) = batch();
    for config in configs() {
        let f32_model = Model::new(&config, &mut Rng::new(5), &Device::Cpu).unwrap();
        let mut int8 = f32_model.clone();
        let quantized = int8.quantize_int8().unwrap();
        assert!(quantized > 0, "{}: nothing quantized", config.name());
        let logits = |m: &Model| {
            no_grad(|| m.forward(&src, &target, &mut Ctx::eval()))
                .unwrap()
                .to_vec()
        };
        let (want, got) = (logits(&f32_model), logits(&int8));
        let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let worst = want
            .iter()
            .zip(&got)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(worst > 0.0, "{}: int8 changed nothing", config.name());
        assert!(
            worst <= 0.05 * scale,
            "{}: int8 logits differ by {worst} (largest logit {scale})",
            config.name()
        );
        for beam in [1, 5] {
            let opts = DecodeOptions {
                beam,
                max_len: 10,
                ..Default::default()
            };
            let hyps = int8.decode(&src, &opts).unwrap();
            assert_eq!(hyps.len(), 3, "{} beam {beam}", config.name());
        }
    }
}

#[test]
fn training_a_quantized_model_is_refused() {
    let (src, target) = batch();
    for config in configs() {
        let mut model = Model::new(&config, &mut Rng::new(5), &Device::Cpu).unwrap();
        model.quantize_int8().unwrap();
        let err = model
            .loss(&src, &target, 0.0, &mut Ctx::train(Rng::new(1)))
            .err()
            .unwrap_or_else(|| panic!("{}: a quantized model trained", config.name()))
            .to_string();
        assert!(err.contains("inference only"), "{}: {err}", config.name());
    }
}
