//! `s2s export --format pytorch`: a trained model as plain PyTorch, the way
//! out to tools this project does not have (distributed training, other
//! serving stacks).
//!
//! ```text
//! s2s export --format pytorch --model runs/dates --out exported/
//! python scripts/check_pytorch_export.py exported/     # PyTorch agrees with s2s
//! torchrun --nproc-per-node 8 scripts/torch_continue.py --export exported/ ...
//! ```
//!
//! The directory gets a self-contained `model.py` (only `torch.nn`
//! modules, whose `state_dict` names are exactly the names in our
//! safetensors, so `load_state_dict(strict=True)` checks every weight), the
//! weights, `config.json`, the vocabularies and tokenizers, the run's
//! training settings (`training.json`), and `check.json`: a few held-out
//! pairs with the loss and the greedy outputs our engine computes for them,
//! so that anyone can verify the PyTorch model computes the same
//! (scripts/check_pytorch_export.py does).
//! `--with-data` adds the run's training and validation pairs as ids
//! (`train.jsonl`, `valid.jsonl`), tokenized exactly as our trainer saw
//! them, for training on in PyTorch.
//!
//! `model.py` is put together from the templates in src/export/: the part
//! every model shares (vocabularies, batches, loss, greedy decoding), then
//! the model family's own classes.

use crate::translate_cmd::load_model;
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use seq2seq::data::{Batch, Example, Pair};
use seq2seq::decode::{decode, DecodeOptions};
use seq2seq::models::{ModelConfig, Source, Target};
use seq2seq::train::checkpoint::Checkpoint;
use seq2seq::train::TaskData;
use seq2seq::{Ctx, Module};
use serde_json::json;
use std::path::{Path, PathBuf};
use tensor::Device;

/// What every model.py holds: vocabularies, batches, loss, greedy search.
const COMMON: &str = include_str!("export/common.py");
/// nn.GRU / nn.LSTM helpers of the two recurrent families.
const RECURRENT: &str = include_str!("export/recurrent.py");
/// `ModelConfig::Rnn`: Sutskever's encoder–decoder.
const RNN: &str = include_str!("export/rnn.py");
/// `ModelConfig::Attn`: Bahdanau and Luong attention.
const ATTN: &str = include_str!("export/attn.py");
/// `ModelConfig::Transformer`.
const TRANSFORMER: &str = include_str!("export/transformer.py");

/// The held-out pairs `check.json` holds unless told otherwise.
const DEFAULT_CHECK_PAIRS: usize = 16;

/// Formats `s2s export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// model.py (torch.nn modules), model.safetensors, vocabularies.
    Pytorch,
}

/// `s2s export` options.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// What to write the model as.
    #[arg(long, value_enum, default_value = "pytorch")]
    pub format: Format,
    /// A run directory (its best/ checkpoint is used) or a checkpoint directory.
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// The directory to write (created; an earlier export there is replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Held-out pairs written to check.json with our loss and greedy
    /// outputs for them (0: no check.json).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CHECK_PAIRS)]
    pub check_pairs: usize,
    /// Also write the run's training and validation pairs as ids
    /// (train.jsonl, valid.jsonl: one {"src": [...], "tgt": [...]} a line).
    #[arg(long)]
    pub with_data: bool,
}

/// The model.py of a model of this configuration.
pub fn model_py(config: &ModelConfig) -> String {
    let family: &[&str] = match config {
        ModelConfig::Rnn(_) => &[RECURRENT, RNN],
        ModelConfig::Attn(_) => &[RECURRENT, ATTN],
        ModelConfig::Transformer(_) => &[TRANSFORMER],
    };
    let mut text = COMMON.to_string();
    for part in family {
        text.push_str(part);
    }
    text
}

/// Whether `dir` holds an earlier export, which may be written over: its
/// model.py and config.json, and no manifest.json (which every checkpoint has).
fn is_export(dir: &Path) -> bool {
    ["model.py", "config.json"]
        .iter()
        .all(|f| dir.join(f).is_file())
        && !dir.join("manifest.json").exists()
}

