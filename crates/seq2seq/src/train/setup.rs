//! Starting a run, fresh or resumed.
//!
//! A run directory holds:
//!
//! ```text
//!   best/        the checkpoint with the best validation loss or BLEU (translate with it)
//!   last/        the latest checkpoint (resume from it)
//!   checkpoints/step-S/   with --keep-last N: the latest N saves
//!   log.csv  log.jsonl  loss.svg
//! ```

use super::checkpoint;
use super::config::TrainConfig;
use super::data::{DataConfig, TaskData};
use super::error::{Result, TrainError};
use super::limits;
use super::log::Logger;
use super::progress::Verbosity;
use super::state::{Fingerprint, TrainState};
use super::trainer::Trainer;
use crate::data::{BatchSize, Batcher, Pair};
use crate::models::{Model, ModelConfig};
use crate::nn::Module;
use std::path::{Path, PathBuf};
use tensor::optim::{Adam, Optimizer};
use tensor::{Device, Rng};

/// The files of a run directory.
#[derive(Clone, Debug)]
pub struct RunPaths {
    pub root: PathBuf,
    pub best: PathBuf,
    pub last: PathBuf,
    /// Where `--keep-last` keeps its checkpoints.
    pub kept: PathBuf,
    pub svg: PathBuf,
}

impl RunPaths {
    pub fn new(root: &Path) -> Result<RunPaths> {
        std::fs::create_dir_all(root).map_err(|e| {
            TrainError::checkpoint(root, format!("cannot create the run directory: {e}"))
        })?;
        Ok(RunPaths {
            root: root.to_path_buf(),
            best: root.join("best"),
            last: root.join("last"),
            kept: root.join(checkpoint::KEPT_DIR),
            svg: root.join("loss.svg"),
        })
    }
}

/// Refuses a model and batch that would not fit in memory (limits.rs):
/// weights, gradients and Adam's two moments (four scalars per parameter),
/// plus one step's activations over the largest batch this data can form.
fn check_training_memory(config: &ModelConfig, task: &TaskData, train: &TrainConfig) -> Result<()> {
    let examples = task.train.iter().chain(&task.valid);
    let (src_len, tgt_len) = examples.fold((1, 1), |(s, t), e| {
        (s.max(e.src.len() + 1), t.max(e.tgt.len() + 1))
    });
    let count = task.train.len().max(task.valid.len());
    let (rows, option) = match train.batch_size {
        BatchSize::Sentences(n) => (n.min(count), format!("--batch-size {n}")),
        BatchSize::Tokens(n) => (
            (n / src_len.max(tgt_len)).clamp(1, count),
            format!("--batch-tokens {n}"),
        ),
    };
    let params = config.parameter_estimate();
    let activations = config.activation_estimate(rows, src_len, tgt_len) + config.buffer_estimate();
    let need = 4 * (4 * params + activations);
    limits::check_fits(need, || {
        format!(
            "training this model ({} million parameters: {} for weights, gradients and Adam \
             moments) with {option} (batches of up to {rows} pairs of {src_len} × {tgt_len} \
             tokens: {} of activations)",
            params / 1_000_000,
            limits::human_bytes(16 * params),
            limits::human_bytes(4 * activations)
        )
    })
    .map_err(|e| {
        TrainError::Config(format!(
            "{e}; lower the batch size or the model's sizes (--hidden-size, --embed-size, \
             --d-model, --ff-size, --layers, --max-vocab)"
        ))
    })
}

/// The validation pairs BLEU is measured on: all of them, or a sample of
/// `valid_bleu_sample` drawn from the seed (a stream of its own, so that
/// nothing else the seed decides moves), in the order of the validation
/// set. A pure function of the settings, so a resumed run scores the same
/// pairs.
fn bleu_pairs(data: &TaskData, train: &TrainConfig) -> Vec<Pair> {
    let pairs = &data.valid_pairs;
    match train.valid_bleu_sample {
        Some(n) if n < pairs.len() => {
            let mut order: Vec<usize> = (0..pairs.len()).collect();
            Rng::new(train.seed ^ 0xB1E0_0000_0000_0000).shuffle(&mut order);
            let mut chosen = order[..n].to_vec();
            chosen.sort_unstable();
            chosen.into_iter().map(|i| pairs[i].clone()).collect()
        }
        _ => pairs.clone(),
    }
}

fn batchers(data: &TaskData, train: &TrainConfig) -> Result<(Batcher, Batcher)> {
    Ok((
        Batcher::new(data.train.clone(), train.batch_size, true)?,
        Batcher::new(data.valid.clone(), train.batch_size, true)?,
    ))
}

