//! `state.json`: where a run stands, so `--resume` continues exactly.
//!
//! Together with the model and optimizer tensors this is everything that
//! decides the next step: the step and epoch counters, how many batches of
//! the current epoch are done (the epoch's batch order is a pure function
//! of the seed and the epoch, data/batch.rs), the random stream that
//! dropout and teacher forcing draw from, the early-stopping bookkeeping,
//! and the settings the run started with.

use super::config::{BestMetric, TrainConfig};
use super::data::{DataConfig, DataSource};
use super::error::{Result, TrainError};
use super::manifest::fnv1a64;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tensor::Rng;

/// The identifier written into every `state.json`.
pub const STATE_FORMAT: &str = "s2s-train-state";

/// Where a run stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    pub format: String,
    pub version: u32,
    /// Optimizer steps done.
    pub step: u64,
    /// The current epoch, 0-based.
    pub epoch: u64,
    /// Batches of the current epoch already trained on.
    pub batch_in_epoch: usize,
    /// The stream of dropout masks and teacher-forcing coins.
    pub rng: Rng,
    /// Lowest validation loss so far.
    pub best_valid_loss: Option<f32>,
    /// Highest validation BLEU so far (runs that measure it).
    #[serde(default)]
    pub best_bleu: Option<f32>,
    /// The step of the model in `best/` (best by `train.keep_best`).
    pub best_step: u64,
    /// Validations since the `train.keep_best` metric last improved (with
    /// the default cadence, epochs: hence the older name).
    #[serde(alias = "bad_epochs")]
    pub bad_validations: usize,
    /// Real target tokens trained on.
    pub tokens: u64,
    /// Training time before this invocation of `s2s train` (seconds): a resumed run keeps counting.
    pub elapsed: f64,
    /// The run is over (all epochs, max steps, or early stopping).
    pub finished: bool,
    pub train: TrainConfig,
    pub data: DataConfig,
    /// Size and checksum of each corpus file when the run started, checked
    /// on resume: a run goes on only with the data it began with. A state
    /// without the field (none recorded) resumes unchecked.
    #[serde(default)]
    pub corpus: Vec<Fingerprint>,
}

/// A corpus file as the run first read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub path: PathBuf,
    pub bytes: u64,
    /// FNV-1a 64 of the contents, 16 hex digits (manifest.rs).
    pub fnv1a64: String,
}

impl Fingerprint {
    /// The fingerprint of `path` now.
    pub fn of(path: &Path) -> Result<Fingerprint> {
        let err = |e: std::io::Error| TrainError::checkpoint(path, format!("cannot read: {e}"));
        let file = std::fs::File::open(path).map_err(err)?;
        let bytes = file.metadata().map_err(err)?.len();
        let hash = fnv1a64(std::io::BufReader::new(file)).map_err(err)?;
        Ok(Fingerprint {
            path: path.to_path_buf(),
            bytes,
            fnv1a64: format!("{hash:016x}"),
        })
    }

    /// Every corpus file of `source`.
    pub fn all(source: &DataSource) -> Result<Vec<Fingerprint>> {
        source
            .files()
            .into_iter()
            .map(|p| Fingerprint::of(p))
            .collect()
    }

    /// `Err` naming the file when it is gone or no longer what the run read.
    pub fn verify(&self) -> Result<()> {
        let why = match Fingerprint::of(&self.path) {
            Err(e) => format!("{e}"),
            Ok(now) if now.bytes != self.bytes => {
                format!(
                    "{} bytes now, {} when the run started",
                    now.bytes, self.bytes
                )
            }
            Ok(now) if now.fnv1a64 != self.fnv1a64 => {
                "same size, but its contents changed since the run started".to_string()
            }
            Ok(_) => return Ok(()),
        };
        Err(TrainError::Config(format!(
            "--resume: the corpus file {} is not the one this run was trained on ({why}); \
             resuming would continue on other data. Restore the file, or start a new run \
             with --out DIR",
            self.path.display()
        )))
    }
}

