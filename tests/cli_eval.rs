//! `s2s eval` as a user runs it, on a tiny model of the dates task
//! (trained once for this file): its own held-out pairs, Moses-style
//! parallel files and a tab-separated file; both BLEU kinds, chrF and
//! speed in the report; `--output` with one line per test sentence; a JSON
//! summary whose sacreBLEU agrees with `s2s score` on the written output.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn scratch(name: &str) -> PathBuf {
    scratch_dir("cli-eval", name)
}

/// A tiny GRU + attention model of the dates task, 24 held-out test pairs.
fn model() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let out = scratch("model").join("run");
        train_ok(
            &out,
            &[
                "--train-size",
                "300",
                "--held-out-size",
                "24",
                "--epochs",
                "1",
                "--embed-size",
                "8",
                "--hidden-size",
                "16",
                "--attn-size",
                "16",
            ],
        );
        out
    })
}

fn eval(extra: &[&str]) -> Output {
    let mut args = vec![
        "eval",
        "--device",
        "cpu",
        "--model",
        model().to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    s2s(&args)
}

const SOURCES: [&str; 5] = [
    "3/3/21",
    "March 3rd, 2021",
    "the 4th of May 1999",
    "12.11.1987",
    "Wed, 3 Mar 2021",
];
const REFS: [&str; 5] = [
    "2021-03-03",
    "2021-03-03",
    "1999-05-04",
    "1987-11-12",
    "2021-03-03",
];

#[test]
fn evaluates_the_runs_own_test_pairs_and_writes_the_output() {
    let dir = scratch("own");
    let hyp = dir.join("hyp.txt");
    let o = eval(&[
        "--beam",
        "2",
        "--batch-size",
        "7",
        "--output",
        hyp.to_str().unwrap(),
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    for want in [
        "test set: 24 pairs",
        "sacreBLEU (detokenized)  BLEU = ",
        "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp",
        "tokenized BLEU (lc)      BLEU = ",
        "case:lc|eff:no|tok:none|smooth:none",
        "chrF2 = ",
        "exact match",
        "sentences/s",
    ] {
        assert!(out.contains(want), "no {want:?} in:\n{out}");
    }
    let lines = std::fs::read_to_string(&hyp).unwrap();
    assert_eq!(lines.lines().count(), 24, "{lines}");
    assert!(
        out.contains("decoding: beam 2, length penalty gnmt α = 0.6,"),
        "{out}"
    );
}

#[test]
fn the_length_penalty_rule_is_reported_and_checked() {
    let o = eval(&["--beam", "3", "--length-norm", "power"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(
        out.contains("decoding: beam 3, length penalty power α = 0.6,"),
        "{out}"
    );
    for (extra, rule) in [(None, "gnmt"), (Some("power"), "power")] {
        let mut args = vec!["--beam", "3", "--json"];
        if let Some(r) = extra {
            args.extend(["--length-norm", r]);
        }
        let o = eval(&args);
        let (out, err) = text(&o);
        assert!(o.status.success(), "{out}\n{err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
        assert_eq!(v["length_norm"], rule, "{v}");
        assert_eq!(v["length_penalty"], 0.6, "{v}");
    }
    let o = eval(&["--length-norm", "fairseq"]);
    let (_, err) = text(&o);
    assert!(!o.status.success(), "--length-norm fairseq accepted");
    assert!(
        err.contains("--length-norm") && err.contains("fairseq") && err.contains("gnmt, power"),
        "{err}"
    );
}

#[test]
fn parallel_files_json_agrees_with_s2s_score() {
    let dir = scratch("parallel");
    let (src, reference, hyp) = (
        dir.join("test.src"),
        dir.join("test.ref"),
        dir.join("hyp.txt"),
    );
    std::fs::write(&src, SOURCES.join("\n") + "\n").unwrap();
    std::fs::write(&reference, REFS.join("\n") + "\n").unwrap();
    let o = eval(&[
        "--test-src",
        src.to_str().unwrap(),
        "--test-ref",
        reference.to_str().unwrap(),
        "--output",
        hyp.to_str().unwrap(),
        "--json",
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(v["sentences"], 5);
    assert_eq!(v["beam"], 5);
    for key in ["bleu", "tokenized_bleu", "chrf"] {
        let score = v[key]["score"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&score), "{key}: {score}");
    }
    assert!(v["sentences_per_second"].as_f64().unwrap() > 0.0);
    let written = std::fs::read_to_string(&hyp).unwrap();
    assert_eq!(written.lines().count(), 5);
    let exact = written.lines().zip(REFS).filter(|(h, r)| h == r).count();
    assert_eq!(v["exact_match"].as_f64().unwrap(), exact as f64 / 5.0);

    // The same hypotheses scored by `s2s score` give the same sacreBLEU.
    let o = s2s(&[
        "score",
        "--ref",
        reference.to_str().unwrap(),
        "--hyp",
        hyp.to_str().unwrap(),
        "--json",
    ]);
    let (score_out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let s: serde_json::Value = serde_json::from_str(score_out.trim()).unwrap();
    assert_eq!(s["score"], v["bleu"]["score"]);
    assert_eq!(s["signature"], v["bleu"]["signature"]);
}

#[test]
fn tab_separated_data_and_errors() {
    let dir = scratch("tsv");
    let tsv = dir.join("dates.tsv");
    let lines: Vec<String> = SOURCES
        .iter()
        .zip(REFS)
        .map(|(s, r)| format!("{s}\t{r}\tsome attribution"))
        .collect();
    std::fs::write(&tsv, lines.join("\n")).unwrap();
    let o = eval(&["--data", tsv.to_str().unwrap(), "--beam", "1"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("test set: 5 pairs, all of"), "{out}");

    // The dates model was not trained on a file: no split to repeat.
    let o = eval(&["--data", tsv.to_str().unwrap(), "--split", "test"]);
    let (_, err) = text(&o);
    assert!(!o.status.success() && err.contains("--split test"), "{err}");

    // A missing model directory and a missing test file are named.
    let missing = dir.join("nowhere");
    let o = s2s(&["eval", "--model", missing.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert!(
        !o.status.success() && err.contains(missing.to_str().unwrap()),
        "{err}"
    );
    let o = eval(&["--test-src", "no-such.src", "--test-ref", "no-such.ref"]);
    let (_, err) = text(&o);
    assert!(!o.status.success() && err.contains("no-such.src"), "{err}");
}

#[test]
fn the_training_file_is_evaluated_on_its_held_out_split_only() {
    let dir = scratch("heldout");
    let data = dir.join("eng-fra.txt");
    let lines: Vec<String> = (0..100)
        .map(|i| format!("I am {i}.\tJe suis {i} !\tattribution"))
        .collect();
    std::fs::write(&data, lines.join("\n")).unwrap();
    let run = dir.join("run");
    let corpus = ["--data", data.to_str().unwrap(), "--epochs", "1"];
    train_ok(&run, &[&corpus[..], &WIDTH_8].concat());
    let args = |extra: &[&str]| {
        let mut a = vec![
            "eval",
            "--device",
            "cpu",
            "--beam",
            "1",
            "--model",
            run.to_str().unwrap(),
        ];
        a.extend_from_slice(extra);
        s2s(&a)
    };
    // The training file: its 10% test split (seeded), not the 100 lines.
    let o = args(&["--data", data.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(
        out.contains("test set: 10 pairs, held-out test split of"),
        "{out}"
    );
    // French references with a space before "!": French spacing is guessed.
    assert!(out.contains("fr target spacing"), "{out}");
    // The same through the run's own saved settings, and every line on request.
    let (out, _) = text(&args(&[]));
    assert!(out.contains("test set: 10 pairs"), "{out}");
    let (out, _) = text(&args(&["--data", data.to_str().unwrap(), "--split", "all"]));
    assert!(out.contains("test set: 100 pairs, all of"), "{out}");
}

/// Two translators at once (`--inter-threads 2`, each on one of two
/// threads) decode every batch as one translator does: the same output,
/// line for line; a count that does not divide the threads is refused.
#[test]
fn two_translators_write_what_one_writes() {
    let dir = scratch("inter");
    let mut outputs = Vec::new();
    for inter in ["1", "2"] {
        let hyp = dir.join(format!("hyp-{inter}.txt"));
        let o = Command::new(env!("CARGO_BIN_EXE_s2s"))
            .env("RAYON_NUM_THREADS", "2")
            .args(["eval", "--device", "cpu", "--model"])
            .arg(model())
            .args(["--beam", "2", "--batch-size", "5", "--inter-threads", inter])
            .arg("--output")
            .arg(&hyp)
            .output()
            .unwrap();
        let (out, err) = text(&o);
        assert!(o.status.success(), "{out}\n{err}");
        outputs.push(std::fs::read_to_string(&hyp).unwrap());
    }
    assert_eq!(outputs[0].lines().count(), 24);
    assert_eq!(outputs[0], outputs[1]);

    let o = Command::new(env!("CARGO_BIN_EXE_s2s"))
        .env("RAYON_NUM_THREADS", "2")
        .args(["eval", "--device", "cpu", "--model"])
        .arg(model())
        .args(["--inter-threads", "3"])
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert!(
        !o.status.success() && err.contains("--inter-threads 3"),
        "{err}"
    );
}
