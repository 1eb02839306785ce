//! Every checkpoint file damaged every way we can think of — truncated,
//! bits flipped, headers that lie, absurd configuration and state values —
//! and loaded by `translate`, `eval` and `train --resume`: each must end in
//! an error naming the file (exit 1, or 2 for clap) and never in a panic
//! (101) or the allocator's abort (134). Random damage without a manifest
//! may still load (a flipped weight is a valid weight); it must then not
//! crash either.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};

const FILES: [&str; 8] = [
    "model.safetensors",
    "optimizer.safetensors",
    "config.json",
    "state.json",
    "src_vocab.json",
    "tgt_vocab.json",
    "src_tokenizer.json",
    "tgt_tokenizer.json",
];

/// One trained checkpoint (a run's last/), made once per test.
fn trained(dir: &Path) -> PathBuf {
    let run = dir.join("run");
    let sizes = [
        "--train-size",
        "200",
        "--held-out-size",
        "20",
        "--max-steps",
        "2",
    ];
    train_ok(&run, &[&sizes[..], &WIDTH_8].concat());
    run.join("last")
}

/// Numbers the copies: their paths must not contain the names of the
/// files damaged, or an error naming only the directory would pass.
static COPIES: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory `dir/{prefix}-N` (no file name in it, see [`COPIES`]).
fn fresh(dir: &Path, prefix: &str) -> PathBuf {
    dir.join(format!(
        "{prefix}-{}",
        COPIES.fetch_add(1, Ordering::Relaxed)
    ))
}

