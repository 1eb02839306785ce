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

/// What `best/` holds and `--patience` follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BestMetric {
    /// The lowest validation loss (teacher forced, so cheap to measure).
    #[default]
    Loss,
    /// The highest validation BLEU of greedy decoding: what a translation
    /// is finally judged by, which the loss only approximates.
    Bleu,
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
    /// Stop when the `keep_best` metric has not improved for this many
    /// validations; 0 disables early stopping.
    pub patience: usize,
    /// Validate every this many optimizer steps (0: at the end of each
    /// epoch). With N > 0 the end of the last epoch is validated too, so a
    /// finished run always has a measured model.
    #[serde(default)]
    pub valid_every: u64,
    /// Also greedy-decode the validation pairs at each validation and
    /// score them with BLEU and chrF.
    #[serde(default)]
    pub valid_bleu: bool,
    /// Decode only this many validation pairs for BLEU (a sample drawn once
    /// from the seed, the same at every validation); `None`: all of them.
    #[serde(default)]
    pub valid_bleu_sample: Option<usize>,
    /// Which validation metric picks `best/` and drives `patience`.
    #[serde(default)]
    pub keep_best: BestMetric,
    /// Besides `last/`, keep the checkpoint of each of the latest N saves
    /// in `checkpoints/step-S/` (older ones are deleted); `None`: none.
    #[serde(default)]
    pub keep_last: Option<usize>,
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
            valid_every: 0,
            valid_bleu: false,
            valid_bleu_sample: None,
            keep_best: BestMetric::Loss,
            keep_last: None,
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

    /// Whether validations decode and score BLEU: asked for (a sample size
    /// asks too), or needed to pick the best checkpoint.
    pub fn measures_bleu(&self) -> bool {
        self.valid_bleu || self.valid_bleu_sample.is_some() || self.keep_best == BestMetric::Bleu
    }

    /// Checks every setting, naming the option, its value and the allowed
    /// range. The caps on sizes are far beyond any useful value: they stop
    /// a typo before the memory estimate (limits.rs) has to.
    pub fn validate(&self) -> Result<(), String> {
        let count = |opt: &str, v: u64, max: u64| match (1..=max).contains(&v) {
            true => Ok(()),
            false if max == u64::MAX => Err(format!("{opt} {v}: must be at least 1")),
            false => Err(format!("{opt} {v}: must be between 1 and {max}")),
        };
        let real = |opt: &str, v: f32, ok: bool, range: &str| {
            if v.is_finite() && ok {
                Ok(())
            } else {
                Err(format!("{opt} {v}: must be a finite number in {range}"))
            }
        };
        count("--epochs", self.epochs as u64, MAX_EPOCHS)?;
        if let Some(m) = self.max_steps {
            count("--max-steps", m, u64::MAX)?;
        }
        match self.batch_size {
            BatchSize::Sentences(n) => count("--batch-size", n as u64, MAX_BATCH_SENTENCES)?,
            BatchSize::Tokens(n) => count("--batch-tokens", n as u64, MAX_BATCH_TOKENS)?,
        }
        count("--accumulate", self.accumulate as u64, MAX_ACCUMULATE)?;
        real(
            "--lr",
            self.lr,
            self.lr > 0.0 && self.lr <= MAX_LR,
            "(0, 10]",
        )?;
        let wd = self.weight_decay;
        real("--weight-decay", wd, (0.0..=1.0).contains(&wd), "[0, 1]")?;
        match self.schedule {
            LrSchedule::StepDecay { step_size, gamma } => {
                count("--step-size", step_size, u64::MAX)?;
                let ok = gamma > 0.0 && gamma <= 1.0;
                real("--gamma", gamma, ok, "(0, 1] (a decay factor)")?;
            }
            LrSchedule::Noam { warmup, .. } | LrSchedule::InverseSqrt { warmup } => {
                count("--warmup", warmup, u64::MAX)?;
            }
            _ => {}
        }
        let clip = self.clip;
        real("--clip", clip, clip >= 0.0, "[0, ∞) (0: no clipping)")?;
        let ls = self.label_smoothing;
        real("--label-smoothing", ls, (0.0..1.0).contains(&ls), "[0, 1)")?;
        count("--log-every", self.log_every, u64::MAX)?;
        if let Some(n) = self.valid_bleu_sample {
            count("--valid-bleu-sample", n as u64, u64::MAX)?;
        }
        if let Some(n) = self.keep_last {
            count("--keep-last", n as u64, MAX_KEEP_LAST)
                .map_err(|e| format!("{e} (leave --keep-last out to keep only best/ and last/)"))?;
        }
        count(
            "--max-decode-len",
            self.max_decode_len as u64,
            MAX_DECODE_LEN,
        )?;
        Ok(())
    }
}

/// Caps of [`TrainConfig::validate`].
pub const MAX_EPOCHS: u64 = 1_000_000;
pub const MAX_BATCH_SENTENCES: u64 = 1 << 20;
pub const MAX_BATCH_TOKENS: u64 = 1 << 26;
pub const MAX_ACCUMULATE: u64 = 1 << 16;
pub const MAX_DECODE_LEN: u64 = 100_000;
/// Each kept checkpoint is a full copy of the model and Adam's moments.
pub const MAX_KEEP_LAST: u64 = 10_000;
/// Even Noam's scale factor (of order 1) stays far below this; larger
/// rates only diverge.
pub const MAX_LR: f32 = 10.0;
