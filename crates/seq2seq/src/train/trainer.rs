//! The training loop.
//!
//! ```text
//! for epoch in epochs:
//!     for each group of `accumulate` batches (order: seed + epoch, data/batch.rs):
//!         loss = Σ_b (tokens_b / tokens) · CE_b        one backward per batch b
//!         clip ‖∇‖ to `clip`;  η ← schedule(step);  Adam(W) step
//!         every `log_every` steps: read the mean loss back, log it, update the bar
//!         every `save_every` steps: save last/
//!     validation (every epoch, or every `valid_every` steps): loss, and
//!         BLEU/chrF of greedy decoding → log; best by `keep_best` → save best/;
//!         early stopping by patience (validations without improvement)
//!     save last/ (and checkpoints/step-S/, keeping the last `keep_last`), draw loss.svg
//! ```
//!
//! The losses and gradient norms stay on the device between logs (summed
//! there), so a step never waits for the host except where the log asks for
//! numbers, and then once for all of them. On a GPU the clipping itself is
//! on the device (a packed model's optimizer clips its gradient arena), so a
//! non-finite gradient shows in the norms read at the next log or before
//! the next save, which refuse to go on from it.
//! Everything that decides the next step is in the checkpoint (state.rs),
//! so a resumed run makes the very same steps as one never interrupted.

use super::checkpoint;
use super::config::BestMetric;
use super::data::TaskData;
use super::error::{Result, TrainError};
use super::eval::{greedy_scores, validation_loss, GreedyScores};
use super::log::{LogRow, Logger};
use super::progress::{Progress, Verbosity};
use super::setup::RunPaths;
use super::state::TrainState;
use super::svg::{loss_curve, LossPlotOptions};
use crate::data::{epoch_rng, Batch, Batcher, Pair};
use crate::models::{Model, Source, Target};
use crate::nn::{Ctx, Module};
use std::time::Instant;
use tensor::optim::{Adam, Optimizer};
use tensor::{Device, Tensor};

/// A loss this many times that of a uniform guess (ln V) means divergence.
pub const EXPLODED: f32 = 20.0;

/// A run in progress: the model, its optimizer, the data and where it stands.
pub struct Trainer {
    pub model: Model,
    pub data: TaskData,
    pub optimizer: Adam,
    pub state: TrainState,
    pub paths: RunPaths,
    pub device: Device,
    pub(super) train_batches: Batcher,
    pub(super) valid_batches: Batcher,
    /// The validation pairs BLEU is measured on (all, or the sample of
    /// `--valid-bleu-sample`).
    pub(super) bleu_pairs: Vec<Pair>,
    pub(super) log: Logger,
    pub(super) verbosity: Verbosity,
    /// The newest checkpoint written (or resumed from) and its step: what a
    /// diverged run points the user back to.
    pub(super) last_good: Option<(std::path::PathBuf, u64)>,
}

/// How a run ended.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub steps: u64,
    pub epochs: u64,
    pub best_valid_loss: Option<f32>,
    /// Highest validation BLEU (runs that measure it).
    pub best_bleu: Option<f32>,
    pub stopped_early: bool,
    /// Seconds of training, summed over every invocation that trained the run (resumes included).
    pub elapsed: f64,
}

/// One validation's numbers.
#[derive(Clone, Copy, Debug)]
struct Measured {
    loss: f32,
    scores: Option<GreedyScores>,
}

/// Device-side sums between two log rows.
struct Window {
    loss: Option<Tensor>,
    /// Σ of the steps' gradient norms (non-finite once any step's was) and
    /// the last one, on the device; `None` without clipping.
    norms: Option<(Tensor, Tensor)>,
    steps: u64,
    tokens: u64,
    since: Instant,
}

impl Window {
    fn new() -> Window {
        Window {
            loss: None,
            norms: None,
            steps: 0,
            tokens: 0,
            since: Instant::now(),
        }
    }
}

