//! Checkpoints: one directory per checkpoint.
//!
//! ```text
//!   model.safetensors       the weights, PyTorch state_dict names
//!   config.json             the model's configuration (models/config.rs)
//!   src_vocab.json  tgt_vocab.json  src_tokenizer.json  tgt_tokenizer.json
//!   optimizer.safetensors   Adam's moments ("{i}.exp_avg", "{i}.exp_avg_sq")
//!   state.json              step, epoch, data position, RNG, settings (state.rs)
//!   manifest.json           size and checksum of each file above (manifest.rs)
//! ```
//!
//! Loading trusts nothing it reads: the manifest is verified first, every
//! size in config.json is checked for sanity, against the machine's memory
//! and against the tensors model.safetensors declares before one tensor is
//! built, and weights that are not all finite are refused.
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
use super::limits;
use super::manifest;
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
    manifest::write(&tmp)?;
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

/// The directory of a run that holds the checkpoints `--keep-last` keeps.
pub const KEPT_DIR: &str = "checkpoints";

/// The name of the kept checkpoint of `step`, zero-padded so that a
/// directory listing sorts by step.
pub fn kept_name(step: u64) -> String {
    format!("step-{step:08}")
}

/// The step of a kept checkpoint's directory name; `None` for any other
/// name (staging `.tmp` and `.old` directories included).
pub fn kept_step(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("step-")?;
    match !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        true => digits.parse().ok(),
        false => None,
    }
}

/// Which of the kept `steps` to delete so that the latest `keep` of those
/// up to `upto` (the step just saved) remain. Steps beyond `upto` are left
/// alone: a run resumed from an earlier checkpoint finds those of the
/// steps it is about to redo, and rewrites them as it gets there.
pub fn kept_to_delete(steps: &[u64], keep: usize, upto: u64) -> Vec<u64> {
    let mut done: Vec<u64> = steps.iter().copied().filter(|&s| s <= upto).collect();
    done.sort_unstable();
    done.dedup();
    let extra = done.len().saturating_sub(keep);
    done.truncate(extra);
    done
}

