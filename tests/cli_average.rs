//! `s2s average` as a user runs it, on tiny models of the dates task:
//! copies of one checkpoint average to it bit for bit, two checkpoints to
//! their element-wise mean, checkpoints of different models are refused
//! naming what differs, an existing --out is kept unless --overwrite, and
//! the averaged checkpoint translates and evaluates.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tensor::Device;

fn scratch(name: &str) -> PathBuf {
    scratch_dir("cli-average", name)
}

/// Trains a tiny GRU-attention model of the dates task into `name`, its
/// GRU `hidden` wide.
fn tiny_run(name: &str, hidden: &str, extra: &[&str]) -> PathBuf {
    let out = scratch(name).join("run");
    let mut flags = vec![
        "--train-size",
        "300",
        "--held-out-size",
        "20",
        "--embed-size",
        "8",
        "--hidden-size",
        hidden,
        "--attn-size",
        "16",
    ];
    flags.extend_from_slice(extra);
    train_ok(&out, &flags);
    out
}

/// One epoch, and the same model trained two epochs: same configuration
/// and vocabularies, different weights.
fn runs() -> &'static (PathBuf, PathBuf) {
    static RUNS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    RUNS.get_or_init(|| {
        (
            tiny_run("one-epoch", "16", &["--epochs", "1"]),
            tiny_run("two-epochs", "16", &["--epochs", "2"]),
        )
    })
}

