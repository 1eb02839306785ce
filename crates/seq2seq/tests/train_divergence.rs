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
