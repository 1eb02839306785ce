//! Guards against losing work: a fresh `s2s train` does not write over an
//! earlier run (and `--overwrite` replaces one only once the new run has
//! passed its checks), and no command writes its output (translations,
//! plots, JSON) over a checkpoint's files.

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// The names a run directory holds (setup.rs); any of them present means
/// `dir` already has a run that a fresh start would overwrite.
const RUN_ENTRIES: [&str; 10] = [
    "best",
    "last",
    "checkpoints",
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

/// The old run of a directory being overwritten, moved aside until the new
/// run has passed every check: a fresh start that fails (a bad corpus, a
/// model too large) gives the old run back instead of leaving nothing.
pub struct SetAside {
    dir: PathBuf,
    aside: PathBuf,
}

/// Where [`set_aside`] keeps an old run, inside its own directory.
const ASIDE: &str = ".overwritten";

/// Moves the run entries of `dir` into `dir/.overwritten/` (renames, so
/// nothing is copied or lost on the way).
pub fn set_aside(dir: &Path) -> Result<SetAside> {
    let aside = dir.join(ASIDE);
    if aside.exists() {
        bail!(
            "--overwrite: {} is left from an earlier --overwrite that did not finish; \
             it holds the old run: move it away or delete it first",
            aside.display()
        );
    }
    if let Err(e) = std::fs::create_dir(&aside) {
        bail!("--overwrite: cannot create {}: {e}", aside.display());
    }
    for entry in RUN_ENTRIES {
        let path = dir.join(entry);
        if path.exists() {
            if let Err(e) = std::fs::rename(&path, aside.join(entry)) {
                bail!("--overwrite: cannot move {} aside: {e}", path.display());
            }
        }
    }
    Ok(SetAside {
        dir: dir.to_path_buf(),
        aside,
    })
}

impl SetAside {
    /// The new run started: the old one goes for good.
    pub fn discard(self) -> Result<()> {
        if let Err(e) = std::fs::remove_dir_all(&self.aside) {
            bail!(
                "--overwrite: cannot remove the old run in {}: {e}",
                self.aside.display()
            );
        }
        Ok(())
    }

    /// The new run did not start: whatever it wrote goes, the old run
    /// comes back.
    pub fn restore(self) -> Result<()> {
        for entry in RUN_ENTRIES {
            let (now, old) = (self.dir.join(entry), self.aside.join(entry));
            if !old.exists() {
                continue;
            }
            if now.is_dir() {
                let _ = std::fs::remove_dir_all(&now);
            } else if now.exists() {
                let _ = std::fs::remove_file(&now);
            }
            if let Err(e) = std::fs::rename(&old, &now) {
                bail!(
                    "--overwrite: cannot put the old run back from {}: {e}",
                    old.display()
                );
            }
        }
        let _ = std::fs::remove_dir_all(&self.aside);
        Ok(())
    }
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
