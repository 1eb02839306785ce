//! Training: the loop, checkpoints, logs and plots.
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod error;
pub mod state;
