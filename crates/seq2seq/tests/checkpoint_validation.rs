//! The size estimates a checkpoint is weighed by before its model is built
//! (models/config.rs): close to the real parameter count of every kind of
//! model, and the refusal of sizes no model can have.

mod train_support;

use seq2seq::models::{CellKind, Model, ModelConfig, ScoreKind};
use seq2seq::nn::Module;
use tensor::{Device, Rng, Tensor};
use train_support::*;

fn actual(config: &ModelConfig) -> u128 {
    let model = Model::new(config, &mut Rng::new(0), &Device::Cpu).unwrap();
    model.parameters().iter().map(Tensor::numel).sum::<usize>() as u128
}

#[test]
fn parameter_estimates_are_within_a_quarter_of_the_real_count() {
    let mut configs = vec![transformer(90, 70), rnn(CellKind::Lstm, false)(90, 70)];
    // A small Transformer with a long positional table (not a weight), and
    // the shared and tied variants.
    for (share, tie) in [(false, false), (true, false), (false, true), (true, true)] {
        let mut c = transformer(60, 60);
        if let ModelConfig::Transformer(t) = &mut c {
            (t.d_model, t.nhead, t.dim_feedforward) = (16, 2, 32);
            (t.num_encoder_layers, t.num_decoder_layers) = (1, 1);
            (t.max_len, t.share_embeddings, t.tie_output) = (512, share, tie);
        }
        configs.push(c);
    }
    for score in [
        ScoreKind::Bahdanau,
        ScoreKind::Dot,
        ScoreKind::General,
        ScoreKind::Concat,
    ] {
        for (cell, feed) in [(CellKind::Gru, false), (CellKind::Lstm, true)] {
            configs.push(attn(cell, score, feed)(90, 70));
        }
    }
    // The tiny sizes of the CLI tests, where biases weigh most.
    for score in [ScoreKind::Bahdanau, ScoreKind::Dot, ScoreKind::Concat] {
        for (cell, bidirectional) in [(CellKind::Gru, true), (CellKind::Lstm, false)] {
            let mut c = attn(cell, score, score.is_luong())(20, 15);
            if let ModelConfig::Attn(a) = &mut c {
                (a.embed_size, a.hidden_size, a.attn_size) = (8, 8, 8);
                a.bidirectional = bidirectional;
            }
            configs.push(c);
        }
    }
    for cell in [CellKind::Gru, CellKind::Lstm] {
        let mut c = rnn(cell, false)(20, 15);
        if let ModelConfig::Rnn(r) = &mut c {
            (r.embed_size, r.hidden_size, r.num_layers) = (8, 16, 2);
        }
        configs.push(c);
    }
    for config in &configs {
        config.check().unwrap();
        let (est, real) = (config.parameter_estimate(), actual(config));
        let ratio = est as f64 / real as f64;
        assert!(
            (0.75..=1.25).contains(&ratio),
            "{}: estimate {est}, real {real}",
            config.name()
        );
    }
}

#[test]
fn absurd_sizes_are_refused_naming_the_field() {
    let mut c = transformer(90, 70);
    if let ModelConfig::Transformer(t) = &mut c {
        t.d_model = 1 << 30;
    }
    let e = c.check().unwrap_err();
    assert!(e.contains("d_model") && e.contains("1073741824"), "{e}");
    let mut c = attn(CellKind::Gru, ScoreKind::Dot, false)(90, 70);
    if let ModelConfig::Attn(a) = &mut c {
        a.teacher_forcing = f32::NAN;
    }
    assert!(c.check().unwrap_err().contains("teacher_forcing"));
    let mut c = transformer(90, 70);
    if let ModelConfig::Transformer(t) = &mut c {
        t.nhead = 3;
    }
    assert!(c
        .check()
        .unwrap_err()
        .contains("nhead 3 does not divide d_model 64"));
}

/// A model too large for any machine is refused by `Trainer::new` with
/// the figures, before it is built and before the run directory exists.
#[test]
fn a_model_too_large_for_memory_is_refused_before_it_is_built() {
    let dir = scratch("too-large").join("run");
    let huge = |s, t| {
        let mut c = attn(CellKind::Gru, ScoreKind::Bahdanau, false)(s, t);
        if let ModelConfig::Attn(a) = &mut c {
            a.hidden_size = 100_000;
        }
        c
    };
    let e = seq2seq::train::Trainer::new(
        settings(1, 3e-3),
        dates(100),
        huge,
        &dir,
        Device::Cpu,
        seq2seq::train::Verbosity::Quiet,
    )
    .err()
    .expect("refused");
    let msg = e.to_string();
    assert!(
        msg.contains("needs about") && msg.contains("TiB") && msg.contains("--batch-size"),
        "{msg}"
    );
    assert!(!dir.exists());
}
