//! The training loop on the GPU makes the same steps as on the CPU: the
//! logged losses of a few steps agree (lavapipe in CI; skipped without an
//! adapter unless `S2S_REQUIRE_GPU=1`).

mod train_support;

use seq2seq::models::{CellKind, ModelConfig, ScoreKind};
use seq2seq::train::{TrainConfig, Trainer, Verbosity};
use tensor::Device;
use train_support::*;

fn losses(device: Device, model: impl FnOnce(usize, usize) -> ModelConfig, name: &str) -> Vec<f32> {
    let dir = scratch(&format!("gpu-{name}-{device}"));
    let train = TrainConfig {
        epochs: 1,
        max_steps: Some(4),
        log_every: 1,
        ..Default::default()
    };
    let mut t = Trainer::new(train, dates(256), model, &dir, device, Verbosity::Quiet).unwrap();
    t.run().unwrap();
    t.log_rows().iter().map(|r| r.loss).collect()
}

fn same_steps(model: impl Fn(usize, usize) -> ModelConfig, name: &str) {
    if !kernels_gpu::gpu_ready_for_tests() {
        return;
    }
    let (cpu, gpu) = (
        losses(Device::Cpu, &model, name),
        losses(Device::Gpu, &model, name),
    );
    assert_eq!(cpu.len(), 5, "4 training steps and a validation"); // 256 pairs = 4 batches
    for (step, (c, g)) in cpu.iter().zip(&gpu).enumerate() {
        assert!(
            (c - g).abs() <= 1e-3 * c.abs().max(1.0),
            "{name} step {}: cpu {c}, gpu {g}",
            step + 1
        );
    }
}

#[test]
fn attention_model_trains_the_same_on_gpu() {
    same_steps(attn(CellKind::Gru, ScoreKind::Bahdanau, false), "bahdanau");
}

#[test]
fn sutskever_model_trains_the_same_on_gpu() {
    same_steps(rnn(CellKind::Lstm, true), "lstm");
}

#[test]
fn transformer_trains_the_same_on_gpu() {
    same_steps(transformer, "transformer");
}
