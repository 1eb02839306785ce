//! `s2s bench translate` as a user runs it: a tiny model of the dates task
//! (trained once for this file) translating a small test file, greedy and
//! beam in the same rounds, at two thread counts, with the table and the
//! JSON records checked; and bad input refused with the option or file
//! named.

mod common;
use common::*;

use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    scratch_dir("cli-bench-translate", name)
}

/// A 1+1-layer Transformer of the dates task (once per test binary).
fn model() -> &'static Path {
    tiny_dates_transformer("cli-bench-translate")
}

/// Seven dates, with blank lines among them (skipped).
const TEST_SRC: &str = "Tuesday, March 3 2021\n3/4/99\n\n2 June 1999\nJanuary 5, 1987\n  \n\
                        12.10.2003\nMonday 4 May 1970\n1 Jan 2000\n";
const SENTENCES: usize = 7;

fn test_file(dir: &Path) -> PathBuf {
    let file = dir.join("test.src");
    std::fs::write(&file, TEST_SRC).unwrap();
    file
}

fn records(json: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(json)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON record per line"))
        .collect()
}

/// Runs `s2s bench translate` of the tiny model on `src`, appending to
/// `json`, with `extra` options; fails the test if it fails, else returns
/// its standard output.
fn bench_ok(src: &Path, json: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "bench",
        "translate",
        "--model",
        model().to_str().unwrap(),
        "--test-src",
        src.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = s2s(&args);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    stdout
}

#[test]
fn greedy_and_beam_at_two_thread_counts_give_a_table_and_a_record_per_case() {
    let dir = scratch("cases");
    let (src, json) = (test_file(&dir), dir.join("out.json"));
    let stdout = bench_ok(
        &src,
        &json,
        &["--beam", "1,3", "--threads", "1,2", "--rounds", "2"],
    );
    for column in [
        "beam",
        "threads",
        "median",
        "sentences/s",
        "tokens/s",
        "tokens",
    ] {
        assert!(stdout.contains(column), "no {column} column:\n{stdout}");
    }
    assert!(
        stdout.contains(&format!("{SENTENCES} sentence(s)")),
        "{stdout}"
    );
    let records = records(&json);
    assert_eq!(
        records.len(),
        4,
        "one record per (beam, threads):\n{records:?}"
    );
    let cases: Vec<(u64, u64)> = records
        .iter()
        .map(|r| (r["beam"].as_u64().unwrap(), r["threads"].as_u64().unwrap()))
        .collect();
    assert_eq!(cases, [(1, 1), (1, 2), (3, 1), (3, 2)]);
    for r in &records {
        assert_eq!(r["bench"], "translate");
        assert_eq!(r["sentences"].as_u64(), Some(SENTENCES as u64), "{r}");
        assert_eq!(r["rounds"].as_u64(), Some(2), "{r}");
        assert_eq!(r["seconds_per_round"].as_array().map(Vec::len), Some(2));
        let seconds = r["seconds"].as_f64().unwrap();
        let per_s = r["sentences_per_s"].as_f64().unwrap();
        assert!(seconds > 0.0 && per_s > 0.0, "{r}");
        assert!((per_s * seconds - SENTENCES as f64).abs() < 1e-6, "{r}");
        let tokens = r["output_tokens"].as_u64().unwrap() as f64;
        let tokens_per_s = r["tokens_per_s"].as_f64().unwrap();
        assert!(
            (tokens_per_s * seconds - tokens).abs() < 1e-6 * tokens.max(1.0),
            "{r}"
        );
    }
    // Greedy search writes tokens on this model (beam search may prefer
    // the empty output of so weak a model), the same at any thread count.
    assert!(records[0]["output_tokens"].as_u64().unwrap() > 0);
    assert_eq!(records[0]["output_tokens"], records[1]["output_tokens"]);

    // Two translators of one thread each beside one of two threads: the
    // same tokens (every batch is decoded alike), a record per layout.
    let layouts_json = dir.join("layouts.json");
    let stdout = bench_ok(
        &src,
        &layouts_json,
        &["--threads", "2", "--inter-threads", "1,2", "--rounds", "1"],
    );
    assert!(stdout.contains("inter"), "no inter column:\n{stdout}");
    let layouts = self::records(&layouts_json);
    assert_eq!(layouts.len(), 2, "{layouts:?}");
    assert_eq!(layouts[0]["inter_threads"].as_u64(), Some(1));
    assert_eq!(layouts[1]["inter_threads"].as_u64(), Some(2));
    assert_eq!(layouts[0]["output_tokens"], layouts[1]["output_tokens"]);
    assert_eq!(layouts[0]["output_tokens"], records[0]["output_tokens"]);

    // A second run appends its records to the same file.
    bench_ok(
        &src,
        &json,
        &["--threads", "1", "--rounds", "1", "--max-sentences", "3"],
    );
    let records = self::records(&json);
    assert_eq!(records.len(), 5);
    let last = &records[4];
    assert_eq!(last["beam"].as_u64(), Some(1), "greedy by default: {last}");
    assert_eq!(
        last["sentences"].as_u64(),
        Some(3),
        "--max-sentences: {last}"
    );
}

