//! `s2s train`: turns the options (train_args.rs) into a data description,
//! a model configuration and training settings, runs the trainer, then
//! measures the best checkpoint on held-out pairs and says what to do next.

use crate::checks;
use crate::guard;
use crate::train_args::TrainArgs;
use crate::train_settings::{data_config, model_config, model_name, train_config};
use anyhow::{bail, Result};
use seq2seq::data::Vocab;
use seq2seq::train::{checkpoint, eval, limits, Trainer, Verbosity};
use std::path::PathBuf;
use tensor::Device;

/// Refuses model sizes whose weights, gradients and Adam moments alone
/// exceed the memory available, before the data is read (the vocabulary
/// terms are counted at --max-vocab, or not at all; the trainer weighs the
/// full model and its batches again once the vocabularies are known).
fn check_model_memory(args: &TrainArgs) -> Result<()> {
    let vocab = args.max_vocab.unwrap_or(Vocab::SPECIALS.len());
    let config = model_config(args, vocab, vocab);
    config.check().map_err(anyhow::Error::msg)?;
    let params = config.parameter_estimate();
    limits::check_fits(16 * params + 4 * config.buffer_estimate(), || {
        format!(
            "a {} model of {} million parameters (weights, gradients and Adam moments)",
            config.name(),
            params / 1_000_000
        )
    })
    .map_err(|e| {
        anyhow::anyhow!(
            "{e}; lower --hidden-size, --embed-size, --attn-size, --d-model, --ff-size or the layers"
        )
    })
}

/// The options that may accompany `--resume`: how much longer, where, on
/// what, how loudly. Everything else is saved in the run and stays.
const RESUME_OPTIONS: [&str; 7] = [
    "--resume",
    "--config",
    "--epochs",
    "--max-steps",
    "--out",
    "--device",
    "--quiet",
];

/// Refuses options given with `--resume` that would change the run: it
/// continues with the settings in its state.json, and silently ignoring
/// a new --lr or --model would train something other than asked.
fn refuse_resume_changes(given: &[String]) -> Result<()> {
    let name = |o: &str| o.split(' ').next().unwrap_or_default().to_string();
    let changed: Vec<&str> = given
        .iter()
        .map(String::as_str)
        .filter(|o| !RESUME_OPTIONS.contains(&name(o).as_str()))
        .collect();
    if !changed.is_empty() {
        bail!(
            "--resume continues a run with the settings it started with, so {} cannot \
             change it (only {} apply); start a new run with --out DIR to train with other \
             settings",
            changed.join(", "),
            RESUME_OPTIONS[2..].join(", ")
        );
    }
    Ok(())
}

/// Runs `s2s train`; `given` lists the options given on the command line
/// (`--name` or `--name VALUE`, a `--config` file's included), and
/// `resolved` is the TOML of every option, written as config.toml in a new
/// run's directory (a resumed run keeps the one it started with).
pub fn run(args: TrainArgs, given: &[String], resolved: &str) -> Result<()> {
    if args.resume.is_some() {
        refuse_resume_changes(given)?;
    }
    // Every option is checked before a file is read, a run cleared or a
    // tensor allocated.
    checks::train(&args)?;
    train_config(&args)?
        .validate()
        .map_err(anyhow::Error::msg)?;
    check_model_memory(&args)?;
    let device = Device::parse_choice(&args.device)?;
    let verbosity = if args.quiet {
        Verbosity::Quiet
    } else {
        Verbosity::Normal
    };
    let mut trainer = match &args.resume {
        Some(dir) => {
            if let Some(out) = &args.out {
                let same = std::fs::canonicalize(out).ok() == std::fs::canonicalize(dir).ok();
                if !same && guard::holds_run(out) {
                    bail!(
                        "--out {}: holds another run; resuming into it would overwrite it \
                         (give a new directory, or --resume {0} to continue that one)",
                        out.display()
                    );
                }
            }
            Trainer::resume(dir, args.out.as_deref(), device, verbosity, |t| {
                if let Some(e) = args.epochs {
                    t.epochs = e;
                }
                if args.max_steps.is_some() {
                    t.max_steps = args.max_steps;
                }
            })?
        }
        None => {
            let (data, task_name) = data_config(&args)?;
            let out = args.out.clone().unwrap_or_else(|| {
                PathBuf::from(format!("runs/{task_name}-{}", model_name(&args)))
            });
            let settings = train_config(&args)?;
            let mut aside = None;
            if guard::holds_run(&out) {
                if !args.overwrite {
                    bail!(
                        "{} holds a run already: continue it with  --resume {0}  or start \
                         over (deleting it) with  --overwrite",
                        out.display()
                    );
                }
                aside = Some(guard::set_aside(&out)?);
            }
            let started = Trainer::new(
                settings,
                data,
                |s, t| model_config(&args, s, t),
                &out,
                device,
                verbosity,
            );
            match (started, aside) {
                (Ok(trainer), Some(old)) => {
                    old.discard()?;
                    trainer
                }
                (Ok(trainer), None) => trainer,
                (Err(e), Some(old)) => {
                    old.restore()?;
                    bail!(
                        "{e} (--overwrite: the run in {} was kept as it was)",
                        out.display()
                    );
                }
                (Err(e), None) => return Err(e.into()),
            }
        }
    };
    if args.resume.is_none() {
        crate::train_file::write(&trainer.paths.root, resolved)?;
    }
    if !args.quiet {
        eprintln!("data: {}", trainer.data.summary);
        eprintln!(
            "model: {} with {} parameters, on {device}; run directory {}",
            trainer.model.config().name(),
            trainer.num_parameters(),
            trainer.paths.root.display()
        );
        if trainer.state.step > 0 {
            eprintln!(
                "resuming at step {} (epoch {})",
                trainer.state.step,
                trainer.state.epoch + 1
            );
        }
    }
    let outcome = trainer.run()?;
    let how = if outcome.stopped_early {
        " (stopped early: no improvement)"
    } else {
        ""
    };
    let bleu = outcome
        .best_bleu
        .map_or(String::new(), |b| format!(", best validation BLEU {b:.2}"));
    println!(
        "trained {} steps, {} epochs in {:.0}s{how}; best validation loss {}{bleu}",
        outcome.steps,
        outcome.epochs,
        outcome.elapsed,
        outcome
            .best_valid_loss
            .map_or("-".into(), |l| format!("{l:.4}"))
    );
    if !trainer.paths.best.exists() {
        println!(
            "no epoch finished yet: resume with  s2s train --resume {}",
            trainer.paths.root.display()
        );
        return Ok(());
    }
    let best = checkpoint::load(&trainer.paths.best, "best", &device)?;
    let max_len = trainer.state.train.max_decode_len;
    let (acc, decoded) = eval::exact_match(
        &best.model,
        &best.lexicon,
        &trainer.data.test,
        max_len,
        &device,
    )?;
    for d in decoded.iter().take(5) {
        let mark = if d.correct { "✓" } else { "✗" };
        println!("  {mark} {:<36} → {}", d.source, d.hypothesis);
    }
    let right = decoded.iter().filter(|d| d.correct).count();
    println!(
        "held-out exact match: {:.1}% ({right}/{}) on pairs never seen in training",
        100.0 * acc,
        decoded.len()
    );
    let root = trainer.paths.root.display();
    println!(
        "checkpoint: {}/best  (resume from {root}/last; log {root}/log.csv; plot {root}/loss.svg)",
        root
    );
    let example = decoded
        .first()
        .map_or("…".to_string(), |d| d.source.clone());
    println!("try next:   cargo run --release -- translate --model {root} \"{example}\"");
    Ok(())
}
