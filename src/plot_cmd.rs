//! `s2s plot loss RUN --out FILE`: draw a run's loss curve again from its
//! log (`RUN/log.jsonl`), with options training does not take: a
//! logarithmic loss axis, another title, PNG output.
//!
//! ```text
//! s2s plot loss runs/dates-gru-attn --log-y --out loss-log.png
//! ```
//! Training itself redraws `RUN/loss.svg` (linear axis) at every save.

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use seq2seq::models::ModelConfig;
use seq2seq::train::svg::{loss_curve, LossPlotOptions};
use seq2seq::train::LogRow;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct PlotArgs {
    #[command(subcommand)]
    figure: Figure,
}

#[derive(Subcommand)]
enum Figure {
    /// The loss curve of a run: training and validation loss, learning
    /// rate, epochs, validation BLEU when measured.
    Loss(LossArgs),
}

#[derive(Args)]
struct LossArgs {
    /// The run directory (the --out of `s2s train`), or its log.jsonl.
    run: PathBuf,
    /// The file to write: FILE.svg, or FILE.png (rendered from the SVG).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// A logarithmic loss axis: a loss falling from 3 to 0.001 shows its
    /// whole fall.
    #[arg(long)]
    log_y: bool,
    /// The title [default: "MODEL — loss per target token", the model read
    /// from the run's checkpoint].
    #[arg(long)]
    title: Option<String>,
}

pub fn run(args: PlotArgs) -> Result<()> {
    match args.figure {
        Figure::Loss(a) => loss(a),
    }
}

fn loss(a: LossArgs) -> Result<()> {
    let png = match a
        .out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_lowercase)
    {
        Some(e) if e == "svg" => false,
        Some(e) if e == "png" => true,
        _ => bail!(
            "--out {}: the file name must end in .svg or .png (it picks the format)",
            a.out.display()
        ),
    };
    crate::guard::refuse_checkpoint_output(&a.out, "--out")?;
    let (dir, log) = match a.run.is_dir() {
        true => (a.run.clone(), a.run.join("log.jsonl")),
        false => (
            a.run.parent().unwrap_or(Path::new(".")).to_path_buf(),
            a.run.clone(),
        ),
    };
    let rows = read_log(&log)?;
    let title = a.title.unwrap_or_else(|| match model_name(&dir) {
        Some(name) => format!("{name} — loss per target token"),
        None => "loss per target token".into(),
    });
    let svg = loss_curve(&title, &rows, LossPlotOptions { log_y: a.log_y })
        .map_err(|e| anyhow!("{}: {e}", a.out.display()))?;
    let bytes = match png {
        true => {
            crate::plot::png::svg_to_png(&svg).map_err(|e| anyhow!("{}: {e}", a.out.display()))?
        }
        false => svg.into_bytes(),
    };
    tensor::io::write_atomic(&a.out, &bytes)
        .with_context(|| format!("cannot write {}", a.out.display()))?;
    eprintln!("wrote {} ({} log rows)", a.out.display(), rows.len());
    Ok(())
}

/// The rows of a `log.jsonl`, naming the file and line of a bad one.
fn read_log(path: &Path) -> Result<Vec<LogRow>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the training log {}", path.display()))?;
    let rows = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str::<LogRow>(l)
                .with_context(|| format!("{}: line {} is not a log row", path.display(), i + 1))
        })
        .collect::<Result<Vec<_>>>()?;
    if rows.is_empty() {
        bail!("{}: the log has no rows yet", path.display());
    }
    Ok(rows)
}

/// The model's name, from the run's last (else best) checkpoint.
fn model_name(run: &Path) -> Option<String> {
    ["last", "best"].iter().find_map(|c| {
        let json = std::fs::read_to_string(run.join(c).join("config.json")).ok()?;
        Some(serde_json::from_str::<ModelConfig>(&json).ok()?.name())
    })
}
