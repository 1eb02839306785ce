//! `s2s average`: the element-wise mean of the weights of several
//! checkpoints of one model, written as a new checkpoint (fairseq's
//! `scripts/average_checkpoints.py`, Marian's `--average`). Vaswani et al.
//! (2017) averaged the last checkpoints of a run this way.
//!
//! The sums are taken in f64 and rounded to f32 once at the end, so the
//! mean of copies of one checkpoint is that checkpoint bit for bit, and
//! the order of the inputs changes nothing but the last bit at most.

use anyhow::{bail, Context, Result};
use clap::Args;
use seq2seq::nn::Module;
use seq2seq::train::checkpoint;
use serde_json::Value;
use std::path::{Path, PathBuf};
use tensor::{Device, Tensor};

/// `s2s average` options.
#[derive(Args, Debug)]
pub struct AverageArgs {
    /// Where to write the averaged checkpoint (a checkpoint directory that
    /// `s2s translate --model` and `s2s eval --model` read). Must not exist
    /// unless --overwrite is given.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace --out if it exists (atomically: the old directory stays
    /// until the new one is complete).
    #[arg(long)]
    pub overwrite: bool,
    /// The checkpoints to average, two or more: checkpoint directories
    /// (run/best, run/last) or run directories (their best/ is used). All
    /// must be of one model: the same config.json, vocabularies and tensors.
    #[arg(value_name = "CKPT", required = true, num_args = 2..)]
    pub checkpoints: Vec<PathBuf>,
}

/// A checkpoint's config.json, vocabularies and tokenizers as JSON values:
/// what must be equal for weights to be averaged (an object compares
/// whatever the order of its keys in the file).
struct Identity {
    files: Vec<(&'static str, Value)>,
}

const IDENTITY_FILES: [&str; 5] = [
    "config.json",
    "src_vocab.json",
    "tgt_vocab.json",
    "src_tokenizer.json",
    "tgt_tokenizer.json",
];

impl Identity {
    fn read(dir: &Path) -> Result<Identity> {
        let mut files = Vec::new();
        for name in IDENTITY_FILES {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let value: Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not valid JSON", path.display()))?;
            files.push((name, value));
        }
        Ok(Identity { files })
    }

    /// Why `self` (of checkpoint `dir`) cannot be averaged with `first`
    /// (of `first_dir`), or None when the two match.
    fn differs(&self, dir: &Path, first: &Identity, first_dir: &Path) -> Option<String> {
        for ((name, mine), (_, theirs)) in self.files.iter().zip(&first.files) {
            if mine == theirs {
                continue;
            }
            let detail = match (mine, theirs) {
                (Value::Object(a), Value::Object(b)) if *name == "config.json" => {
                    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
                    keys.sort();
                    keys.dedup();
                    let diffs: Vec<String> = keys
                        .into_iter()
                        .filter(|k| a.get(*k) != b.get(*k))
                        .map(|k| {
                            let show = |v: Option<&Value>| {
                                v.map_or_else(|| "absent".to_string(), |v| v.to_string())
                            };
                            format!("{k} is {} there but {}", show(a.get(k)), show(b.get(k)))
                        })
                        .collect();
                    format!(": {}", diffs.join(", "))
                }
                _ => String::new(),
            };
            return Some(format!(
                "{} differs from {}{detail}; only checkpoints of one model \
                 (same configuration and vocabularies) can be averaged",
                dir.join(name).display(),
                first_dir.join(name).display(),
            ));
        }
        None
    }
}

/// Running f64 sums of one checkpoint's tensors, by name.
struct Sums {
    /// (name, shape, sum), sorted by name as `tensor::io::load` returns them.
    tensors: Vec<(String, Vec<usize>, Vec<f64>)>,
    /// The checkpoint the names and shapes came from, for messages.
    first: PathBuf,
}

impl Sums {
    fn new(first: &Path, tensors: Vec<(String, Tensor)>) -> Sums {
        let tensors = tensors
            .into_iter()
            .map(|(name, t)| {
                let sum = t.to_vec().into_iter().map(f64::from).collect();
                (name, t.dims().to_vec(), sum)
            })
            .collect();
        Sums {
            tensors,
            first: first.to_path_buf(),
        }
    }

