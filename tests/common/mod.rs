//! What the CLI tests share: running the built `s2s`, its output as text,
//! a fresh scratch directory per test, the tiny models they train, and (in
//! [`figures`]) what they read back from the figures it draws.
#![allow(dead_code)]

pub mod figures;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Runs the `s2s` binary of this build with `args`.
pub fn s2s(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_s2s"))
        .args(args)
        .output()
        .expect("s2s runs")
}

/// (stdout, stderr) as text.
pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

/// `s2s translate --device cpu --model RUN SENTENCE`, which must succeed and
/// print one line; its (stdout, stderr).
pub fn translate_one(run: &Path, sentence: &str) -> (String, String) {
    let model = run.to_str().unwrap();
    let o = s2s(&["translate", "--device", "cpu", "--model", model, sentence]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    (out, err)
}

/// An empty directory for test `name` of the test file `file`, unique to
/// this process.
pub fn scratch_dir(file: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("s2s-{file}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `s2s train` on the CPU, quietly, into `out`, with `flags` (the task and
/// the sizes) before the destination.
pub fn train(out: &std::path::Path, flags: &[&str]) -> Output {
    let out = out.to_str().expect("a UTF-8 scratch path");
    let mut args = vec!["train"];
    args.extend_from_slice(flags);
    args.extend(["--device", "cpu", "--quiet", "--out", out]);
    s2s(&args)
}

/// Like [`train`], failing the test (with the run's output) when training fails.
pub fn train_ok(out: &std::path::Path, flags: &[&str]) {
    let o = train(out, flags);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "training failed:\n{stdout}\n{stderr}");
}

/// The widths of the smallest GRU-attention model the tests train.
pub const WIDTH_8: [&str; 6] = [
    "--embed-size",
    "8",
    "--hidden-size",
    "8",
    "--attn-size",
    "8",
];

/// A 1+1-layer Transformer with 2 heads, 16 wide: the smallest the tests train.
pub const TINY_TRANSFORMER: [&str; 12] = [
    "--model",
    "transformer",
    "--d-model",
    "16",
    "--heads",
    "2",
    "--ff-size",
    "32",
    "--enc-layers",
    "1",
    "--dec-layers",
    "1",
];

/// Trains a tiny model of the dates task (300 pairs, one epoch, embeddings
/// of 8) into `out`, with `extra` flags choosing the model.
pub fn tiny_dates_model(out: &std::path::Path, extra: &[&str]) {
    let mut flags = vec![
        "--train-size",
        "300",
        "--held-out-size",
        "20",
        "--epochs",
        "1",
        "--embed-size",
        "8",
    ];
    flags.extend_from_slice(extra);
    train_ok(out, &flags);
}

/// The tiny dates model with [`TINY_TRANSFORMER`]'s layers, trained on the
/// first call into the scratch directory `model` of the test file `file`,
/// and shared by every later call of the test binary.
pub fn tiny_dates_transformer(file: &str) -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let out = scratch_dir(file, "model").join("run");
        tiny_dates_model(&out, &TINY_TRANSFORMER);
        out
    })
}