/// Creates `out`, refusing a directory that holds anything but an earlier
/// export (a run, a checkpoint, other files).
fn prepare_out(out: &Path) -> Result<()> {
    if out.is_dir() && !is_export(out) {
        if crate::guard::holds_run(out) {
            bail!(
                "--out {}: the directory holds a training run or checkpoint; export to another one",
                out.display()
            );
        }
        let empty = std::fs::read_dir(out)
            .with_context(|| format!("cannot list {}", out.display()))?
            .next()
            .is_none();
        if !empty {
            bail!(
                "--out {}: the directory is not empty and holds no earlier export; \
                 give a new or empty directory",
                out.display()
            );
        }
    } else if out.exists() && !out.is_dir() {
        bail!("--out {}: exists and is not a directory", out.display());
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    tensor::io::write_atomic(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Rebuilds the run's data (its saved settings and vocabularies), or says
/// why it cannot.
fn task_data(ck: &Checkpoint) -> Result<TaskData> {
    let Some(state) = &ck.state else {
        bail!("{} has no training state (state.json)", ck.dir.display());
    };
    TaskData::prepare(&state.data, Some(ck.lexicon.clone()))
        .context("cannot rebuild the run's pairs from its saved data settings")
}

/// The example of a held-out pair, numbered by the checkpoint's lexicon.
fn example(ck: &Checkpoint, pair: &Pair) -> Example {
    let lx = &ck.lexicon;
    Example::from_pair(
        pair,
        (&lx.src_tokenizer, &lx.src_vocab),
        (&lx.tgt_tokenizer, &lx.tgt_vocab),
    )
}

/// check.json: up to `n` held-out pairs (those the model can read: within
/// a Transformer's positional table), our teacher-forced loss over them as
/// one batch (evaluation mode, no label smoothing) and our greedy outputs
/// with `s2s translate --beam 1`'s length limits.
/// None when no held-out pair fits.
fn check_record(ck: &Checkpoint, test: &[Pair], n: usize) -> Result<Option<serde_json::Value>> {
    let cap = match ck.model.config() {
        ModelConfig::Transformer(c) => c.max_len,
        _ => usize::MAX,
    };
    let examples: Vec<Example> = test
        .iter()
        .map(|p| example(ck, p))
        .filter(|e| e.src.len() < cap && e.tgt.len() < cap)
        .take(n)
        .collect();
    if examples.is_empty() {
        return Ok(None);
    }
    let device = Device::Cpu;
    let indices: Vec<usize> = (0..examples.len()).collect();
    let batch = Batch::collate(&examples, &indices, true);
    let src = Source::from_batch(&batch, &device)?;
    let target = Target::from_batch(&batch, &device)?;
    let loss = tensor::no_grad(|| ck.model.loss(&src, &target, 0.0, &mut Ctx::eval()))?.item()?;
    let smoothed = tensor::no_grad(|| {
        ck.model
            .loss(&src, &target, CHECK_SMOOTHING, &mut Ctx::eval())
    })?
    .item()?;
    let grad_norms = gradient_norms(ck, &src, &target)?;
    let opts = DecodeOptions::default();
    let greedy: Vec<Vec<u32>> = decode(&ck.model, &src, &opts)?
        .into_iter()
        .map(|h| h.tokens)
        .collect();
    let pairs: Vec<serde_json::Value> = examples
        .iter()
        .zip(&greedy)
        .map(|(e, g)| json!({"src": e.src, "tgt": e.tgt, "greedy": g}))
        .collect();
    Ok(Some(json!({
        "about": "held-out pairs (ids without <bos>/<eos>; the source gets its <eos> when \
                  batched), the mean cross-entropy per target token s2s computes for them \
                  as one batch in evaluation mode (without and with label smoothing), the \
                  L2 norm of the gradient of the first with respect to each weight, and \
                  s2s's greedy output of each source",
        "loss": loss,
        "label_smoothing": CHECK_SMOOTHING,
        "loss_smoothed": smoothed,
        "grad_norms": grad_norms,
        "max_len": opts.max_len,
        "max_len_ratio": opts.max_len_ratio,
        "pairs": pairs,
    })))
}

/// The label smoothing of check.json's second loss.
const CHECK_SMOOTHING: f32 = 0.1;

/// The L2 norm of the gradient of the (unsmoothed, evaluation-mode) loss
/// with respect to each weight, by name: what a training step would start
/// from, so that backward passes can be compared too.
fn gradient_norms(
    ck: &Checkpoint,
    src: &Source,
    target: &Target,
) -> Result<serde_json::Map<String, serde_json::Value>> {
    let named = ck.model.named_parameters();
    for (_, t) in &named {
        t.zero_grad();
    }
    ck.model
        .loss(src, target, 0.0, &mut Ctx::eval())?
        .backward()?;
    let mut norms = serde_json::Map::new();
    for (name, t) in &named {
        let sum: f64 = match t.grad() {
            Some(g) => g
                .to_vec()
                .iter()
                .map(|&v| f64::from(v) * f64::from(v))
                .sum(),
            None => 0.0,
        };
        norms.insert(name.clone(), json!(sum.sqrt()));
        t.zero_grad();
    }
    Ok(norms)
}

/// `record` as pretty JSON but with each of its `"pairs"` on one line, so
/// that the file reads pair by pair.
fn one_pair_a_line(record: &serde_json::Value) -> Result<String> {
    let mut head = record.clone();
    let pairs = head
        .as_object_mut()
        .and_then(|o| o.remove("pairs"))
        .and_then(|p| p.as_array().cloned())
        .unwrap_or_default();
    let head = serde_json::to_string_pretty(&head)?;
    let lines: Vec<String> = pairs.iter().map(|p| format!("    {p}")).collect();
    let body = head.strip_suffix("\n}").unwrap_or(&head);
    Ok(format!(
        "{body},\n  \"pairs\": [\n{}\n  ]\n}}\n",
        lines.join(",\n")
    ))
}

/// One `{"src": [...], "tgt": [...]}` per line.
fn jsonl(examples: &[Example]) -> String {
    examples
        .iter()
        .map(|e| json!({"src": e.src, "tgt": e.tgt}).to_string() + "\n")
        .collect()
}

/// Files only some exports hold: removed from an earlier export first, so
/// that none is left from another model.
const OPTIONAL_FILES: [&str; 4] = ["check.json", "training.json", "train.jsonl", "valid.jsonl"];

/// Runs `s2s export`.
pub fn run(args: ExportArgs) -> Result<()> {
    let Format::Pytorch = args.format;
    crate::checks::count("--check-pairs", args.check_pairs, 0, 1 << 16)?;
    let ck = load_model(&args.model, &Device::Cpu)?;
    prepare_out(&args.out)?;
    let out = &args.out;
    for name in OPTIONAL_FILES {
        let path = out.join(name);
        if path.is_file() {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    let config = ck.model.config();
    write_text(&out.join("model.py"), &model_py(&config))?;
    let weights = out.join("model.safetensors");
    ck.model
        .save_safetensors(&weights)
        .with_context(|| format!("cannot write {}", weights.display()))?;
    let config_text = serde_json::to_string_pretty(&config)? + "\n";
    write_text(&out.join("config.json"), &config_text)?;
    let lx = &ck.lexicon;
    lx.src_vocab.save(out.join("src_vocab.json"))?;
    lx.tgt_vocab.save(out.join("tgt_vocab.json"))?;
    lx.src_tokenizer.save(out.join("src_tokenizer.json"))?;
    lx.tgt_tokenizer.save(out.join("tgt_tokenizer.json"))?;
    let mut written = vec![
        "model.py",
        "model.safetensors",
        "config.json",
        "vocabularies",
    ];
    if let Some(state) = &ck.state {
        // Through text, so that the f32 settings keep their shortest form
        // (0.003, not the f64 widening 0.003000000026077032).
        let train: serde_json::Value = serde_json::from_str(&serde_json::to_string(&state.train)?)?;
        let training = json!({
            "about": "where and how s2s trained this model (its state.json): the step and \
                      epoch reached, and the training settings",
            "step": state.step,
            "epoch": state.epoch,
            "train": train,
        });
        let text = serde_json::to_string_pretty(&training)? + "\n";
        write_text(&out.join("training.json"), &text)?;
        written.push("training.json");
    }

    if args.check_pairs > 0 || args.with_data {
        match task_data(&ck) {
            Ok(task) => {
                if args.check_pairs > 0 {
                    match check_record(&ck, &task.test, args.check_pairs)? {
                        Some(record) => {
                            write_text(&out.join("check.json"), &one_pair_a_line(&record)?)?;
                            written.push("check.json");
                        }
                        None => eprintln!(
                            "note: no check.json written: no held-out pair fits the model"
                        ),
                    }
                }
                if args.with_data {
                    write_text(&out.join("train.jsonl"), &jsonl(&task.train))?;
                    write_text(&out.join("valid.jsonl"), &jsonl(&task.valid))?;
                    written.extend(["train.jsonl", "valid.jsonl"]);
                }
            }
            Err(e) if args.with_data => return Err(e.context("--with-data")),
            Err(e) => eprintln!("note: no check.json written: {e:#}"),
        }
    }
    println!(
        "exported {} ({}, {} weights) as PyTorch to {}: {}",
        ck.dir.display(),
        config.name(),
        ck.model.num_parameters(),
        out.display(),
        written.join(", ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use seq2seq::models::{CellKind, RnnSeq2SeqConfig};

    #[test]
    fn model_py_holds_the_shared_part_and_only_its_family() {
        let rnn = ModelConfig::Rnn(RnnSeq2SeqConfig {
            cell: CellKind::Gru,
            src_vocab: 10,
            tgt_vocab: 10,
            embed_size: 4,
            hidden_size: 4,
            num_layers: 1,
            dropout: 0.0,
            reverse_source: false,
            teacher_forcing: 1.0,
        });
        let text = model_py(&rnn);
        assert!(text.starts_with(COMMON));
        assert!(text.contains("class RnnSeq2Seq") && text.contains("def run_packed"));
        assert!(!text.contains("class AttnSeq2Seq") && !text.contains("class TransformerSeq2Seq"));
    }
}
