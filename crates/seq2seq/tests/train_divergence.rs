//! A run that diverges stops at once, naming the step, the learning rate
//! and the last good checkpoint, and writes nothing from the diverged model.

mod train_support;

use seq2seq::models::{CellKind, ScoreKind};
use seq2seq::nn::Module;
use seq2seq::train::{TrainError, Trainer, Verbosity};
use tensor::{Device, Tensor};
use train_support::*;

/// A non-finite gradient stops training before the optimizer applies it:
/// the message names the step, the rate and that nothing was saved.
#[test]
fn a_non_finite_gradient_stops_naming_step_and_rate() {
    let dir = scratch("diverge-grad");
    let mut t = Trainer::new(
        settings(1, 3e-3),
        dates(200),
        attn(CellKind::Gru, ScoreKind::Bahdanau, false),
        &dir,
        Device::Cpu,
        Verbosity::Quiet,
    )
    .unwrap();
    let w = &t.model.parameters()[0];
    w.copy_from(&Tensor::full(f32::NAN, w.shape().clone(), &Device::Cpu).unwrap())
        .unwrap();
    let e = t.run().unwrap_err();
    assert!(matches!(e, TrainError::Diverged(_)), "{e}");
    let msg = e.to_string();
    for needle in ["step 1", "not finite", "--lr 0.003", "no checkpoint"] {
        assert!(msg.contains(needle), "{needle:?} not in {msg}");
    }
    assert!(!dir.join("best").exists() && !dir.join("last").exists());
}

/// On the GPU clipping runs on the device and reads nothing back, so a
/// non-finite gradient is caught where the run next reads its numbers (the
/// log, a validation, a save): the run stops there, names the rate, and
/// writes nothing from the diverged model.
#[test]
fn a_non_finite_gradient_on_the_gpu_stops_before_anything_is_saved() {
    if !kernels_gpu::gpu_ready_for_tests() {
        return;
    }
    let dir = scratch("diverge-grad-gpu");
    let mut t = Trainer::new(
        settings(1, 3e-3),
        dates(200),
        attn(CellKind::Gru, ScoreKind::Bahdanau, false),
        &dir,
        Device::Gpu,
        Verbosity::Quiet,
    )
    .unwrap();
    let w = &t.model.parameters()[0];
    w.copy_from(&Tensor::full(f32::NAN, w.shape().clone(), &Device::Gpu).unwrap())
        .unwrap();
    let e = t.run().unwrap_err();
    assert!(matches!(e, TrainError::Diverged(_)), "{e}");
    let msg = e.to_string();
    for needle in ["diverged at step", "--lr 0.003", "no checkpoint"] {
        assert!(msg.contains(needle), "{needle:?} not in {msg}");
    }
    assert!(!dir.join("best").exists() && !dir.join("last").exists());
}