#[test]
fn dumped_tokens_give_each_sentence_its_source_ids_cap_and_output_per_beam() {
    let dir = scratch("dump");
    let (src, json) = (test_file(&dir), dir.join("out.json"));
    let dump = dir.join("tokens.jsonl");
    bench_ok(
        &src,
        &json,
        &[
            "--beam",
            "1,2",
            "--threads",
            "1,2",
            "--rounds",
            "1",
            "--dump-tokens",
            dump.to_str().unwrap(),
        ],
    );
    let dumped = records(&dump);
    assert_eq!(dumped.len(), 2 * SENTENCES, "one per beam and sentence");
    let sentences: Vec<&str> = TEST_SRC
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    for (k, r) in dumped.iter().enumerate() {
        let (beam, index) = (1 + k / SENTENCES, k % SENTENCES);
        assert_eq!(r["beam"].as_u64(), Some(beam as u64), "{r}");
        assert_eq!(r["index"].as_u64(), Some(index as u64), "file order: {r}");
        assert_eq!(r["source"], sentences[index], "{r}");
        let ids = r["source_ids"].as_array().unwrap();
        assert_eq!(
            ids.last().and_then(|v| v.as_u64()),
            Some(2),
            "<eos> last: {r}"
        );
        // the default cap: twice the source length, at most 200
        let cap = (2 * ids.len()).min(200) as u64;
        assert_eq!(r["max_output_len"].as_u64(), Some(cap), "{r}");
        let out = r["output_ids"].as_array().unwrap();
        assert!(out.len() as u64 <= cap, "{r}");
        assert_eq!(r["length_norm"], "gnmt", "the default rule: {r}");
    }
    // The outputs are the ones counted in the records of the same beam.
    let cases = records(&json);
    for (beam, case) in [(1u64, &cases[0]), (2, &cases[2])] {
        assert_eq!(case["beam"].as_u64(), Some(beam));
        let written: usize = dumped
            .iter()
            .filter(|r| r["beam"].as_u64() == Some(beam))
            .map(|r| r["output_ids"].as_array().unwrap().len())
            .sum();
        assert_eq!(
            case["output_tokens"].as_u64(),
            Some(written as u64),
            "{case}"
        );
    }
}

