//! Training on the real corpora (run when `S2S_DATA_DIR` points at
//! `../shared/data`): Tatoeba through the tutorial filter and Multi30k with
//! BPE load, train a few steps, and the loss falls.

mod train_support;

use seq2seq::data::{BatchSize, Normalization};
use seq2seq::models::{CellKind, ScoreKind};
use seq2seq::train::{DataConfig, DataSource, TokenizerKind, TrainConfig, Trainer, Verbosity};
use std::path::PathBuf;
use tensor::Device;
use train_support::*;

fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("S2S_DATA_DIR").map(PathBuf::from);
    if dir.is_none() {
        eprintln!("S2S_DATA_DIR is not set: skipping");
    }
    dir
}

fn corpus(source: DataSource) -> DataConfig {
    let mut cfg = dates(10);
    cfg.source = source;
    cfg.tokenizer = TokenizerKind::Word;
    cfg
}

/// Trains 30 steps; returns the first and last logged losses and the summary.
fn first_and_last(data: DataConfig, name: &str) -> (f32, f32, String) {
    let train = TrainConfig {
        max_steps: Some(30),
        log_every: 5,
        batch_size: BatchSize::Tokens(1500),
        ..Default::default()
    };
    let dir = scratch(name);
    let model = attn(CellKind::Gru, ScoreKind::Bahdanau, false);
    let mut t = Trainer::new(train, data, model, &dir, Device::Cpu, Verbosity::Quiet).unwrap();
    t.run().unwrap();
    let rows = t.log_rows();
    (
        rows[0].loss,
        rows.last().unwrap().loss,
        t.data.summary.clone(),
    )
}

#[test]
fn tatoeba_tutorial_subset_trains() {
    let Some(root) = data_dir() else { return };
    let mut cfg = corpus(DataSource::Tsv {
        path: root.join("tatoeba/eng-fra.txt"),
        reverse: true,
        tutorial_filter: true,
        valid_fraction: 0.1,
        test_fraction: 0.1,
    });
    cfg.normalization = Normalization::Tutorial;
    let (first, last, summary) = first_and_last(cfg, "tatoeba");
    assert!(summary.contains("tutorial filter kept 11445"), "{summary}");
    assert!(last < first - 1.0, "loss {first} → {last}");
}

#[test]
fn multi30k_with_bpe_trains() {
    let Some(root) = data_dir() else { return };
    let raw = root.join("multi30k/raw");
    let mut cfg = corpus(DataSource::Parallel {
        train_src: raw.join("train.de"),
        train_tgt: raw.join("train.en"),
        valid_src: raw.join("val.de"),
        valid_tgt: raw.join("val.en"),
        test: Some((
            raw.join("test_2016_flickr.de"),
            raw.join("test_2016_flickr.en"),
        )),
    });
    cfg.lowercase = true;
    cfg.bpe_merges = 2000;
    let (first, last, summary) = first_and_last(cfg, "multi30k");
    assert!(
        summary.contains("29000 train / 1014 valid / 1000 test"),
        "{summary}"
    );
    assert!(last < first - 1.0, "loss {first} → {last}");
}
