//! The training settings: everything the loop needs besides the model and
//! the data. Saved in every checkpoint's `state.json`, so `--resume`
//! continues with exactly the settings the run started with.

use crate::data::BatchSize;
use serde::{Deserialize, Serialize};
use tensor::optim::{AdamConfig, LrSchedule};

/// Adam or AdamW.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Kingma & Ba 2015; `weight_decay` is an L2 term added to the gradient.
    Adam,
    /// Loshchilov & Hutter 2019; `weight_decay` shrinks the weights directly.
    AdamW,
}

/// How to train.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Seeds weight initialisation, dropout, teacher forcing coins and data
    /// order (each from its own stream).
    pub seed: u64,
    pub epochs: usize,
    /// Stop after this many optimizer steps (and save), even mid-epoch.
    pub max_steps: Option<u64>,
    pub batch_size: BatchSize,
    /// Micro-batches whose gradients are summed before one optimizer step.
    pub accumulate: usize,
    pub optimizer: OptimizerKind,
    /// Base learning rate η₀ (the schedule scales it).
    pub lr: f32,
    pub weight_decay: f32,
    pub schedule: LrSchedule,
    /// Global gradient-norm clipping threshold; 0 disables.
    pub clip: f32,
    /// Label smoothing ε of the cross-entropy.
    pub label_smoothing: f32,
    /// Stop when the validation loss has not improved for this many epochs;
    /// 0 disables early stopping.
    pub patience: usize,
    /// Read the loss back (and log it) every this many optimizer steps.
    pub log_every: u64,
    /// Also save the last checkpoint every this many steps (0: at the end
    /// of each epoch only).
    pub save_every: u64,
    /// Longest output greedy decoding may write when measuring accuracy.
    pub max_decode_len: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            seed: 1,
            epochs: 10,
            max_steps: None,
            batch_size: BatchSize::Sentences(64),
            accumulate: 1,
            optimizer: OptimizerKind::Adam,
            lr: 1e-3,
            weight_decay: 0.0,
            schedule: LrSchedule::Constant,
            clip: 1.0,
            label_smoothing: 0.0,
            patience: 0,
            log_every: 20,
            save_every: 0,
            max_decode_len: 64,
        }
    }
}

impl TrainConfig {
    /// The optimizer's hyper-parameters.
    pub fn adam(&self) -> AdamConfig {
        AdamConfig {
            lr: self.lr,
            weight_decay: self.weight_decay,
            decoupled: self.optimizer == OptimizerKind::AdamW,
            ..Default::default()
        }
    }

    /// Checks the values a user can get wrong, naming the option.
    pub fn validate(&self) -> Result<(), String> {
        let bad = |opt: &str, why: String| Err(format!("{opt}: {why}"));
        if self.epochs == 0 && self.max_steps.is_none() {
            return bad("--epochs", "must be at least 1".into());
        }
        if self.accumulate == 0 {
            return bad("--accumulate", "must be at least 1".into());
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return bad("--lr", format!("{} is not a positive number", self.lr));
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return bad(
                "--label-smoothing",
                format!("{} is outside [0, 1)", self.label_smoothing),
            );
        }
        if self.clip < 0.0 {
            return bad("--clip", format!("{} is negative", self.clip));
        }
        if self.log_every == 0 {
            return bad("--log-every", "must be at least 1".into());
        }
        Ok(())
    }
}
