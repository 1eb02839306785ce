//! The training log: one row per logged step and per validation, written
//! both as CSV (`log.csv`, for spreadsheets) and as JSON lines
//! (`log.jsonl`, for scripts), and kept in memory for the loss plot.
//!
//! A resumed run keeps the rows up to the checkpoint's step and drops any
//! written after it (by the interrupted run), so the log of a resumed run
//! reads as if the run had never stopped.

use super::error::{Result, TrainError};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// One line of the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogRow {
    /// `train` (mean loss over the steps since the last row) or `valid`.
    pub kind: String,
    /// Optimizer steps done.
    pub step: u64,
    /// 1-based epoch the row belongs to.
    pub epoch: u64,
    /// Cross-entropy per target token (train: with label smoothing).
    pub loss: f32,
    pub lr: f32,
    /// Gradient norm before clipping, at the row's step.
    pub grad_norm: f32,
    /// Target tokens per second since the last row.
    pub tokens_per_sec: f64,
    /// Seconds of training so far.
    pub elapsed: f64,
    /// Validation BLEU and chrF of greedy decoding (`valid` rows of runs
    /// that measure them; absent from logs written before they existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bleu: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chrf: Option<f32>,
}

const HEADER: &str = "kind,step,epoch,loss,lr,grad_norm,tokens_per_sec,elapsed,bleu,chrf";

/// Appends rows to `log.csv` and `log.jsonl` in a run directory.
pub struct Logger {
    csv: File,
    jsonl: File,
    pub rows: Vec<LogRow>,
}

fn open_err(path: &Path, e: std::io::Error) -> TrainError {
    TrainError::checkpoint(path, format!("cannot write the log: {e}"))
}

impl Logger {
    /// Starts the log in `dir`; with `resume_step`, keeps the earlier rows
    /// up to that step (read from `log.jsonl`).
    pub fn open(dir: &Path, resume_step: Option<u64>) -> Result<Logger> {
        let (csv_path, json_path) = (dir.join("log.csv"), dir.join("log.jsonl"));
        let mut rows = Vec::new();
        if let (Some(step), Ok(f)) = (resume_step, File::open(&json_path)) {
            for line in BufReader::new(f).lines().map_while(|l| l.ok()) {
                if let Ok(row) = serde_json::from_str::<LogRow>(&line) {
                    if row.step <= step {
                        rows.push(row);
                    }
                }
            }
        }
        let mut log = Logger {
            csv: File::create(&csv_path).map_err(|e| open_err(&csv_path, e))?,
            jsonl: File::create(&json_path).map_err(|e| open_err(&json_path, e))?,
            rows: Vec::new(),
        };
        writeln!(log.csv, "{HEADER}").map_err(|e| open_err(&csv_path, e))?;
        for row in rows {
            log.write(row)?;
        }
        Ok(log)
    }

    /// Appends one row to both files.
    pub fn write(&mut self, row: LogRow) -> Result<()> {
        let r = &row;
        // A score not measured is an empty cell, as spreadsheets read it.
        let score = |v: Option<f32>| v.map_or(String::new(), |v| format!("{v:.2}"));
        let csv = format!(
            "{},{},{},{},{},{},{:.1},{:.2},{},{}",
            r.kind,
            r.step,
            r.epoch,
            r.loss,
            r.lr,
            r.grad_norm,
            r.tokens_per_sec,
            r.elapsed,
            score(r.bleu),
            score(r.chrf)
        );
        let json = serde_json::to_string(r).expect("a log row serializes");
        let fail = |e| open_err(&PathBuf::from("log"), e);
        writeln!(self.csv, "{csv}").map_err(fail)?;
        writeln!(self.jsonl, "{json}").map_err(fail)?;
        self.rows.push(row);
        Ok(())
    }
}
