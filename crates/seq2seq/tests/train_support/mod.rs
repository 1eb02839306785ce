//! Helpers of the training tests: small tasks, small models, a quiet trainer.
#![allow(dead_code)]

use seq2seq::data::DateTaskConfig;
use seq2seq::models::{
    AttnConfig, CellKind, ModelConfig, RnnSeq2SeqConfig, ScoreKind, TransformerSeq2SeqConfig,
};
use seq2seq::train::{
    eval, DataConfig, DataSource, TokenizerKind, TrainConfig, Trainer, Verbosity,
};
use std::path::{Path, PathBuf};
use tensor::Device;

/// A fresh directory under the target dir for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("s2s-train-tests-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The dates task with `train` examples and 200 held out each side.
pub fn dates(train: usize) -> DataConfig {
    DataConfig::dates(DateTaskConfig {
        seed: 3,
        train,
        valid: 200,
        test: 200,
        ..Default::default()
    })
}

/// A reversal task: random digit strings of length 3–7 → the same digits
/// backwards, written as a tab-separated file in `dir`.
pub fn reversal(dir: &Path, n: usize) -> DataConfig {
    let mut rng = tensor::Rng::new(11);
    let mut text = String::new();
    for _ in 0..n {
        let len = 3 + rng.below(5);
        let s: Vec<char> = (0..len)
            .map(|_| char::from(b'0' + rng.below(10) as u8))
            .collect();
        let r: String = s.iter().rev().collect();
        text += &format!("{}\t{r}\n", s.iter().collect::<String>());
    }
    let path = dir.join("reverse.tsv");
    std::fs::write(&path, text).unwrap();
    let mut cfg = DataConfig::dates(DateTaskConfig::default());
    cfg.source = DataSource::Tsv {
        path,
        reverse: false,
        tutorial_filter: false,
        valid_fraction: 0.05,
        test_fraction: 0.05,
    };
    cfg.tokenizer = TokenizerKind::Char;
    cfg
}

pub fn attn(
    cell: CellKind,
    score: ScoreKind,
    input_feeding: bool,
) -> impl Fn(usize, usize) -> ModelConfig {
    move |src_vocab, tgt_vocab| {
        ModelConfig::Attn(AttnConfig {
            cell,
            score,
            src_vocab,
            tgt_vocab,
            embed_size: 24,
            hidden_size: 48,
            num_layers: 1,
            bidirectional: true,
            attn_size: 48,
            dropout: 0.0,
            input_feeding,
            teacher_forcing: 1.0,
        })
    }
}

pub fn rnn(cell: CellKind, reverse_source: bool) -> impl Fn(usize, usize) -> ModelConfig {
    move |src_vocab, tgt_vocab| {
        ModelConfig::Rnn(RnnSeq2SeqConfig {
            cell,
            src_vocab,
            tgt_vocab,
            embed_size: 24,
            hidden_size: 128,
            num_layers: 1,
            dropout: 0.0,
            reverse_source,
            teacher_forcing: 1.0,
        })
    }
}

pub fn transformer(src_vocab: usize, tgt_vocab: usize) -> ModelConfig {
    ModelConfig::Transformer(TransformerSeq2SeqConfig {
        src_vocab,
        tgt_vocab,
        d_model: 64,
        nhead: 4,
        num_encoder_layers: 2,
        num_decoder_layers: 2,
        dim_feedforward: 128,
        dropout: 0.0,
        norm_first: true,
        share_embeddings: false,
        tie_output: false,
        max_len: 64,
    })
}

pub fn settings(epochs: usize, lr: f32) -> TrainConfig {
    TrainConfig {
        epochs,
        lr,
        log_every: 10,
        max_decode_len: 24,
        ..Default::default()
    }
}

/// Trains quietly in `dir`, then returns the held-out exact-match accuracy
/// of the final model.
pub fn train_and_measure(
    data: DataConfig,
    train: TrainConfig,
    model: impl FnOnce(usize, usize) -> ModelConfig,
    dir: &Path,
) -> f32 {
    let start = std::time::Instant::now();
    let mut t = Trainer::new(train, data, model, dir, Device::Cpu, Verbosity::Quiet).unwrap();
    let outcome = t.run().unwrap();
    let (acc, decoded) =
        eval::exact_match(&t.model, &t.data.lexicon, &t.data.test, 24, &Device::Cpu).unwrap();
    let bad: Vec<_> = decoded.iter().filter(|d| !d.correct).take(3).collect();
    eprintln!(
        "{:.1}s, {} steps, best valid {:?}, accuracy {acc}; e.g. wrong: {bad:?}",
        start.elapsed().as_secs_f64(),
        outcome.steps,
        outcome.best_valid_loss
    );
    acc
}
