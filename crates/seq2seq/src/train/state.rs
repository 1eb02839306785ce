//! `state.json`: where a run stands, so `--resume` continues exactly.
//!
//! Together with the model and optimizer tensors this is everything that
//! decides the next step: the step and epoch counters, how many batches of
//! the current epoch are done (the epoch's batch order is a pure function
//! of the seed and the epoch, data/batch.rs), the random stream that
//! dropout and teacher forcing draw from, the early-stopping bookkeeping,
//! and the settings the run started with.

use super::config::TrainConfig;
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
    /// Best validation loss so far and the step it was measured at.
    pub best_valid_loss: Option<f32>,
    pub best_step: u64,
    /// Epochs since the validation loss last improved.
    pub bad_epochs: usize,
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
            best_step: 0,
            bad_epochs: 0,
            tokens: 0,
            elapsed: 0.0,
            finished: false,
            train,
            data,
            corpus: Vec::new(),
        }
    }
}
