//! Guards against losing work: a fresh `s2s train` does not write over an
//! earlier run, and no command writes its output (translations, plots,
//! JSON) over a checkpoint's files.

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// The names a run directory holds (setup.rs); any of them present means
/// `dir` already has a run that a fresh start would overwrite.
const RUN_ENTRIES: [&str; 9] = [
    "best",
    "last",
    "best.old",
    "last.old",
    "best.tmp",
    "last.tmp",
    "log.csv",
    "log.jsonl",
    "loss.svg",
];

/// Whether `dir` holds a run (or a checkpoint) of an earlier `s2s train`.
pub fn holds_run(dir: &Path) -> bool {
    is_checkpoint_dir(dir) || RUN_ENTRIES.iter().any(|e| dir.join(e).exists())
}

/// Empties the run of `dir` before a fresh start with `--overwrite`, so
/// that no `best/` of the old run survives beside the new `last/`.
pub fn clear_run(dir: &Path) -> Result<()> {
    for entry in RUN_ENTRIES {
        let path = dir.join(entry);
        let gone = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else if path.exists() {
            std::fs::remove_file(&path)
        } else {
            continue;
        };
        if let Err(e) = gone {
            bail!("--overwrite: cannot remove {}: {e}", path.display());
        }
    }
    Ok(())
}

/// A directory holding a checkpoint's configuration and weights.
fn is_checkpoint_dir(dir: &Path) -> bool {
    dir.join("config.json").is_file() || dir.join("model.safetensors").is_file()
}

/// Refuses an output `path` of option `opt` that lies inside a checkpoint
/// directory or a run's `best/`/`last/`: writing there would replace or
/// mix into the files a later load reads.
pub fn refuse_checkpoint_output(path: &Path, opt: &str) -> Result<()> {
    let abs = absolute(path);
    if abs.is_dir() {
        bail!("{opt} {}: is a directory, give a file name", path.display());
    }
    for dir in abs.ancestors().skip(1) {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let run_checkpoint = matches!(name, "best" | "last" | "best.old" | "last.old")
            && dir.parent().is_some_and(holds_run);
        if is_checkpoint_dir(dir) || run_checkpoint {
            bail!(
                "{opt} {}: is inside the checkpoint directory {}; writing there could \
                 replace the model, so give a path outside it",
                path.display(),
                dir.display()
            );
        }
    }
    Ok(())
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