impl Trainer {
    /// A fresh run: prepares the data, then builds the model that
    /// `model_config(src_vocab, tgt_vocab)` describes, seeded by `train.seed`.
    pub fn new(
        train: TrainConfig,
        data: DataConfig,
        model_config: impl FnOnce(usize, usize) -> ModelConfig,
        out: &Path,
        device: Device,
        verbosity: Verbosity,
    ) -> Result<Trainer> {
        train.validate().map_err(TrainError::Config)?;
        data.validate().map_err(TrainError::Config)?;
        let mut data = data;
        data.source.make_absolute();
        let corpus = Fingerprint::all(&data.source)?;
        let task = TaskData::prepare(&data, None)?;
        for (split, n) in [
            ("training", task.train.len()),
            ("validation", task.valid.len()),
        ] {
            if n > 0 {
                continue;
            }
            let msg =
                match data.max_len {
                    Some(m) => {
                        format!(
                    "--max-len {m}: every {split} pair is longer than {m} tokens on a side, \
                     so there is nothing to {} (raise --max-len)",
                    if split == "training" { "train on" } else { "validate on" }
                )
                    }
                    None => format!("no {split} pairs"),
                };
            return Err(TrainError::Config(msg));
        }
        let config = model_config(task.lexicon.src_vocab.len(), task.lexicon.tgt_vocab.len());
        config
            .check()
            .map_err(|e| TrainError::Config(format!("the model configuration: {e}")))?;
        check_training_memory(&config, &task, &train)?;
        let model = Model::new(&config, &mut Rng::new(train.seed), &device)?;
        let optimizer = Adam::new(model.parameters(), train.adam())?;
        let (train_batches, valid_batches) = batchers(&task, &train)?;
        let paths = RunPaths::new(out)?;
        Ok(Trainer {
            bleu_pairs: bleu_pairs(&task, &train),
            model,
            data: task,
            optimizer,
            state: TrainState {
                corpus,
                ..TrainState::new(train, data)
            },
            log: Logger::open(&paths.root, None)?,
            paths,
            device,
            train_batches,
            valid_batches,
            verbosity,
            last_good: None,
        })
    }

    /// Continues the run whose checkpoint is `dir` (a run directory or a
    /// checkpoint directory), writing to `out` (default: the run directory
    /// it came from). `adjust` may change the settings that only say how
    /// long to go on (`epochs`, `max_steps`); the rest must stay as saved
    /// for the run to continue exactly.
    pub fn resume(
        dir: &Path,
        out: Option<&Path>,
        device: Device,
        verbosity: Verbosity,
        adjust: impl FnOnce(&mut TrainConfig),
    ) -> Result<Trainer> {
        let ck = checkpoint::load(dir, "last", &device)?;
        let state_path = ck.dir.join("state.json");
        let mut state = ck.state.ok_or_else(|| {
            TrainError::checkpoint(&state_path, "missing: this checkpoint cannot be resumed")
        })?;
        let opt_path = ck.dir.join("optimizer.safetensors");
        let saved_opt = ck.optimizer.ok_or_else(|| {
            TrainError::checkpoint(&opt_path, "missing: this checkpoint cannot be resumed")
        })?;
        adjust(&mut state.train);
        state.train.validate().map_err(TrainError::Config)?;
        if state.epoch < state.train.epochs as u64 {
            state.finished = false;
        }
        let mut optimizer = Adam::new(ck.model.parameters(), state.train.adam())?;
        optimizer
            .load_state(&saved_opt, state.step)
            .map_err(|e| TrainError::checkpoint(&opt_path, e.to_string()))?;
        for file in &state.corpus {
            file.verify()?;
        }
        let task = TaskData::prepare(&state.data, Some(ck.lexicon))?;
        let (train_batches, valid_batches) = batchers(&task, &state.train)?;
        // a checkpoint dir `R/last` belongs to the run directory `R`, and
        // a kept one `R/checkpoints/step-S` too
        let kept = |d: &Path| {
            d.file_name()
                .and_then(|n| n.to_str())
                .and_then(checkpoint::kept_step)
                .is_some()
                && d.parent()
                    .is_some_and(|p| p.file_name().is_some_and(|n| n == checkpoint::KEPT_DIR))
        };
        let root = match out {
            Some(o) => o.to_path_buf(),
            None if kept(&ck.dir) => ck
                .dir
                .parent()
                .and_then(Path::parent)
                .unwrap_or(Path::new("."))
                .to_path_buf(),
            None if ck.dir.file_name().is_some_and(|n| {
                ["last", "best", "last.old", "best.old"]
                    .iter()
                    .any(|k| n == *k)
            }) =>
            {
                ck.dir.parent().unwrap_or(Path::new(".")).to_path_buf()
            }
            None => ck.dir.clone(),
        };
        let paths = RunPaths::new(&root)?;
        let last_good = Some((ck.dir.clone(), state.step));
        Ok(Trainer {
            bleu_pairs: bleu_pairs(&task, &state.train),
            model: ck.model,
            data: task,
            optimizer,
            log: Logger::open(&paths.root, Some(state.step))?,
            state,
            paths,
            device,
            train_batches,
            valid_batches,
            verbosity,
            last_good,
        })
    }
}
