//! Training: from a data description and a model configuration to a
//! trained checkpoint, with the care of a production trainer.
//!
//! | file | what |
//! |---|---|
//! | config.rs | [`TrainConfig`]: optimizer, schedule, clipping, smoothing, batching, stopping |
//! | data.rs | [`DataConfig`] → [`TaskData`]: pairs, split, examples |
//! | lexicon.rs | [`Lexicon`]: tokenizers and vocabularies, text ↔ ids |
//! | setup.rs | [`Trainer::new`] and [`Trainer::resume`]; the run directory |
//! | trainer.rs | [`Trainer::run`]: the loop |
//! | eval.rs | validation loss; exact-match accuracy, BLEU and chrF of greedy decoding |
//! | checkpoint.rs | the checkpoint directory, written so that a kill never loses one |
//! | state.rs | `state.json`: everything a resumed run needs to continue exactly |
//! | manifest.rs | `manifest.json`: size and checksum of every checkpoint file, verified at load |
//! | limits.rs | the memory a setting needs against the memory the machine has |
//! | log.rs, svg.rs, progress.rs | log.csv / log.jsonl, loss.svg, the progress bar |
//!
//! ```no_run
//! use seq2seq::data::DateTaskConfig;
//! use seq2seq::models::{AttnConfig, CellKind, ModelConfig, ScoreKind};
//! use seq2seq::train::{DataConfig, TrainConfig, Trainer, Verbosity};
//! let mut trainer = Trainer::new(
//!     TrainConfig::default(),
//!     DataConfig::dates(DateTaskConfig::default()),
//!     |src_vocab, tgt_vocab| ModelConfig::Attn(AttnConfig {
//!         cell: CellKind::Gru, score: ScoreKind::Bahdanau, src_vocab, tgt_vocab,
//!         embed_size: 32, hidden_size: 64, num_layers: 1, bidirectional: true,
//!         attn_size: 64, dropout: 0.0, input_feeding: false, teacher_forcing: 1.0,
//!     }),
//!     std::path::Path::new("runs/example"),
//!     tensor::Device::Cpu,
//!     Verbosity::Normal,
//! ).unwrap();
//! let outcome = trainer.run().unwrap();
//! println!("best validation loss {:?}", outcome.best_valid_loss);
//! ```

pub mod checkpoint;
mod config;
mod data;
mod error;
pub mod eval;
mod lexicon;
pub mod limits;
mod log;
mod manifest;
mod progress;
mod setup;
mod state;
pub mod svg;
mod trainer;

pub use config::{BestMetric, OptimizerKind, TrainConfig};
pub use data::{DataConfig, DataSource, Lexicon, TaskData, TokenizerKind};
pub use error::{Result, TrainError};
pub use log::{LogRow, Logger};
pub use progress::{Progress, Verbosity};
pub use setup::RunPaths;
pub use state::{Fingerprint, TrainState};
pub use trainer::{Outcome, Trainer};