    /// Adds the tensors of checkpoint `dir`, which must have the first
    /// one's names and shapes exactly.
    fn add(&mut self, dir: &Path, tensors: Vec<(String, Tensor)>) -> Result<()> {
        let file = dir.join("model.safetensors");
        let first = self.first.join("model.safetensors");
        for (name, _, _) in &self.tensors {
            if !tensors.iter().any(|(n, _)| n == name) {
                bail!(
                    "{} has no tensor {name:?}, which {} has; only checkpoints \
                     of one model can be averaged",
                    file.display(),
                    first.display()
                );
            }
        }
        for (name, t) in tensors {
            let Some((_, shape, sum)) = self.tensors.iter_mut().find(|(n, _, _)| *n == name) else {
                bail!(
                    "{} has a tensor {name:?}, which {} lacks; only checkpoints \
                     of one model can be averaged",
                    file.display(),
                    first.display()
                );
            };
            if t.dims() != shape.as_slice() {
                bail!(
                    "tensor {name:?} has shape {:?} in {} but {shape:?} in {}; \
                     only checkpoints of one model can be averaged",
                    t.dims(),
                    file.display(),
                    first.display()
                );
            }
            for (s, v) in sum.iter_mut().zip(t.to_vec()) {
                *s += f64::from(v);
            }
        }
        Ok(())
    }

    /// The means, rounded to f32.
    fn mean(self, count: usize) -> Result<Vec<(String, Tensor)>> {
        let n = count as f64;
        self.tensors
            .into_iter()
            .map(|(name, shape, sum)| {
                let data: Vec<f32> = sum.into_iter().map(|s| (s / n) as f32).collect();
                let t = Tensor::from_vec(data, shape, &Device::Cpu)
                    .with_context(|| format!("tensor {name:?}"))?;
                Ok((name, t))
            })
            .collect()
    }
}

/// The checkpoint directory `arg` names (itself, or a run's best/),
/// saying which argument failed.
fn resolve(arg: &Path) -> Result<PathBuf> {
    if !arg.exists() {
        bail!("checkpoint {} does not exist", arg.display());
    }
    checkpoint::resolve(arg, "best").with_context(|| format!("cannot average {}", arg.display()))
}

/// Refuses an --out that would delete one of the inputs when replaced:
/// a run directory given as --out while its best/ is being averaged.
fn check_out_holds_no_input(out: &Path, inputs: &[PathBuf]) -> Result<()> {
    let Ok(out_abs) = out.canonicalize() else {
        return Ok(());
    };
    for input in inputs {
        let input_abs = input
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", input.display()))?;
        if input_abs != out_abs && input_abs.starts_with(&out_abs) {
            bail!(
                "--out {} contains {}, one of the checkpoints being averaged; \
                 replacing --out would delete it: choose another --out",
                out.display(),
                input.display()
            );
        }
    }
    Ok(())
}

pub fn run(args: AverageArgs) -> Result<()> {
    let out = &args.out;
    if out.exists() && !args.overwrite {
        bail!(
            "--out {} already exists; pass --overwrite to replace it",
            out.display()
        );
    }
    let dirs = args
        .checkpoints
        .iter()
        .map(|c| resolve(c))
        .collect::<Result<Vec<_>>>()?;
    check_out_holds_no_input(out, &dirs)?;

    // The first checkpoint is loaded whole: that checks its files fit one
    // another, and its model and lexicon are what the output is written from.
    let first_dir = &dirs[0];
    let first = checkpoint::load(first_dir, "best", &Device::Cpu)
        .with_context(|| format!("cannot load a model from {}", first_dir.display()))?;
    let identity = Identity::read(first_dir)?;
    let mut sums = Sums::new(first_dir, read_weights(first_dir)?);
    for dir in &dirs[1..] {
        if let Some(why) = Identity::read(dir)?.differs(dir, &identity, first_dir) {
            bail!(why);
        }
        sums.add(dir, read_weights(dir)?)?;
    }
    let mean = sums.mean(dirs.len())?;
    let params: usize = mean
        .iter()
        .map(|(_, t)| t.dims().iter().product::<usize>())
        .sum();
    first
        .model
        .load_state_dict(&mean)
        .with_context(|| format!("the averaged weights do not fit {}", first_dir.display()))?;

    // Staged beside --out and renamed into place, as training writes its
    // checkpoints: an interrupted run leaves no half-written --out. The
    // first checkpoint's state.json comes along for its data settings
    // (normalization, casing, the test split), which eval and translate
    // read; the optimizer's moments do not, since they belong to no
    // averaged model, and without them resuming is refused.
    let staged = checkpoint::stage(
        out,
        &first.model,
        &first.lexicon,
        None,
        first.state.as_ref(),
    )
    .with_context(|| format!("cannot write {}", out.display()))?;
    checkpoint::commit(&staged, out).with_context(|| format!("cannot write {}", out.display()))?;

    println!(
        "averaged {} checkpoints ({} tensors, {params} parameters) into {}:",
        dirs.len(),
        mean.len(),
        out.display()
    );
    for dir in &dirs {
        println!("  {}", dir.display());
    }
    Ok(())
}

fn read_weights(dir: &Path) -> Result<Vec<(String, Tensor)>> {
    let path = dir.join("model.safetensors");
    Ok(tensor::io::load(&path, &Device::Cpu)
        .with_context(|| format!("cannot read {}", path.display()))?
        .tensors)
}