impl Trainer {
    /// Trains until the epochs are done, `max_steps` is reached, or early
    /// stopping ends the run.
    pub fn run(&mut self) -> Result<Outcome> {
        let started = Instant::now();
        let base_elapsed = self.state.elapsed;
        let cfg = self.state.train.clone();
        let epochs = cfg.epochs as u64;
        let bar = Progress::new(self.planned_steps(), self.state.step, self.verbosity);
        let mut window = Window::new();
        let mut stopped_early = false;
        let elapsed = move || base_elapsed + started.elapsed().as_secs_f64();

        'epochs: while self.state.epoch < epochs && !self.state.finished {
            let plan = self
                .train_batches
                .plan(&mut epoch_rng(cfg.seed, self.state.epoch));
            while self.state.batch_in_epoch < plan.len() {
                if cfg.max_steps.is_some_and(|m| self.state.step >= m) {
                    break;
                }
                let take = cfg.accumulate.min(plan.len() - self.state.batch_in_epoch);
                let group = &plan[self.state.batch_in_epoch..self.state.batch_in_epoch + take];
                let batches: Vec<Batch> = group
                    .iter()
                    .map(|ix| self.train_batches.batch(ix))
                    .collect();
                let (loss, norm, tokens) = self.optimizer_step(&batches)?;
                self.state.batch_in_epoch += take;
                window.loss = Some(match window.loss.take() {
                    Some(sum) => sum.add(&loss)?,
                    None => loss,
                });
                if let Some(norm) = norm {
                    window.norms = Some(match window.norms.take() {
                        Some((sum, _)) => (sum.add(&norm)?, norm),
                        None => (norm.clone(), norm),
                    });
                }
                window.steps += 1;
                window.tokens += tokens as u64;
                let step = self.state.step;
                if step.is_multiple_of(cfg.log_every) {
                    let (mean, norm) = self.check_window(&window, step)?;
                    let rate =
                        window.tokens as f64 / window.since.elapsed().as_secs_f64().max(1e-9);
                    self.log.write(LogRow {
                        kind: "train".into(),
                        step,
                        epoch: self.state.epoch + 1,
                        loss: mean,
                        lr: self.optimizer.lr(),
                        grad_norm: norm.unwrap_or(0.0),
                        tokens_per_sec: rate,
                        elapsed: elapsed(),
                        bleu: None,
                        chrf: None,
                    })?;
                    bar.update(step, self.state.epoch + 1, epochs, mean, rate);
                    window = Window::new();
                } else {
                    bar.tick(step);
                }
                if cfg.valid_every > 0 && step.is_multiple_of(cfg.valid_every) {
                    let measured = self.measure()?;
                    self.state.elapsed = elapsed();
                    let label = format!("step {step} (epoch {}/{epochs})", self.state.epoch + 1);
                    stopped_early = self.record(measured, self.state.epoch + 1, &label, &bar)?;
                }
                if stopped_early || (cfg.save_every > 0 && step.is_multiple_of(cfg.save_every)) {
                    self.check_window(&window, step)?;
                    self.state.elapsed = elapsed();
                    self.save_last()?;
                }
                if stopped_early {
                    break 'epochs;
                }
            }
            if self.state.batch_in_epoch < plan.len() {
                break; // max_steps reached mid-epoch
            }
            // End of epoch: validate (at every epoch end by default; with
            // --valid-every N, at the last one unless its step just was),
            // keep the best, maybe stop.
            let last_epoch = self.state.epoch + 1 >= epochs;
            let validate = match cfg.valid_every {
                0 => true,
                n => last_epoch && !self.state.step.is_multiple_of(n),
            };
            // Measured before anything is logged or saved: best/ and last/
            // never hold a model that diverged.
            let measured = match validate {
                true => Some(self.measure()?),
                false => {
                    self.check_window(&window, self.state.step)?;
                    None
                }
            };
            self.state.epoch += 1;
            self.state.batch_in_epoch = 0;
            self.state.elapsed = elapsed();
            if let Some(m) = measured {
                let label = format!("epoch {}/{epochs}", self.state.epoch);
                stopped_early = self.record(m, self.state.epoch, &label, &bar)?;
            }
            if self.state.epoch >= epochs {
                self.state.finished = true;
            }
            self.save_last()?;
        }
        if !self.state.finished {
            self.state.elapsed = elapsed();
            self.save_last()?;
        }
        bar.finish();
        Ok(Outcome {
            steps: self.state.step,
            epochs: self.state.epoch,
            best_valid_loss: self.state.best_valid_loss,
            best_bleu: self.state.best_bleu,
            stopped_early,
            elapsed: elapsed(),
        })
    }

    /// One validation of the current model: the loss, and BLEU and chrF
    /// when the run measures them. A loss training cannot go on from is
    /// divergence, reported before anything is logged or saved.
    fn measure(&self) -> Result<Measured> {
        let loss = validation_loss(&self.model, &self.valid_batches, &self.device)?;
        if !self.loss_is_sane(loss) {
            let what = format!("the validation loss became {loss}");
            return Err(self.diverged(self.state.step, what));
        }
        let scores = match self.state.train.measures_bleu() {
            true => Some(greedy_scores(
                &self.model,
                &self.data.lexicon,
                &self.bleu_pairs,
                self.state.train.max_decode_len,
                &self.device,
            )?),
            false => None,
        };
        Ok(Measured { loss, scores })
    }

    /// Logs a validation (of the 1-based `epoch`), updates the best-so-far
    /// record and the patience count in the state, says so on the bar
    /// (`label`: where the run stands), and saves `best/` when it is the
    /// best by `--keep-best`. Returns whether early stopping ends the run.
    fn record(&mut self, m: Measured, epoch: u64, label: &str, bar: &Progress) -> Result<bool> {
        let bleu = m.scores.map(|s| s.bleu);
        self.log.write(LogRow {
            kind: "valid".into(),
            step: self.state.step,
            epoch,
            loss: m.loss,
            lr: self.optimizer.lr(),
            grad_norm: 0.0,
            tokens_per_sec: 0.0,
            elapsed: self.state.elapsed,
            bleu,
            chrf: m.scores.map(|s| s.chrf),
        })?;
        let improved = self.state.record_validation(m.loss, bleu);
        let stop = self.state.out_of_patience();
        if stop {
            self.state.finished = true;
        }
        let scores = m.scores.map_or(String::new(), |s| {
            format!(", BLEU {:.2}, chrF {:.2}", s.bleu, s.chrf)
        });
        let best = match (improved, self.state.train.keep_best) {
            (false, _) => "",
            (true, BestMetric::Loss) => ", best so far: saved",
            (true, BestMetric::Bleu) => ", best BLEU so far: saved",
        };
        bar.println(format!(
            "{label}: validation loss {:.4} (perplexity {:.2}){scores}{best}",
            m.loss,
            m.loss.exp()
        ));
        if improved {
            self.save(&self.paths.best.clone())?;
        }
        Ok(stop)
    }

    /// `Err` (divergence) when the training loss summed since the last log
    /// row is not one to go on from: the steps since the last log are
    /// checked before they are saved, so last/ never holds a diverged model.
    /// Reads the window's sums back (one read for all of them) and refuses
    /// to go on from a loss or a gradient norm that diverged: the window's
    /// mean loss, and its last gradient norm when the run clips.
    fn check_window(&self, window: &Window, step: u64) -> Result<(f32, Option<f32>)> {
        let Some(loss) = &window.loss else {
            return Ok((0.0, None));
        };
        let mut parts = vec![loss.reshape([1])?];
        if let Some((sum, last)) = &window.norms {
            parts.extend([sum.reshape([1])?, last.reshape([1])?]);
        }
        let values = Tensor::cat(&parts, 0)?.try_to_vec()?;
        let mean = values[0] / window.steps as f32;
        if let [_, sum, _] = values[..] {
            if !sum.is_finite() {
                let what = format!("a gradient norm became {sum} (not finite)");
                return Err(self.diverged(step, what));
            }
        }
        if !self.loss_is_sane(mean) {
            let what = format!("the training loss became {mean}");
            return Err(self.diverged(step, what));
        }
        Ok((mean, values.get(2).copied()))
    }

    /// The optimizer steps the whole run will make (unless early stopping
    /// ends it sooner): Σ over epochs of ⌈batches / accumulate⌉, capped by
    /// `max_steps`. Batching by tokens gives each epoch its own number of
    /// batches (the shuffle decides which lengths share a batch), so every
    /// epoch's plan is made here from the seed the loop will use for it —
    /// the plan is a pure function of that seed. Planning is a shuffle and
    /// a sort of the example lengths: milliseconds, even for 20 epochs of
    /// Multi30k.
    pub fn planned_steps(&self) -> u64 {
        let cfg = &self.state.train;
        let cap = cfg.max_steps.unwrap_or(u64::MAX);
        let mut total = 0u64;
        for epoch in 0..cfg.epochs as u64 {
            if total >= cap {
                break;
            }
            let batches = self
                .train_batches
                .plan(&mut epoch_rng(cfg.seed, epoch))
                .len();
            total += batches.div_ceil(cfg.accumulate) as u64;
        }
        total.min(cap)
    }

    /// One optimizer step over `batches` (gradient accumulation): returns
    /// the token-weighted mean loss (on the device), the gradient norm
    /// before clipping, and the number of target tokens.
    fn optimizer_step(&mut self, batches: &[Batch]) -> Result<(Tensor, Option<Tensor>, usize)> {
        let cfg = &self.state.train;
        self.optimizer.zero_grad();
        let tokens: usize = batches.iter().map(Batch::target_tokens).sum();
        let mut ctx = Ctx::train(self.state.rng.clone());
        let mut sum: Option<Tensor> = None;
        for b in batches {
            let (src, tgt) = (
                Source::from_batch(b, &self.device)?,
                Target::from_batch(b, &self.device)?,
            );
            let weight = b.target_tokens() as f32 / tokens.max(1) as f32;
            let loss = self
                .model
                .loss(&src, &tgt, cfg.label_smoothing, &mut ctx)?
                .mul_scalar(weight)?;
            loss.backward()?;
            let loss = loss.detach();
            sum = Some(match sum {
                Some(s) => s.add(&loss)?,
                None => loss,
            });
        }
        self.state.rng = ctx.rng;
        let norm = match cfg.clip > 0.0 {
            true => match self.optimizer.clip_grad_norm(cfg.clip) {
                Ok(norm) => Some(norm),
                // The clipper refuses a non-finite gradient, naming the
                // parameter: that is divergence, not a bug.
                Err(tensor::Error::InvalidArgument {
                    op: "clip_grad_norm",
                    msg,
                }) => {
                    let what = format!("the {msg}");
                    return Err(self.diverged(self.state.step + 1, what));
                }
                Err(e) => return Err(e.into()),
            },
            false => None,
        };
        self.optimizer
            .set_lr(cfg.schedule.lr(cfg.lr, self.state.step + 1));
        self.optimizer.step()?;
        self.state.step += 1;
        self.state.tokens += tokens as u64;
        Ok((sum.expect("at least one batch"), norm, tokens))
    }

    /// Whether a mean loss per token is one training can go on from: finite,
    /// and below [`EXPLODED`] times the loss of guessing uniformly among
    /// the target tokens (ln V) — far above where any run starts, so only a
    /// run blown up by too high a learning rate gets there.
    fn loss_is_sane(&self, loss: f32) -> bool {
        let (_, vocab) = self.model.config().vocab_sizes();
        let uniform = (vocab.max(2) as f32).ln();
        loss.is_finite() && loss <= EXPLODED * uniform
    }

    /// The error of a run that diverged at `step`: what happened, the
    /// learning rate, and the last good checkpoint to go back to.
    fn diverged(&self, step: u64, what: String) -> TrainError {
        let lr = self.state.train.lr;
        let back = match &self.last_good {
            Some((dir, at)) => format!(
                "the last good checkpoint is {} (step {at}), untouched",
                dir.display()
            ),
            None => "no checkpoint was saved before it".to_string(),
        };
        TrainError::Diverged(format!(
            "training diverged at step {step} (epoch {}): {what} with --lr {lr} (scheduled \
             rate {:.3e}); nothing of this step was saved and {back}. Start over (--overwrite) \
             with a lower --lr, e.g. {}, or clip the gradients with --clip 1",
            self.state.epoch + 1,
            self.optimizer.lr(),
            lr / 10.0
        ))
    }

    /// Saves a full checkpoint (model, vocabularies, optimizer, state) to `dir`.
    pub fn save(&self, dir: &std::path::Path) -> Result<()> {
        checkpoint::save(
            dir,
            &self.model,
            &self.data.lexicon,
            Some(&self.optimizer.state()),
            Some(&self.state),
        )
    }

    /// Saves `last/` (and, with `--keep-last N`, the same checkpoint as
    /// `checkpoints/step-S/`, deleting all but the latest N of those), and
    /// redraws `loss.svg`.
    fn save_last(&mut self) -> Result<()> {
        self.save(&self.paths.last.clone())?;
        self.last_good = Some((self.paths.last.clone(), self.state.step));
        if let Some(keep) = self.state.train.keep_last {
            let step = self.state.step;
            self.save(&self.paths.kept.join(checkpoint::kept_name(step)))?;
            checkpoint::prune_kept(&self.paths.kept, keep, step)?;
        }
        let title = format!("{} — loss per target token", self.model.config().name());
        let svg = loss_curve(&title, &self.log.rows, LossPlotOptions::default())
            .map_err(|e| TrainError::checkpoint(&self.paths.svg, e))?;
        tensor::io::write_atomic(&self.paths.svg, svg.as_bytes())?;
        Ok(())
    }

    /// Every row logged so far (a resumed run: including those before it).
    pub fn log_rows(&self) -> &[super::log::LogRow] {
        &self.log.rows
    }

    /// Number of trainable scalars.
    pub fn num_parameters(&self) -> usize {
        self.model.parameters().iter().map(Tensor::numel).sum()
    }
}