fn average(args: &[&str]) -> std::process::Output {
    let mut all = vec!["average"];
    all.extend_from_slice(args);
    s2s(&all)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn weights(dir: &Path) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    tensor::io::load(dir.join("model.safetensors"), &Device::Cpu)
        .unwrap()
        .tensors
        .into_iter()
        .map(|(n, t)| (n, t.dims().to_vec(), t.to_vec()))
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

#[test]
fn copies_of_one_checkpoint_average_to_it_bit_for_bit() {
    let (run, _) = runs();
    let dir = scratch("copies");
    let copy = dir.join("copy");
    copy_dir(&run.join("best"), &copy);
    let out = dir.join("avg");
    // The run directory stands for its best/.
    let o = average(&["--out", s(&out), s(run), s(&copy), s(&run.join("best"))]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("averaged 3 checkpoints"), "{stdout}");
    let original = std::fs::read(run.join("best/model.safetensors")).unwrap();
    let averaged = std::fs::read(out.join("model.safetensors")).unwrap();
    assert!(original == averaged, "the mean of copies differs from them");
    for file in ["config.json", "src_vocab.json", "tgt_vocab.json"] {
        assert_eq!(
            std::fs::read_to_string(run.join("best").join(file)).unwrap(),
            std::fs::read_to_string(out.join(file)).unwrap(),
            "{file}"
        );
    }
    // A model to use, not a run to resume: no optimizer moments.
    assert!(!out.join("optimizer.safetensors").exists());
    assert!(
        !dir.join("avg.tmp").exists(),
        "the staging directory is left"
    );
}

#[test]
fn two_checkpoints_average_to_their_element_wise_mean() {
    let (a, b) = runs();
    let out = scratch("mean").join("avg");
    let o = average(&["--out", s(&out), s(a), s(b)]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let (wa, wb, wm) = (
        weights(&a.join("best")),
        weights(&b.join("best")),
        weights(&out),
    );
    assert_eq!(wa.len(), wm.len());
    let mut differing = 0;
    for ((na, sa, va), ((nb, _, vb), (nm, sm, vm))) in wa.iter().zip(wb.iter().zip(&wm)) {
        assert_eq!((na, sa), (nm, sm));
        assert_eq!(na, nb);
        for i in 0..va.len() {
            let want = ((f64::from(va[i]) + f64::from(vb[i])) / 2.0) as f32;
            assert_eq!(vm[i].to_bits(), want.to_bits(), "{na}[{i}]");
            differing += usize::from(va[i] != vb[i]);
        }
    }
    assert!(
        differing > 1000,
        "the two runs' weights barely differ: {differing}"
    );
}

#[test]
fn the_averaged_checkpoint_translates_and_evaluates() {
    let (a, b) = runs();
    let out = scratch("use").join("avg");
    let o = average(&["--out", s(&out), s(&a.join("last")), s(&b.join("last"))]);
    assert!(o.status.success(), "{}", text(&o).1);
    let o = s2s(&[
        "translate",
        "--device",
        "cpu",
        "--model",
        s(&out),
        "3/3/21",
        "the 4th of May 1999",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    // eval finds the run's test pairs through the state.json that came along.
    let o = s2s(&["eval", "--device", "cpu", "--model", s(&out), "--json"]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("bleu"), "{stdout}");
    // ...but it holds no optimizer state, and resuming says so.
    let o = s2s(&["train", "--resume", s(&out), "--device", "cpu", "--quiet"]);
    let (_, stderr) = text(&o);
    assert!(!o.status.success());
    assert!(stderr.contains("optimizer.safetensors"), "{stderr}");
}

#[test]
fn checkpoints_of_different_models_are_refused_naming_what_differs() {
    let (a, _) = runs();
    let wider = tiny_run("wider", "24", &["--epochs", "1"]);
    let dir = scratch("mismatch");
    let out = dir.join("avg");
    let o = average(&["--out", s(&out), s(a), s(&wider)]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("config.json"), "{stderr}");
    assert!(
        stderr.contains("hidden_size is 24 there but 16"),
        "{stderr}"
    );
    assert!(!out.exists());

    // Same configuration, but one tensor of another shape.
    let odd = dir.join("odd");
    copy_dir(&a.join("best"), &odd);
    let mut tensors = tensor::io::load(odd.join("model.safetensors"), &Device::Cpu)
        .unwrap()
        .tensors;
    let matrix = tensors
        .iter()
        .position(|(_, t)| t.dims().len() == 2)
        .unwrap();
    let (name, t) = &mut tensors[matrix];
    let name = name.clone();
    let n: usize = t.dims().iter().product();
    *t = tensor::Tensor::from_vec(t.to_vec(), vec![n], &Device::Cpu).unwrap();
    tensor::io::save(odd.join("model.safetensors"), &tensors, None).unwrap();
    let o = average(&["--out", s(&out), s(a), s(&odd)]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("tensor {name:?} has shape [{n}]")),
        "{stderr}"
    );
    assert!(stderr.contains(s(&odd)), "{stderr}");

    // A tensor missing.
    tensors.remove(matrix);
    tensor::io::save(odd.join("model.safetensors"), &tensors, None).unwrap();
    let o = average(&["--out", s(&out), s(a), s(&odd)]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("has no tensor {name:?}")),
        "{stderr}"
    );
    assert!(!out.exists());

    // Not a checkpoint at all.
    let o = average(&["--out", s(&out), s(a), s(&dir.join("nothing"))]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("nothing") && stderr.contains("does not exist"),
        "{stderr}"
    );

    // One checkpoint is a copy, not an average.
    let o = average(&["--out", s(&out), s(a)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o).1);
}

#[test]
fn an_existing_out_is_replaced_only_with_overwrite() {
    let (a, b) = runs();
    let dir = scratch("overwrite");
    let out = dir.join("avg");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "mine").unwrap();
    let o = average(&["--out", s(&out), s(a), s(b)]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--overwrite"), "{stderr}");
    assert!(out.join("keep.txt").exists());

    let o = average(&["--out", s(&out), "--overwrite", s(a), s(b)]);
    assert!(o.status.success(), "{}", text(&o).1);
    assert!(out.join("model.safetensors").exists());
    assert!(!out.join("keep.txt").exists());

    // A run directory as --out would lose the checkpoint being averaged.
    let o = average(&["--out", s(a), "--overwrite", s(&a.join("best")), s(b)]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("choose another --out"), "{stderr}");
    assert!(a.join("best/model.safetensors").exists());
}
