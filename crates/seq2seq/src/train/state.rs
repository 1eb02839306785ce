//! `state.json`: where a run stands, so `--resume` continues exactly.
//!
//! Together with the model and optimizer tensors this is everything that
//! decides the next step: the step and epoch counters, how many batches of
//! the current epoch are done (the epoch's batch order is a pure function
//! of the seed and the epoch, data/batch.rs), the random stream that
//! dropout and teacher forcing draw from, the early-stopping bookkeeping,
//! and the settings the run started with.

use super::config::TrainConfig;
use super::data::DataConfig;
use serde::{Deserialize, Serialize};
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
    /// Training time before this session (seconds).
    pub elapsed: f64,
    /// The run is over (all epochs, max steps, or early stopping).
    pub finished: bool,
    pub train: TrainConfig,
    pub data: DataConfig,
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
        }
    }
}