impl TrainState {
    /// The state at the start of a run.
    pub fn new(train: TrainConfig, data: DataConfig) -> TrainState {
        TrainState {
            format: STATE_FORMAT.into(),
            version: 1,
            step: 0,
            epoch: 0,
            batch_in_epoch: 0,
            rng: Rng::new(train.seed ^ 0xD50F_0000_0000_0000),
            best_valid_loss: None,
            best_bleu: None,
            best_step: 0,
            bad_validations: 0,
            tokens: 0,
            elapsed: 0.0,
            finished: false,
            train,
            data,
            corpus: Vec::new(),
        }
    }

    /// Records one validation at the current step: its loss and, when
    /// measured, its BLEU. Returns whether it is the best so far by the
    /// run's `keep_best` metric (then `best/` is to be saved from it); a
    /// tie is no improvement, so `best/` keeps the earlier model.
    pub fn record_validation(&mut self, loss: f32, bleu: Option<f32>) -> bool {
        let lower_loss = self.best_valid_loss.is_none_or(|b| loss < b);
        let higher_bleu = bleu.is_some_and(|u| self.best_bleu.is_none_or(|b| u > b));
        if lower_loss {
            self.best_valid_loss = Some(loss);
        }
        if higher_bleu {
            self.best_bleu = bleu;
        }
        let improved = match self.train.keep_best {
            BestMetric::Loss => lower_loss,
            BestMetric::Bleu => higher_bleu,
        };
        if improved {
            self.best_step = self.step;
            self.bad_validations = 0;
        } else {
            self.bad_validations += 1;
        }
        improved
    }

    /// Whether early stopping ends the run: `patience` validations in a
    /// row without improvement.
    pub fn out_of_patience(&self) -> bool {
        self.train.patience > 0 && self.bad_validations >= self.train.patience
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DateTaskConfig;

    fn state(keep_best: BestMetric, patience: usize) -> TrainState {
        let train = TrainConfig {
            keep_best,
            patience,
            ..TrainConfig::default()
        };
        TrainState::new(train, DataConfig::dates(DateTaskConfig::default()))
    }

    #[test]
    fn keep_best_loss_follows_the_lowest_loss() {
        let mut s = state(BestMetric::Loss, 2);
        for (step, loss, bleu, better) in [
            (10, 2.0, 5.0, true),
            (20, 1.5, 4.0, true),
            (30, 1.6, 9.0, false),
            (40, 1.5, 9.0, false),
        ] {
            s.step = step;
            assert_eq!(s.record_validation(loss, Some(bleu)), better, "step {step}");
        }
        assert_eq!(
            (s.best_step, s.best_valid_loss, s.best_bleu),
            (20, Some(1.5), Some(9.0))
        );
        assert_eq!(s.bad_validations, 2);
        assert!(s.out_of_patience());
    }

    #[test]
    fn keep_best_bleu_follows_the_highest_bleu_and_resets_patience() {
        let mut s = state(BestMetric::Bleu, 2);
        for (step, loss, bleu, better) in [
            (10, 2.0, 5.0, true),
            (20, 1.0, 5.0, false),
            (30, 1.1, 7.5, true),
            (40, 0.9, 7.0, false),
        ] {
            s.step = step;
            assert_eq!(s.record_validation(loss, Some(bleu)), better, "step {step}");
        }
        assert_eq!(
            (s.best_step, s.best_bleu, s.best_valid_loss),
            (30, Some(7.5), Some(0.9))
        );
        assert_eq!(s.bad_validations, 1);
        assert!(!s.out_of_patience());
        s.step = 50;
        s.record_validation(0.8, Some(7.5));
        assert!(s.out_of_patience(), "a tie is no improvement");
    }

    #[test]
    fn no_patience_never_stops_and_old_states_still_read() {
        let mut s = state(BestMetric::Loss, 0);
        for step in 1..=5 {
            s.step = step;
            s.record_validation(3.0, None);
        }
        assert_eq!(s.bad_validations, 4);
        assert!(!s.out_of_patience());
        // A state.json written before BLEU validation: `bad_epochs`, no `best_bleu`.
        let mut json = serde_json::to_value(&s).unwrap();
        let obj = json.as_object_mut().unwrap();
        obj.remove("best_bleu");
        let n = obj.remove("bad_validations").unwrap();
        obj.insert("bad_epochs".into(), n);
        let back: TrainState = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
    }
}