#[test]
fn the_length_penalty_rule_is_dumped_and_recorded() {
    let dir = scratch("rule");
    let (src, json) = (test_file(&dir), dir.join("out.json"));
    let dump = dir.join("tokens.jsonl");
    let dump_arg = dump.to_str().unwrap();
    let args = [
        "--beam",
        "3",
        "--threads",
        "1",
        "--rounds",
        "1",
        "--dump-tokens",
        dump_arg,
    ];
    bench_ok(
        &src,
        &json,
        &[&args[..], &["--length-norm", "power"]].concat(),
    );
    let dumped = records(&dump);
    assert_eq!(dumped.len(), SENTENCES);
    for r in &dumped {
        assert_eq!(r["length_norm"], "power", "{r}");
        assert_eq!(
            r["length_penalty"].as_f64().map(|a| a as f32),
            Some(0.6),
            "{r}"
        );
    }
    let cases = records(&json);
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0]["length_norm"], "power", "{}", cases[0]);
    // the same search under GNMT, recorded as such
    bench_ok(&src, &json, &args);
    assert!(records(&dump).iter().all(|r| r["length_norm"] == "gnmt"));
    assert_eq!(records(&json)[1]["length_norm"], "gnmt");
}

/// Runs `s2s bench translate` with `args` and returns its error message,
/// failing the test if it succeeds.
fn refused(args: &[&str]) -> String {
    let mut all = vec!["bench", "translate"];
    all.extend_from_slice(args);
    let o = s2s(&all);
    let (stdout, stderr) = text(&o);
    assert!(!o.status.success(), "{all:?} succeeded:\n{stdout}");
    stderr
}

#[test]
fn bad_input_is_refused_with_the_option_or_file_named() {
    let dir = scratch("refused");
    let src = test_file(&dir);
    let src = src.to_str().unwrap();
    let missing = dir.join("no-such-run");
    let missing = missing.to_str().unwrap();

    let e = refused(&["--model", missing, "--test-src", src]);
    assert!(
        e.contains("no-such-run") && e.contains("does not exist"),
        "{e}"
    );
    let e = refused(&["--test-src", src]);
    assert!(e.contains("--model"), "{e}");
    let e = refused(&["--model", missing]);
    assert!(e.contains("--test-src"), "{e}");

    let empty = dir.join("empty.src");
    std::fs::write(&empty, "\n  \n").unwrap();
    let e = refused(&["--model", missing, "--test-src", empty.to_str().unwrap()]);
    assert!(e.contains("empty.src") && e.contains("no sentence"), "{e}");
    let absent = dir.join("absent.src");
    let e = refused(&["--model", missing, "--test-src", absent.to_str().unwrap()]);
    assert!(e.contains("absent.src") && e.contains("cannot read"), "{e}");

    let e = refused(&["--model", missing, "--test-src", src, "--beam", "1,0"]);
    assert!(e.contains("--beam 0"), "{e}");
    let e = refused(&["--model", missing, "--test-src", src, "--threads", "0"]);
    assert!(e.contains("--threads 0"), "{e}");
    let e = refused(&[
        "--model",
        missing,
        "--test-src",
        src,
        "--threads",
        "2",
        "--inter-threads",
        "3",
    ]);
    assert!(e.contains("--inter-threads 3"), "{e}");
    let e = refused(&[
        "--model",
        missing,
        "--test-src",
        src,
        "--max-sentences",
        "0",
    ]);
    assert!(e.contains("--max-sentences 0"), "{e}");

    let e = refused(&[
        "--model",
        missing,
        "--test-src",
        src,
        "--length-norm",
        "gnmt2",
    ]);
    assert!(
        e.contains("--length-norm") && e.contains("gnmt, power"),
        "{e}"
    );

    // The options of translate are not silently ignored by the others.
    let o = s2s(&["bench", "copy", "--beam", "5", "--rounds", "1"]);
    let (_, stderr) = text(&o);
    assert!(!o.status.success() && stderr.contains("--beam"), "{stderr}");
    let o = s2s(&["bench", "copy", "--length-norm", "power", "--rounds", "1"]);
    let (_, stderr) = text(&o);
    assert!(
        !o.status.success() && stderr.contains("--length-norm"),
        "{stderr}"
    );
}
