//! `--quantize int8` as a user runs it: a tiny dates Transformer (trained
//! once for this file) translated, evaluated and benchmarked with int8
//! weights; int8 with the GPU refused with the option named.

mod common;
use common::*;

use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    scratch_dir("cli-quantize", name)
}

/// The arguments of `s2s COMMAND` (`translate`, `eval`, `bench translate`)
/// on a 1+1-layer Transformer of the dates task (trained once per test
/// binary) with `--quantize QUANTIZE`, then `extra`.
fn quantized<'a>(command: &[&'a str], quantize: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let model = tiny_dates_transformer("cli-quantize").to_str().unwrap();
    let mut args = command.to_vec();
    args.extend(["--model", model, "--quantize", quantize]);
    args.extend_from_slice(extra);
    args
}

fn ok(args: &[&str]) -> String {
    let o = s2s(args);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{args:?} failed:\n{out}\n{err}");
    out
}

#[test]
fn translate_and_eval_run_in_int8() {
    let dates = ["3/3/21", "the 4th of May 1999"];
    for beam in ["1", "5"] {
        let mut extra = vec!["--beam", beam];
        extra.extend(dates);
        let out = ok(&quantized(&["translate"], "int8", &extra));
        assert_eq!(out.lines().count(), dates.len(), "beam {beam}:\n{out}");
    }
    let out = ok(&quantized(&["eval"], "int8", &["--beam", "1"]));
    for want in ["test set: ", "BLEU = ", "exact match"] {
        assert!(out.contains(want), "no {want:?} in:\n{out}");
    }
}

#[test]
fn bench_translate_times_f32_and_int8_in_the_same_rounds() {
    let dir = scratch("bench");
    let src = dir.join("test.src");
    std::fs::write(&src, "3/4/99\n2 June 1999\nJanuary 5, 1987\n").unwrap();
    let json = dir.join("bench.jsonl");
    let out = ok(&quantized(
        &["bench", "translate"],
        "f32,int8",
        &[
            "--test-src",
            src.to_str().unwrap(),
            "--beam",
            "1,5",
            "--threads",
            "1",
            "--rounds",
            "1",
            "--json",
            json.to_str().unwrap(),
        ],
    ));
    assert!(out.contains("int8 kernel "), "{out}");
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&json)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut cases: Vec<(String, u64)> = records
        .iter()
        .map(|r| {
            (
                r["weights"].as_str().unwrap().to_string(),
                r["beam"].as_u64().unwrap(),
            )
        })
        .collect();
    cases.sort();
    let want = [("f32", 1), ("f32", 5), ("int8", 1), ("int8", 5)].map(|(w, b)| (w.to_string(), b));
    assert_eq!(cases, want, "{out}");
    assert!(records.iter().all(|r| r["sentences"] == 3), "{records:?}");
}

#[test]
fn int8_on_the_gpu_is_refused() {
    let src = scratch("gpu").join("test.src");
    std::fs::write(&src, "3/4/99\n").unwrap();
    let src = src.to_str().unwrap();
    for args in [
        quantized(&["translate"], "int8", &["--device", "gpu", "3/3/21"]),
        quantized(&["eval"], "int8", &["--device", "gpu"]),
        quantized(
            &["bench", "translate"],
            "int8",
            &["--test-src", src, "--device", "gpu"],
        ),
    ] {
        let o = s2s(&args);
        let (_, err) = text(&o);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(
            err.contains("--quantize int8 runs on the CPU only"),
            "{args:?}: {err}"
        );
    }
}
