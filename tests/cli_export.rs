//! `s2s export --format pytorch` as a user runs it. For every model family
//! (the RNN encoder–decoder with GRU and LSTM cells, attention with each
//! score and cell, the pre- and post-norm Transformer) a small model of the
//! built-in dates task is trained, exported and handed to the committed
//! scripts/check_pytorch_export.py, which loads model.py and the weights in
//! PyTorch and shows that PyTorch's loss on held-out pairs equals ours
//! within 1e-5 (with and without label smoothing), that the gradient of
//! every weight has our norm within 1e-4 (relative), and that its greedy
//! outputs are `s2s translate --beam 1`'s.
//! scripts/torch_continue.py then trains an export one step with
//! DistributedDataParallel (gloo, one CPU process).
//!
//! The PyTorch tests need `python3` with torch and safetensors (or the
//! interpreter in `S2S_PYTHON`); without them they print why and pass. The
//! tests of the files written and of the directories refused need neither.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    scratch_dir("cli-export", name)
}

fn python() -> String {
    std::env::var("S2S_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Why the PyTorch checks cannot run here, or None when they can.
fn torch_missing() -> Option<String> {
    let probe = Command::new(python())
        .args(["-c", "import torch, safetensors"])
        .output();
    match probe {
        Err(e) => Some(format!("no {} ({e})", python())),
        Ok(o) if !o.status.success() => Some(format!(
            "{} cannot import torch and safetensors: {}",
            python(),
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Ok(_) => None,
    }
}

/// True (after saying why) when the test must skip.
fn skip_without_torch(test: &str) -> bool {
    match torch_missing() {
        Some(why) => {
            eprintln!("skipped {test}: {why}");
            true
        }
        None => false,
    }
}

fn script(name: &str) -> String {
    format!("{}/scripts/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 scratch path")
}

/// Source sentences for `s2s translate`, in the dates task's formats.
const SENTENCES: [&str; 6] = [
    "3/3/21",
    "March 3rd, 2021",
    "the 4th of May 1999",
    "12.11.1987",
    "Wed, 3 Mar 2021",
    "1 January 2000",
];

/// An exported model and `s2s translate --beam 1 --json`'s output for it.
struct Exported {
    dir: PathBuf,
    translations: PathBuf,
}

/// Trains a small dates model with `flags` in `root/name`, exports it and
/// translates [`SENTENCES`] greedily with it.
fn train_and_export(root: &Path, name: &str, flags: &[&str]) -> Exported {
    let run = root.join(name).join("run");
    let mut all = vec![
        "--train-size",
        "1500",
        "--epochs",
        "3",
        "--hidden-size",
        "16",
        "--attn-size",
        "16",
    ];
    all.extend_from_slice(flags);
    tiny_dates_model(&run, &all);
    let dir = root.join(name).join("export");
    let o = s2s(&["export", "--model", path(&run), "--out", path(&dir)]);
    let (stdout, stderr) = text(&o);
    assert!(
        o.status.success(),
        "{name}: export failed:\n{stdout}\n{stderr}"
    );
    let mut args = vec!["translate", "--model", path(&run), "--device", "cpu"];
    args.extend(["--beam", "1", "--json"]);
    args.extend(SENTENCES);
    let o = s2s(&args);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{name}: translate failed:\n{stderr}");
    assert_eq!(stdout.lines().count(), SENTENCES.len(), "{stdout}");
    let translations = root.join(name).join("translations.jsonl");
    std::fs::write(&translations, stdout).unwrap();
    Exported { dir, translations }
}

/// Runs scripts/check_pytorch_export.py on every export; fails the test
/// with the script's output when PyTorch and s2s disagree.
fn check_in_pytorch(exports: &[Exported]) {
    let mut cmd = Command::new(python());
    cmd.arg(script("check_pytorch_export.py"));
    for e in exports {
        cmd.arg(&e.dir);
    }
    for e in exports {
        cmd.arg("--translations").arg(&e.translations);
    }
    let o = cmd.output().expect("python runs");
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "check failed:\n{stdout}\n{stderr}");
    assert!(stdout.trim_end().ends_with("OK"), "{stdout}");
    for e in exports {
        assert!(stdout.contains(path(&e.dir)), "{stdout}");
    }
    for line in [
        "with label smoothing",
        "gradient norms of",
        "held-out sources: identical",
        "s2s translate: identical",
    ] {
        let n = stdout.matches(line).count();
        assert_eq!(n, exports.len(), "{line:?} {n} times:\n{stdout}");
    }
    println!("{stdout}");
}

#[test]
fn rnn_models_compute_in_pytorch_what_they_compute_here() {
    if skip_without_torch("rnn_models_compute_in_pytorch_what_they_compute_here") {
        return;
    }
    let root = scratch("rnn");
    check_in_pytorch(&[
        train_and_export(&root, "gru", &["--model", "gru"]),
        train_and_export(
            &root,
            "lstm",
            &["--model", "lstm", "--layers", "2", "--reverse-source"],
        ),
    ]);
}

#[test]
fn attention_models_compute_in_pytorch_what_they_compute_here() {
    if skip_without_torch("attention_models_compute_in_pytorch_what_they_compute_here") {
        return;
    }
    let root = scratch("attn");
    let mut exports = Vec::new();
    for score in ["bahdanau", "dot", "general", "concat"] {
        for model in ["gru-attn", "lstm-attn"] {
            let name = format!("{model}-{score}");
            let flags = ["--model", model, "--attention", score];
            exports.push(train_and_export(&root, &name, &flags));
        }
    }
    // one direction, two layers, no input feeding: the other code paths
    let flags = [
        "--model",
        "lstm-attn",
        "--attention",
        "general",
        "--bidirectional",
        "false",
        "--layers",
        "2",
        "--input-feeding",
        "false",
    ];
    exports.push(train_and_export(&root, "lstm-general-plain", &flags));
    check_in_pytorch(&exports);
}

#[test]
fn transformers_compute_in_pytorch_what_they_compute_here() {
    if skip_without_torch("transformers_compute_in_pytorch_what_they_compute_here") {
        return;
    }
    let root = scratch("transformer");
    let tiny = |extra: &[&'static str]| {
        let mut flags = TINY_TRANSFORMER.to_vec();
        flags.extend(["--dec-layers", "2"]);
        flags.extend_from_slice(extra);
        flags
    };
    check_in_pytorch(&[
        train_and_export(&root, "pre-norm", &tiny(&["--norm-first", "true"])),
        train_and_export(&root, "post-norm", &tiny(&["--norm-first", "false"])),
        train_and_export(
            &root,
            "shared-tied",
            &tiny(&["--share-embeddings", "--tie-output"]),
        ),
    ]);
}

#[test]
fn torch_continue_trains_an_export_with_ddp_on_cpu() {
    if skip_without_torch("torch_continue_trains_an_export_with_ddp_on_cpu") {
        return;
    }
    let root = scratch("continue");
    let run = root.join("run");
    let mut flags = TINY_TRANSFORMER.to_vec();
    flags.push("--tie-output");
    tiny_dates_model(&run, &flags);
    let export = root.join("export");
    let o = s2s(&[
        "export",
        "--model",
        path(&run),
        "--out",
        path(&export),
        "--with-data",
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let out = root.join("continued");
    let o = Command::new(python())
        .args([
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc-per-node",
            "1",
        ])
        .arg(script("torch_continue.py"))
        .args(["--export", path(&export), "--out", path(&out)])
        .args(["--max-steps", "1", "--device", "cpu"])
        .output()
        .expect("python runs");
    let (stdout, stderr) = text(&o);
    assert!(
        o.status.success(),
        "torch_continue failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("world size 1 on cpu"), "{stdout}");
    assert!(stdout.contains("step 1: loss"), "{stdout}");
    assert!(stdout.contains("validation loss"), "{stdout}");
    assert!(stdout.contains("trained 1 steps"), "{stdout}");
    // the continued model is an export again, with new weights
    for f in [
        "model.py",
        "config.json",
        "model.safetensors",
        "tgt_vocab.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing in {}", out.display());
    }
    let before = std::fs::read(export.join("model.safetensors")).unwrap();
    let after = std::fs::read(out.join("model.safetensors")).unwrap();
    assert_ne!(before, after, "one step changed no weight");
    let o = Command::new(python())
        .arg(script("check_pytorch_export.py"))
        .arg(&out)
        .output()
        .expect("python runs");
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("every name matched"), "{stdout}");
}

/// The tensor names of a safetensors file, sorted (read from its header).
fn tensor_names(file: &Path) -> Vec<String> {
    let bytes = std::fs::read(file).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let mut names: Vec<String> = header
        .keys()
        .filter(|k| *k != "__metadata__")
        .cloned()
        .collect();
    names.sort();
    names
}

#[test]
fn export_writes_the_model_its_vocabularies_and_a_check_record() {
    let root = scratch("files");
    let run = root.join("run");
    tiny_dates_model(&run, &["--hidden-size", "8", "--attn-size", "8"]);
    let out = root.join("export");
    let o = s2s(&["export", "--model", path(&run), "--out", path(&out)]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("gru-attn-bahdanau"), "{stdout}");
    for f in [
        "model.py",
        "model.safetensors",
        "config.json",
        "src_vocab.json",
        "tgt_vocab.json",
        "src_tokenizer.json",
        "tgt_tokenizer.json",
        "training.json",
        "check.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing: {stdout}");
    }
    assert!(
        !out.join("train.jsonl").exists(),
        "data only with --with-data"
    );
    // the weights under the checkpoint's names, the family's classes only
    let best = run.join("best");
    assert_eq!(
        tensor_names(&out.join("model.safetensors")),
        tensor_names(&best.join("model.safetensors"))
    );
    let model_py = std::fs::read_to_string(out.join("model.py")).unwrap();
    assert!(model_py.contains("class AttnSeq2Seq"), "{model_py}");
    assert!(!model_py.contains("class TransformerSeq2Seq"));
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["model"], "attn");
    assert_eq!(config["score"], "bahdanau");
    let check: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("check.json")).unwrap()).unwrap();
    let loss = check["loss"].as_f64().unwrap();
    assert!(loss.is_finite() && loss > 0.0, "{check}");
    let pairs = check["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 16, "the default --check-pairs");
    for p in pairs {
        assert!(!p["src"].as_array().unwrap().is_empty(), "{p}");
        assert!(p["greedy"].is_array(), "{p}");
    }
    let norms = check["grad_norms"].as_object().unwrap();
    let names = tensor_names(&best.join("model.safetensors"));
    assert_eq!(norms.len(), names.len(), "one norm per weight: {check}");
    for name in &names {
        let norm = norms[name].as_f64().unwrap();
        assert!(norm.is_finite() && norm >= 0.0, "{name}: {norm}");
    }
    assert!(norms.values().any(|n| n.as_f64().unwrap() > 0.0), "{check}");

    // --with-data: the run's pairs as ids; --check-pairs 0: no check.json
    let o = s2s(&[
        "export",
        "--model",
        path(&run),
        "--out",
        path(&out),
        "--with-data",
        "--check-pairs",
        "0",
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    assert!(
        !out.join("check.json").exists(),
        "left from the first export"
    );
    let train = std::fs::read_to_string(out.join("train.jsonl")).unwrap();
    assert_eq!(
        train.lines().count(),
        300,
        "the tiny model's training pairs"
    );
    let first: serde_json::Value = serde_json::from_str(train.lines().next().unwrap()).unwrap();
    assert!(
        first["src"].is_array() && first["tgt"].is_array(),
        "{first}"
    );
    let valid = std::fs::read_to_string(out.join("valid.jsonl")).unwrap();
    assert_eq!(
        valid.lines().count(),
        20,
        "the tiny model's validation pairs"
    );
}

#[test]
fn export_refuses_a_run_a_checkpoint_and_a_directory_of_other_files() {
    let root = scratch("refuses");
    let run = root.join("run");
    tiny_dates_model(&run, &["--hidden-size", "8", "--attn-size", "8"]);
    let export_to = |out: &Path| {
        let o = s2s(&["export", "--model", path(&run), "--out", path(out)]);
        assert!(!o.status.success(), "exported into {}", out.display());
        text(&o).1
    };
    let e = export_to(&run);
    assert!(e.contains("holds a training run or checkpoint"), "{e}");
    let e = export_to(&run.join("best"));
    assert!(e.contains("holds a training run or checkpoint"), "{e}");
    let other = root.join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "mine").unwrap();
    let e = export_to(&other);
    assert!(e.contains("not empty") && e.contains("other"), "{e}");
    assert_eq!(
        std::fs::read_to_string(other.join("notes.txt")).unwrap(),
        "mine"
    );
    let o = s2s(&[
        "export",
        "--model",
        path(&root.join("missing")),
        "--out",
        path(&root.join("x")),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("does not exist"), "{}", text(&o).1);
}