/// Deletes the kept checkpoints of `kept_dir` that [`kept_to_delete`]
/// names, with any `.tmp` or `.old` directory a kill left beside them.
/// `best/` and `last/` live outside `kept_dir` and are never touched.
pub fn prune_kept(kept_dir: &Path, keep: usize, upto: u64) -> Result<()> {
    let entries = std::fs::read_dir(kept_dir).map_err(|e| io(kept_dir, "list", e))?;
    let mut steps = Vec::new();
    for entry in entries {
        let name = entry.map_err(|e| io(kept_dir, "list", e))?.file_name();
        steps.extend(name.to_str().and_then(kept_step));
    }
    for step in kept_to_delete(&steps, keep, upto) {
        let dir = kept_dir.join(kept_name(step));
        for path in [sibling(&dir, ".tmp"), sibling(&dir, ".old"), dir] {
            if path.exists() {
                std::fs::remove_dir_all(&path).map_err(|e| io(&path, "remove", e))?;
            }
        }
    }
    Ok(())
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
    manifest::verify(&dir)?;
    let config_path = dir.join("config.json");
    let config: ModelConfig = read_json(&config_path)?;
    config.check().map_err(|e| {
        let msg = format!("{e}: not a configuration s2s writes (damaged or edited)");
        TrainError::checkpoint(&config_path, msg)
    })?;
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
    let weights = dir.join("model.safetensors");
    let declared = declared_elements(&weights)?;
    let expected = config.parameter_estimate();
    if declared < expected / 2 || declared > expected.saturating_mul(2) {
        let msg = format!(
            "holds {declared} weights, but config.json describes a model of about {expected}: \
             the two files do not belong together (one is damaged, edited or from another \
             checkpoint)"
        );
        return Err(TrainError::checkpoint(&weights, msg));
    }
    limits::check_fits(4 * (expected + config.buffer_estimate()), || {
        format!("the model of {}", config_path.display())
    })
    .map_err(|e| TrainError::checkpoint(&config_path, e))?;
    // Weights are loaded over a model built with a fixed seed.
    let model = Model::new(&config, &mut tensor::Rng::new(0), device)
        .map_err(|e| TrainError::checkpoint(&config_path, e.to_string()))?;
    model
        .load_safetensors(&weights)
        .map_err(|e| TrainError::checkpoint(&weights, e.to_string()))?;
    refuse_non_finite(&weights, &model.named_parameters())?;
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
        // Saved settings are checked like typed ones: a damaged or edited
        // state.json must not reach the allocator either.
        let checked = s.train.validate().and_then(|_| s.data.validate());
        if let Err(e) = checked {
            let msg = format!("{e}: not a state s2s writes (damaged or edited)");
            return Err(TrainError::checkpoint(&state_path, msg));
        }
    }
    let opt_path = dir.join("optimizer.safetensors");
    let optimizer = match opt_path.is_file() {
        true => {
            // Adam keeps two moments per weight: anything else is not this
            // model's optimizer, whatever its header claims.
            let weights: u128 = model.parameters().iter().map(|t| t.numel() as u128).sum();
            let declared = declared_elements(&opt_path)?;
            if declared != 2 * weights {
                let msg = format!(
                    "holds {declared} values, but Adam keeps two per weight of this model \
                     (2 × {weights}): it belongs to another checkpoint or is damaged"
                );
                return Err(TrainError::checkpoint(&opt_path, msg));
            }
            let tensors = tensor::io::load(&opt_path, device)?.tensors;
            refuse_non_finite(&opt_path, &tensors)?;
            Some(tensors)
        }
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

/// The largest safetensors header read: the format's own limit.
const MAX_HEADER: u64 = 100 << 20;

/// The number of f32 values the tensors in `path`'s safetensors header
/// declare, read from the header alone — no tensor is allocated. The
/// header must describe the file: its length within the file, every tensor
/// F32, its byte range inside the data and as long as its shape says.
fn declared_elements(path: &Path) -> Result<u128> {
    use std::io::Read;
    let bad = |msg: String| TrainError::checkpoint(path, format!("damaged: {msg}"));
    let mut file = std::fs::File::open(path).map_err(|e| io(path, "read", e))?;
    let len = file.metadata().map_err(|e| io(path, "read", e))?.len();
    let mut prefix = [0u8; 8];
    if len < 8 || file.read_exact(&mut prefix).is_err() {
        return Err(bad(format!(
            "{len} bytes, too short for a safetensors file"
        )));
    }
    let header_len = u64::from_le_bytes(prefix);
    if header_len > len - 8 || header_len > MAX_HEADER {
        return Err(bad(format!(
            "the header claims {header_len} bytes, but the file has {len}"
        )));
    }
    let mut header = vec![0u8; header_len as usize];
    file.read_exact(&mut header)
        .map_err(|e| io(path, "read", e))?;
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&header)
        .map_err(|e| bad(format!("the header is not a JSON object ({e})")))?;
    let data_len = (len - 8 - header_len) as u128;
    let mut total: u128 = 0;
    for (name, info) in &header {
        if name == "__metadata__" {
            continue;
        }
        let dtype = info.get("dtype").and_then(|d| d.as_str());
        if dtype != Some("F32") {
            return Err(bad(format!(
                "tensor {name:?} has dtype {}; s2s writes and reads F32 only",
                dtype.unwrap_or("none")
            )));
        }
        let dims: Option<Vec<u64>> = info
            .get("shape")
            .and_then(|s| s.as_array())
            .map(|a| a.iter().map(|d| d.as_u64()).collect())
            .and_then(|d: Option<Vec<u64>>| d);
        let Some(dims) = dims else {
            return Err(bad(format!("tensor {name:?} has no valid shape")));
        };
        let elements = dims
            .iter()
            .try_fold(1u128, |n, &d| n.checked_mul(d as u128))
            .filter(|&n| n <= data_len)
            .ok_or_else(|| {
                bad(format!(
                    "tensor {name:?} claims shape {dims:?}, larger than the file"
                ))
            })?;
        let offsets: Option<Vec<u64>> = info
            .get("data_offsets")
            .and_then(|o| o.as_array())
            .and_then(|a| a.iter().map(|v| v.as_u64()).collect());
        let (begin, end) = match offsets.as_deref() {
            Some(&[b, e]) if b <= e && (e as u128) <= data_len => (b as u128, e as u128),
            _ => {
                let raw = info
                    .get("data_offsets")
                    .map_or("none".into(), |v| v.to_string());
                return Err(bad(format!(
                    "tensor {name:?} has data offsets {raw}, not a range within the \
                     {data_len} bytes of data"
                )));
            }
        };
        if end - begin != 4 * elements {
            return Err(bad(format!(
                "tensor {name:?} of shape {dims:?} needs {} bytes but its offsets span {}",
                4 * elements,
                end - begin
            )));
        }
        total += elements;
    }
    Ok(total)
}

/// Refuses tensors holding NaN or ±∞: weights that produce nothing but
/// empty or garbage output, or optimizer moments that would poison the
/// next step.
fn refuse_non_finite(path: &Path, tensors: &[(String, Tensor)]) -> Result<()> {
    for (name, t) in tensors {
        if t.to_vec().iter().any(|v| !v.is_finite()) {
            let msg = format!(
                "tensor {name:?} holds NaN or infinite values: the file is damaged, or was \
                 saved from a run that diverged"
            );
            return Err(TrainError::checkpoint(path, msg));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_names_round_trip_and_nothing_else_parses() {
        assert_eq!(kept_name(300), "step-00000300");
        assert_eq!(kept_step(&kept_name(300)), Some(300));
        for other in [
            "step-00000300.tmp",
            "step-00000300.old",
            "step-",
            "step-+3",
            "best",
            "last",
        ] {
            assert_eq!(kept_step(other), None, "{other}");
        }
    }

    #[test]
    fn the_oldest_go_and_later_steps_stay() {
        assert_eq!(kept_to_delete(&[30, 10, 20], 2, 30), vec![10]);
        assert_eq!(kept_to_delete(&[10, 20], 2, 20), Vec::<u64>::new());
        assert_eq!(kept_to_delete(&[10, 20, 30, 40], 1, 40), vec![10, 20, 30]);
        // Resumed from step 20 with 30 and 40 left from before: only the
        // steps done so far count, and 30 and 40 will be written again.
        assert_eq!(kept_to_delete(&[10, 20, 30, 40], 1, 20), vec![10]);
    }

    #[test]
    fn pruning_removes_only_old_kept_checkpoints() {
        let dir = std::env::temp_dir().join(format!("s2s-prune-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for name in [
            "step-00000010",
            "step-00000010.old",
            "step-00000020",
            "step-00000030",
            "notes",
        ] {
            std::fs::create_dir_all(dir.join(name)).unwrap();
        }
        prune_kept(&dir, 2, 30).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["notes", "step-00000020", "step-00000030"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