/// A copy of checkpoint `good` in `dir`, without its manifest unless
/// `manifest`.
fn copy(good: &Path, dir: &Path, manifest: bool) -> PathBuf {
    let to = fresh(dir, "ck");
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(good).unwrap() {
        let entry = entry.unwrap();
        if manifest || entry.file_name() != "manifest.json" {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    to
}

fn translate(ck: &Path) -> Output {
    s2s(&[
        "translate",
        "--device",
        "cpu",
        "--beam",
        "2",
        "--model",
        ck.to_str().unwrap(),
        "3/3/21",
    ])
}

fn resume(ck: &Path, out: &Path) -> Output {
    s2s(&[
        "train",
        "--resume",
        ck.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--max-steps",
        "3",
        "--device",
        "cpu",
        "--quiet",
    ])
}

/// Exit 0, 1 or 2 and no panic; an error must say what went wrong.
fn no_crash(what: &str, o: &Output) -> Option<String> {
    let (_, err) = text(o);
    let code = o.status.code();
    assert!(
        matches!(code, Some(0..=2)),
        "{what}: exit {code:?} (101 is a panic, 134 or a signal an abort):\n{err}"
    );
    assert!(!err.contains("panicked"), "{what}: {err}");
    match code {
        Some(0) => None,
        _ => {
            assert!(err.contains("Error"), "{what}: no error message:\n{err}");
            Some(err)
        }
    }
}

/// Must be refused, naming `file`.
fn refused(what: &str, o: &Output, file: &str) -> String {
    let err = no_crash(what, o).unwrap_or_else(|| panic!("{what}: loaded"));
    assert!(
        err.contains(file),
        "{what}: the error does not name {file}:\n{err}"
    );
    eprintln!("{what}: {}", err.trim_end().lines().last().unwrap_or(""));
    err
}

/// A seeded xorshift, so each run of the suite damages the same bytes.
struct Bits(u64);
impl Bits {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// With the manifest, any truncation or flipped bit of any file is caught
/// by its checksum before the file is parsed.
#[test]
fn damage_to_any_file_is_caught_by_the_manifest() {
    let dir = scratch_dir("cli-corruption", "manifest");
    let good = trained(&dir);
    let mut bits = Bits(0x5eed);
    for file in FILES {
        let bytes = std::fs::read(good.join(file)).unwrap();
        for damaged in [bytes[..bytes.len() / 2].to_vec(), {
            let mut b = bytes.clone();
            let at = bits.below(b.len());
            b[at] ^= 1 << bits.below(8);
            b
        }] {
            let ck = copy(&good, &dir, true);
            std::fs::write(ck.join(file), damaged).unwrap();
            let err = refused(file, &translate(&ck), file);
            assert!(
                err.contains("checksum mismatch") || err.contains("truncated"),
                "{file}: {err}"
            );
        }
    }
    let o = resume(&copy(&good, &dir, true), &dir.join("out"));
    assert!(o.status.success(), "{}", text(&o).1);
}

/// Without a manifest each file's own checks stand alone: truncations at
/// every boundary and random bit flips never crash translate or resume.
#[test]
fn truncations_and_bit_flips_never_crash() {
    let dir = scratch_dir("cli-corruption", "flips");
    let good = trained(&dir);
    let mut bits = Bits(0xdead_beef);
    for file in FILES {
        let bytes = std::fs::read(good.join(file)).unwrap();
        let mut cases: Vec<Vec<u8>> = [0, 1, 7, 8, 9, bytes.len() / 2, bytes.len() - 2]
            .iter()
            .map(|&n| bytes[..n.min(bytes.len())].to_vec())
            .collect();
        for _ in 0..3 {
            let mut b = bytes.clone();
            for _ in 0..4 {
                let at = bits.below(b.len());
                b[at] ^= 1 << bits.below(8);
            }
            cases.push(b);
        }
        for (i, damaged) in cases.into_iter().enumerate() {
            let ck = copy(&good, &dir, false);
            std::fs::write(ck.join(file), &damaged).unwrap();
            let what = format!("{file} case {i} ({} bytes)", damaged.len());
            let o = if file == "optimizer.safetensors" || file == "state.json" {
                resume(&ck, &fresh(&dir, "out"))
            } else {
                translate(&ck)
            };
            if i < 7 {
                // A truncated file is never a valid one.
                refused(&what, &o, file);
            } else {
                no_crash(&what, &o);
            }
        }
    }
}

/// The safetensors header of `bytes` as JSON, and the data after it.
fn split_safetensors(bytes: &[u8]) -> (serde_json::Value, Vec<u8>) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    (header, bytes[8 + n..].to_vec())
}

fn join_safetensors(header: &serde_json::Value, data: &[u8]) -> Vec<u8> {
    let h = serde_json::to_vec(header).unwrap();
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend(h);
    out.extend(data);
    out
}

/// Headers that lie about lengths, shapes, offsets and dtypes, and weights
/// that are NaN: each is refused naming the file, before anything of the
/// size it claims is allocated.
#[test]
fn safetensors_headers_that_lie_are_refused() {
    let dir = scratch_dir("cli-corruption", "headers");
    let good = trained(&dir);
    for file in ["model.safetensors", "optimizer.safetensors"] {
        let bytes = std::fs::read(good.join(file)).unwrap();
        let (header, data) = split_safetensors(&bytes);
        let first = header
            .as_object()
            .unwrap()
            .keys()
            .find(|k| *k != "__metadata__")
            .unwrap()
            .clone();
        let edit = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut h = header.clone();
            f(&mut h[&first]);
            join_safetensors(&h, &data)
        };
        let mut huge_len = bytes.clone();
        huge_len[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        let mut long_len = bytes.clone();
        long_len[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
        let nan: Vec<u8> = data
            .chunks(4)
            .flat_map(|_| f32::NAN.to_le_bytes())
            .collect();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("header length u64::MAX", huge_len),
            ("header length 1 TiB", long_len),
            (
                "huge shape",
                edit(&|t| t["shape"] = serde_json::json!([1u64 << 31, 1u64 << 31, 1u64 << 31])),
            ),
            (
                "offsets past the end",
                edit(&|t| t["data_offsets"] = serde_json::json!([0, 1u64 << 40])),
            ),
            (
                "offsets reversed",
                edit(&|t| t["data_offsets"] = serde_json::json!([8, 4])),
            ),
            (
                "wrong dtype",
                edit(&|t| t["dtype"] = serde_json::json!("F16")),
            ),
            (
                "integer dtype",
                edit(&|t| t["dtype"] = serde_json::json!("I64")),
            ),
            (
                "negative shape",
                edit(&|t| t["shape"] = serde_json::json!([-1])),
            ),
            ("no shape", edit(&|t| t["shape"] = serde_json::Value::Null)),
            (
                "header not an object",
                join_safetensors(&serde_json::json!([1, 2]), &data),
            ),
            ("all NaN", join_safetensors(&header, &nan)),
            ("a tensor missing", {
                let mut h = header.clone();
                h.as_object_mut().unwrap().remove(&first);
                join_safetensors(&h, &data)
            }),
        ];
        for (what, damaged) in cases {
            let ck = copy(&good, &dir, false);
            std::fs::write(ck.join(file), damaged).unwrap();
            let what = format!("{file}: {what}");
            let o = match file {
                "model.safetensors" => translate(&ck),
                _ => resume(&ck, &fresh(&dir, "out")),
            };
            refused(&what, &o, file);
        }
    }
}

/// config.json and state.json with absurd values: sizes no model can
/// have, zero, negative, of the wrong type, vocabularies that do not match.
#[test]
fn absurd_configuration_and_state_values_are_refused() {
    let dir = scratch_dir("cli-corruption", "values");
    let good = trained(&dir);
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(good.join("config.json")).unwrap()).unwrap();
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(good.join("state.json")).unwrap()).unwrap();
    let set = |v: &serde_json::Value, path: &[&str], x: serde_json::Value| {
        let mut v = v.clone();
        let mut at = &mut v;
        for p in path {
            at = &mut at[*p];
        }
        *at = x;
        v
    };
    use serde_json::json;
    let config_cases = [
        (&["hidden_size"][..], json!(1_000_000_000_000u64)),
        (&["hidden_size"], json!(40_000)),
        (&["hidden_size"], json!(0)),
        (&["hidden_size"], json!(-1)),
        (&["hidden_size"], json!("sixteen")),
        (&["embed_size"], json!(1u64 << 40)),
        (&["num_layers"], json!(1_000_000_000)),
        (&["attn_size"], json!(0)),
        (&["src_vocab"], json!(3)),
        (&["tgt_vocab"], json!(1u64 << 40)),
        (&["dropout"], json!(1.5)),
        (&["teacher_forcing"], json!(-2)),
        (&["model"], json!("transformer")),
        (&["model"], json!("nonsense")),
    ];
    for (path, value) in config_cases {
        let ck = copy(&good, &dir, false);
        let text = serde_json::to_string(&set(&config, path, value.clone())).unwrap();
        std::fs::write(ck.join("config.json"), text).unwrap();
        refused(
            &format!("config {path:?} = {value}"),
            &translate(&ck),
            "config.json",
        );
    }
    let state_cases = [
        (
            &["train", "batch_size", "sentences"][..],
            json!(1_000_000_000_000u64),
        ),
        (&["train", "accumulate"], json!(0)),
        (&["train", "lr"], json!(1e30)),
        (&["train", "clip"], json!(-1)),
        (&["train", "log_every"], json!(0)),
        (&["data", "source", "train"], json!(1_000_000_000_000u64)),
        (&["data", "max_len"], json!(0)),
        (&["data", "bpe_merges"], json!(1u64 << 40)),
        (&["format"], json!("something else")),
        (&["rng"], json!("not a generator")),
        (&["step"], json!(-5)),
    ];
    for (path, value) in state_cases {
        let ck = copy(&good, &dir, false);
        let text = serde_json::to_string(&set(&state, path, value.clone())).unwrap();
        std::fs::write(ck.join("state.json"), text).unwrap();
        let what = format!("state {path:?} = {value}");
        refused(&what, &resume(&ck, &fresh(&dir, "out")), "state.json");
    }
}
