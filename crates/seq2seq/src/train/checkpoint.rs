//! Checkpoints: one directory per checkpoint.
//!
//! ```text
//!   model.safetensors       the weights, PyTorch state_dict names
//!   config.json             the model's configuration (models/config.rs)
//!   src_vocab.json  tgt_vocab.json  src_tokenizer.json  tgt_tokenizer.json
//!   optimizer.safetensors   Adam's moments ("{i}.exp_avg", "{i}.exp_avg_sq")
//!   state.json              step, epoch, data position, RNG, settings (state.rs)
//! ```
//!
//! Writing never leaves a half checkpoint behind, whenever the process is
//! killed. The files go to a staging directory `NAME.tmp` beside the target
//! ([`stage`]); then [`commit`] renames the old `NAME` to `NAME.old`,
//! renames `NAME.tmp` to `NAME`, and deletes `NAME.old`. A kill before the
//! first rename leaves the old `NAME`; between the two renames, `NAME.old`,
//! which [`load`] falls back to; after, the new `NAME`. (A directory cannot
//! be renamed over a non-empty one, hence the two steps.)
//!
//! That covers a killed process. A power cut is harsher: the kernel may
//! have put a rename on disk before the data of the files renamed, or
//! neither rename at all. So the order of durability is forced with fsync:
//!
//! 1. every file in `NAME.tmp` is synced (its bytes are on disk), then
//!    `NAME.tmp` itself (its list of names is on disk);
//! 2. the renames are made, then the parent directory is synced, so they
//!    are on disk before `NAME.old` is deleted.
//!
//! After step 1 a crash can lose only the staging directory; after step 2
//! the new checkpoint is durable under its final name.

use super::data::Lexicon;
use super::error::{Result, TrainError};
use super::state::{TrainState, STATE_FORMAT};
use crate::data::{Tokenizer, Vocab};
use crate::models::{Model, ModelConfig};
use crate::nn::Module;
use std::path::{Path, PathBuf};
use tensor::{Device, Tensor};

/// What a checkpoint holds, loaded.
pub struct Checkpoint {
    /// The directory it was read from (`NAME` or, after a kill, `NAME.old`).
    pub dir: PathBuf,
    pub model: Model,
    pub lexicon: Lexicon,
    /// Optimizer tensors (training checkpoints).
    pub optimizer: Option<Vec<(String, Tensor)>>,
    pub state: Option<TrainState>,
}

/// `dir` with `suffix` appended to its last component.
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut s = dir.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn io(path: &Path, what: &str, e: impl std::fmt::Display) -> TrainError {
    TrainError::checkpoint(path, format!("cannot {what}: {e}"))
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| io(path, "serialize", e))?;
    tensor::io::write_atomic(path, (text + "\n").as_bytes())?;
    Ok(())
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| io(path, "read", e))?;
    serde_json::from_str(&text).map_err(|e| TrainError::checkpoint(path, format!("invalid: {e}")))
}

/// Writes a complete checkpoint into the staging directory `dir.tmp` and
/// returns its path. Nothing at `dir` changes yet.
pub fn stage(
    dir: &Path,
    model: &Model,
    lexicon: &Lexicon,
    optimizer: Option<&[(String, Tensor)]>,
    state: Option<&TrainState>,
) -> Result<PathBuf> {
    let tmp = sibling(dir, ".tmp");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)
            .map_err(|e| io(&tmp, "remove a stale staging directory", e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| io(&tmp, "create", e))?;
    model.save_safetensors(&tmp.join("model.safetensors"))?;
    write_json(&tmp.join("config.json"), &model.config())?;
    lexicon.src_vocab.save(tmp.join("src_vocab.json"))?;
    lexicon.tgt_vocab.save(tmp.join("tgt_vocab.json"))?;
    lexicon.src_tokenizer.save(tmp.join("src_tokenizer.json"))?;
    lexicon.tgt_tokenizer.save(tmp.join("tgt_tokenizer.json"))?;
    if let Some(opt) = optimizer {
        tensor::io::save(tmp.join("optimizer.safetensors"), opt, None)?;
    }
    if let Some(state) = state {
        write_json(&tmp.join("state.json"), state)?;
    }
    sync_contents(&tmp)?;
    Ok(tmp)
}

/// Flushes every file in `dir` to disk, then `dir`'s own entries. Some
/// writers above sync their files already (`tensor::io::write_atomic`),
/// others (vocabularies, tokenizers) do not; syncing all of them here
/// makes the staging directory complete on disk whoever wrote it.
pub fn sync_contents(dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| io(dir, "list", e))?;
    for entry in entries {
        let path = entry.map_err(|e| io(dir, "list", e))?.path();
        if path.is_file() {
            // (Windows flushes only handles opened for writing.)
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(cfg!(windows))
                .open(&path)
                .map_err(|e| io(&path, "open", e))?;
            file.sync_all().map_err(|e| io(&path, "flush to disk", e))?;
        }
    }
    sync_dir(dir)
}

