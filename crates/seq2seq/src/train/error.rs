//! Errors of training and checkpoints. A checkpoint problem names the file
//! and what is wrong with it; everything else keeps its own message.

use crate::data::DataError;
use std::path::{Path, PathBuf};

/// What can stop a training run or a checkpoint load.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Data(#[from] DataError),

    #[error(transparent)]
    Tensor(#[from] tensor::Error),

    /// A checkpoint file is missing, unreadable, or does not fit.
    #[error("{}: {message}", path.display())]
    Checkpoint { path: PathBuf, message: String },

    /// A setting that cannot work, named by its command-line option.
    #[error("{0}")]
    Config(String),

    /// Training diverged (a NaN or infinite loss).
    #[error("{0}")]
    Diverged(String),
}

impl TrainError {
    pub(crate) fn checkpoint(path: &Path, message: impl Into<String>) -> Self {
        TrainError::Checkpoint {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// Shorthand used throughout `seq2seq::train`.
pub type Result<T> = std::result::Result<T, TrainError>;
