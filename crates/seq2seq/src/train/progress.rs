//! What the user sees while a run trains. On a terminal: an indicatif bar
//!
//! ```text
//!   epoch 3/12 [=========>          ] 1210/4800 loss 0.412 · 5.1k tok/s · ETA 2m 03s
//! ```
//!
//! (the loss is the mean over the last logged steps); elsewhere (a log
//! file, CI) one plain line per logged step,
//!
//! ```text
//! epoch 3/12 step 1220/4800: loss 0.412 · 5.1k tok/s
//! ```
//!
//! Both go to standard error, so that standard output carries only the
//! results (the summary, the accuracy) when it is a pipe or a file.
//! `Quiet` prints nothing. The total is exact: the trainer plans every
//! epoch's batches before the run starts (`Trainer::planned_steps`), which
//! matters when batching by tokens, where epochs differ in length. Only
//! early stopping ends a run before the bar is full.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// How much to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
}

/// A progress bar over the optimizer steps of a whole run.
pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    total: u64,
}

impl Progress {
    /// A bar for `total` steps, `done` of them already done (a resumed run).
    pub fn new(total: u64, done: u64, verbosity: Verbosity) -> Progress {
        if verbosity == Verbosity::Quiet {
            return Progress {
                bar: None,
                plain: false,
                total,
            };
        }
        if !std::io::stderr().is_terminal() {
            return Progress {
                bar: None,
                plain: true,
                total,
            };
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let style =
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} · ETA {eta}")
                .expect("a valid template")
                .progress_chars("=> ");
        bar.set_style(style);
        bar.set_position(done);
        bar.reset_eta();
        Progress {
            bar: Some(bar),
            plain: false,
            total,
        }
    }

    /// Moves the bar to `step` of `epoch`/`epochs` with the latest numbers.
    pub fn update(&self, step: u64, epoch: u64, epochs: u64, loss: f32, tokens_per_sec: f64) {
        let msg = format!("loss {loss:.3} · {} tok/s", human(tokens_per_sec));
        if let Some(bar) = &self.bar {
            bar.set_prefix(format!("epoch {epoch}/{epochs}"));
            bar.set_position(step);
            bar.set_message(msg);
        } else if self.plain {
            eprintln!("epoch {epoch}/{epochs} step {step}/{}: {msg}", self.total);
        }
    }

    /// Advances without new numbers (steps between logs).
    pub fn tick(&self, step: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(step);
        }
    }

    /// A line above the bar (validation results, checkpoints).
    pub fn println(&self, line: impl AsRef<str>) {
        match &self.bar {
            Some(bar) => bar.println(line.as_ref()),
            None if self.plain => eprintln!("{}", line.as_ref()),
            None => {}
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// 5123.4 → "5.1k".
fn human(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}