/// Flushes `dir`'s entries (names created, renamed or removed in it) to
/// disk. On Unix a directory is opened like a file and synced; a file
/// system that cannot sync directories (EINVAL) is accepted as it is.
/// Elsewhere there is no portable way, and this does nothing.
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let handle = std::fs::File::open(dir).map_err(|e| io(dir, "open", e))?;
        match handle.sync_all() {
            Err(e) if e.kind() != std::io::ErrorKind::InvalidInput => {
                return Err(io(dir, "flush to disk", e))
            }
            _ => {}
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The directory holding `dir` (`.` for a bare name).
fn parent_of(dir: &Path) -> &Path {
    match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Moves a staged checkpoint to `dir`, replacing what was there.
pub fn commit(staged: &Path, dir: &Path) -> Result<()> {
    let old = sibling(dir, ".old");
    if old.exists() && dir.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| io(&old, "remove", e))?;
    }
    if dir.exists() {
        std::fs::rename(dir, &old).map_err(|e| io(dir, "move aside", e))?;
    }
    std::fs::rename(staged, dir).map_err(|e| io(dir, "move into place", e))?;
    // The renames reach the disk before the old checkpoint is deleted.
    sync_dir(parent_of(dir))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| io(&old, "remove", e))?;
    }
    Ok(())
}

/// [`stage`] then [`commit`].
pub fn save(
    dir: &Path,
    model: &Model,
    lexicon: &Lexicon,
    optimizer: Option<&[(String, Tensor)]>,
    state: Option<&TrainState>,
) -> Result<()> {
    let staged = stage(dir, model, lexicon, optimizer, state)?;
    commit(&staged, dir)
}

/// The checkpoint directory to read for `dir`: `dir` itself when it holds
/// a `config.json`; else its `prefer` subdirectory (`best` or `last`, as a
/// run directory has them); else `dir.old` left by a kill mid-commit. A
/// run whose first epoch has not finished has no `best/` yet: preferring
/// `best`, its `last/` (or `last.old`) is the model there is.
pub fn resolve(dir: &Path, prefer: &str) -> Result<PathBuf> {
    let mut candidates = vec![
        dir.to_path_buf(),
        dir.join(prefer),
        sibling(dir, ".old"),
        sibling(&dir.join(prefer), ".old"),
    ];
    if prefer == "best" {
        candidates.extend([dir.join("last"), dir.join("last.old")]);
    }
    for candidate in candidates {
        if candidate.join("config.json").is_file() {
            return Ok(candidate);
        }
    }
    Err(TrainError::checkpoint(
        dir,
        format!("no checkpoint here (no config.json in it or in {prefer}/)"),
    ))
}

/// Loads the checkpoint at `dir` (see [`resolve`]) onto `device`. Every
/// problem names the file: missing, not JSON, weights that do not fit the
/// configuration, a vocabulary of the wrong size.
pub fn load(dir: &Path, prefer: &str, device: &Device) -> Result<Checkpoint> {
    let dir = resolve(dir, prefer)?;
    let config: ModelConfig = read_json(&dir.join("config.json"))?;
    let lexicon = Lexicon {
        src_vocab: Vocab::load(dir.join("src_vocab.json"))?,
        tgt_vocab: Vocab::load(dir.join("tgt_vocab.json"))?,
        src_tokenizer: Tokenizer::load(dir.join("src_tokenizer.json"))?,
        tgt_tokenizer: Tokenizer::load(dir.join("tgt_tokenizer.json"))?,
    };
    let (sv, tv) = config.vocab_sizes();
    for (file, want, got) in [
        ("src_vocab.json", sv, lexicon.src_vocab.len()),
        ("tgt_vocab.json", tv, lexicon.tgt_vocab.len()),
    ] {
        if want != got {
            let msg = format!("has {got} tokens but config.json says the model has {want}");
            return Err(TrainError::checkpoint(&dir.join(file), msg));
        }
    }
    // Weights are loaded over a model built with a fixed seed.
    let model = Model::new(&config, &mut tensor::Rng::new(0), device)
        .map_err(|e| TrainError::checkpoint(&dir.join("config.json"), e.to_string()))?;
    let weights = dir.join("model.safetensors");
    model
        .load_safetensors(&weights)
        .map_err(|e| TrainError::checkpoint(&weights, e.to_string()))?;
    let state_path = dir.join("state.json");
    let state: Option<TrainState> = match state_path.is_file() {
        true => Some(read_json(&state_path)?),
        false => None,
    };
    if let Some(s) = &state {
        if s.format != STATE_FORMAT || s.version != 1 {
            let msg = format!(
                "not an s2s training state (format {:?}, version {})",
                s.format, s.version
            );
            return Err(TrainError::checkpoint(&state_path, msg));
        }
    }
    let opt_path = dir.join("optimizer.safetensors");
    let optimizer = match opt_path.is_file() {
        true => Some(tensor::io::load(&opt_path, device)?.tensors),
        false => None,
    };
    Ok(Checkpoint {
        dir,
        model,
        lexicon,
        optimizer,
        state,
    })
}
