//! `s2s train` and `s2s translate` as a user runs them: help, a tiny run
//! on the dates task, translating with it, resuming it, and the errors a
//! bad corpus or a damaged checkpoint give.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Output;

fn scratch(name: &str) -> PathBuf {
    scratch_dir("cli-train", name)
}

/// A small, fast run of the dates task into `out`.
fn tiny_run(out: &Path, extra: &[&str]) -> Output {
    let mut flags = vec![
        "--train-size",
        "400",
        "--held-out-size",
        "40",
        "--epochs",
        "1",
        "--embed-size",
        "8",
        "--hidden-size",
        "16",
        "--attn-size",
        "16",
    ];
    flags.extend_from_slice(extra);
    train(out, &flags)
}

#[test]
fn help_documents_every_option() {
    let (out, _) = text(&s2s(&["train", "--help"]));
    for opt in [
        "--task",
        "--data",
        "--src",
        "--tgt",
        "--reverse",
        "--tutorial-filter",
        "--train-src",
        "--train-tgt",
        "--valid-src",
        "--valid-tgt",
        "--skip-bad-lines",
        "--bpe-merges",
        "--model",
        "--attention",
        "--hidden-size",
        "--layers",
        "--teacher-forcing",
        "--epochs",
        "--batch-size",
        "--lr",
        "--schedule",
        "--clip",
        "--label-smoothing",
        "--accumulate",
        "--patience",
        "--valid-every",
        "--valid-bleu",
        "--valid-bleu-sample",
        "--keep-best",
        "--keep-last",
        "--out",
        "--resume",
        "--device",
        "--seed",
    ] {
        assert!(out.contains(opt), "--help does not mention {opt}:\n{out}");
    }
    assert!(out.contains("gru-attn") && out.contains("transformer") && out.contains("bahdanau"));
}

#[test]
fn trains_translates_and_resumes() {
    let dir = scratch("run");
    let run = dir.join("dates");
    let o = tiny_run(&run, &[]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("held-out exact match"), "{out}");
    assert!(
        out.contains("checkpoint:") && out.contains("translate --model"),
        "{out}"
    );
    for f in [
        "best/model.safetensors",
        "best/config.json",
        "last/state.json",
        "last/optimizer.safetensors",
        "last/src_vocab.json",
        "last/tgt_tokenizer.json",
        "log.csv",
        "log.jsonl",
        "loss.svg",
    ] {
        assert!(run.join(f).is_file(), "{f} is missing");
    }
    let o = s2s(&[
        "translate",
        "--device",
        "cpu",
        "--model",
        run.to_str().unwrap(),
        "3/3/21",
        "March 3rd, 2021",
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");

    let o = s2s(&[
        "train",
        "--resume",
        run.to_str().unwrap(),
        "--epochs",
        "2",
        "--quiet",
        "--device",
        "cpu",
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("2 epochs"), "{out}");
    let csv = std::fs::read_to_string(run.join("log.csv")).unwrap();
    assert_eq!(
        csv.lines().filter(|l| l.starts_with("valid,")).count(),
        2,
        "{csv}"
    );
}

#[test]
fn malformed_corpus_names_file_and_line_or_is_skipped() {
    let dir = scratch("bad");
    let data = dir.join("eng-fra.txt");
    let mut lines: Vec<String> = (0..60).map(|i| format!("i am {i}\tje suis {i}")).collect();
    lines[6] = "only one column".into();
    std::fs::write(&data, lines.join("\n")).unwrap();
    let base = [
        "train",
        "--data",
        data.to_str().unwrap(),
        "--epochs",
        "1",
        "--hidden-size",
        "8",
        "--embed-size",
        "8",
        "--attn-size",
        "8",
        "--device",
        "cpu",
        "--quiet",
    ];
    let out_dir = dir.join("out");
    let mut args = base.to_vec();
    args.extend(["--out", out_dir.to_str().unwrap()]);
    let o = s2s(&args);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("eng-fra.txt:7") && err.contains("tab-separated"),
        "{err}"
    );

    args.push("--skip-bad-lines");
    let o = s2s(&args);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");

    let mut args = base.to_vec();
    args.extend(["--src", "deu", "--tgt", "eng"]);
    let (_, err) = text(&s2s(&args));
    assert!(err.contains("--src deu"), "{err}");
}

#[test]
fn damaged_checkpoint_is_an_error_naming_the_file() {
    let dir = scratch("damaged");
    let run = dir.join("dates");
    assert!(tiny_run(&run, &["--max-steps", "2"]).status.success());
    std::fs::write(run.join("last/model.safetensors"), b"not weights").unwrap();
    let o = s2s(&[
        "train",
        "--resume",
        run.to_str().unwrap(),
        "--device",
        "cpu",
        "--quiet",
    ]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("model.safetensors"), "{err}");
}

/// Without a terminal the progress comes on stderr as plain lines `epoch E/N step
/// S/TOTAL: …`; batching by tokens, TOTAL is planned before the run and
/// must be the step the last line reaches.
#[test]
fn plain_progress_lines_count_to_the_planned_total() {
    let dir = scratch("progress");
    let out = dir.join("run");
    let o = s2s(&[
        "train",
        "--train-size",
        "400",
        "--held-out-size",
        "40",
        "--epochs",
        "2",
        "--batch-tokens",
        "700",
        "--log-every",
        "1",
        "--embed-size",
        "8",
        "--hidden-size",
        "16",
        "--attn-size",
        "16",
        "--device",
        "cpu",
        "--out",
        out.to_str().unwrap(),
    ]);
    let (stdout, err) = text(&o);
    assert!(o.status.success(), "{stdout}\n{err}");
    // Progress is a log: on stderr, never mixed into the results on stdout.
    assert!(!stdout.contains(" step "), "progress on stdout:\n{stdout}");
    let steps: Vec<(u64, u64)> = err
        .lines()
        .filter_map(|l| {
            let rest = l.split(" step ").nth(1)?;
            let (done, total) = rest.split(':').next()?.split_once('/')?;
            Some((done.parse().ok()?, total.parse().ok()?))
        })
        .collect();
    assert!(steps.len() > 2, "no progress lines in:\n{err}");
    let total = steps[0].1;
    assert!(steps.iter().all(|&(_, t)| t == total), "{steps:?}");
    assert_eq!(steps.last().unwrap().0, total, "{err}");
    assert_eq!(
        steps.iter().map(|s| s.0).collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>()
    );
    assert!(
        stdout.contains(&format!("trained {total} steps")),
        "{stdout}"
    );
}

/// A fresh `train` into a directory holding a run refuses, naming both
/// ways on; `--overwrite` starts over; nothing of the old run is touched
/// by the refusal. `eval --output` into a checkpoint is refused too.
#[test]
fn an_existing_run_is_never_overwritten_by_surprise() {
    let dir = scratch("overwrite");
    let run = dir.join("dates");
    assert!(tiny_run(&run, &["--max-steps", "2"]).status.success());
    let weights = std::fs::read(run.join("last/model.safetensors")).unwrap();

    let o = tiny_run(&run, &["--max-steps", "2"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("holds a run already")
            && err.contains("--resume")
            && err.contains("--overwrite"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(run.join("last/model.safetensors")).unwrap(),
        weights
    );

    let o = tiny_run(&run, &["--max-steps", "2", "--overwrite"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");

    let o = tiny_run(&run, &["--overwrite", "--resume", run.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o).1);

    let target = run.join("last/model.safetensors");
    let before = std::fs::read(&target).unwrap();
    for (cmd, opt) in [("eval", "--output"), ("translate", "--attention-plot")] {
        let mut args = vec![cmd, "--device", "cpu", "--model", run.to_str().unwrap()];
        let file = match opt {
            "--output" => target.clone(),
            _ => run.join("last/attn.svg"),
        };
        args.extend([opt, file.to_str().unwrap()]);
        if cmd == "translate" {
            args.push("3/3/21");
        }
        let o = s2s(&args);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{cmd}: {err}");
        assert!(
            err.contains(opt) && err.contains("checkpoint directory"),
            "{err}"
        );
    }
    assert_eq!(std::fs::read(&target).unwrap(), before);
}

/// A run stopped before its first epoch ended has last/ but no best/:
/// translate and eval use last/ (or last.old, left by a kill mid-save)
/// and say so on stderr, keeping stdout for the translations.
#[test]
fn translate_and_eval_fall_back_to_last_with_a_note() {
    let dir = scratch("fallback");
    let run = dir.join("dates");
    assert!(tiny_run(&run, &["--max-steps", "2"]).status.success());
    assert!(!run.join("best").exists() && run.join("last").is_dir());
    let translate = |expect: &str| {
        let (_, err) = translate_one(&run, "3/3/21");
        assert!(err.contains("note:") && err.contains(expect), "{err}");
    };
    translate("last");
    let o = s2s(&["eval", "--device", "cpu", "--model", run.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("exact match") && err.contains("note:"),
        "{out}\n{err}"
    );
    std::fs::rename(run.join("last"), run.join("last.old")).unwrap();
    translate("last.old");
    // A checkpoint given directly is what was asked for: no note.
    let o = s2s(&[
        "translate",
        "--device",
        "cpu",
        "--model",
        run.join("last.old").to_str().unwrap(),
        "3/3/21",
    ]);
    let (_, err) = text(&o);
    assert!(o.status.success() && !err.contains("note:"), "{err}");
}

/// Too high a learning rate blows the loss up: training stops at the step
/// it happens, naming the step, --lr and the last good checkpoint, which
/// stays as it was; best/ is never written from a diverged model, not even
/// when only the validation loss sees it.
#[test]
fn divergence_stops_naming_step_rate_and_last_good_checkpoint() {
    let dir = scratch("diverge");
    let run = dir.join("dates");
    let o = tiny_run(
        &run,
        &[
            "--lr",
            "1",
            "--clip",
            "0",
            "--log-every",
            "1",
            "--save-every",
            "1",
        ],
    );
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let last = run.join("last");
    for needle in [
        "training diverged at step 2",
        "training loss became",
        "--lr 1",
        &format!("{} (step 1)", last.display()),
    ] {
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
    assert!(!run.join("best").exists());
    let state = std::fs::read_to_string(last.join("state.json")).unwrap();
    assert!(state.contains("\"step\": 1,"), "{state}");

    let run = dir.join("valid");
    let o = tiny_run(&run, &["--lr", "1", "--clip", "0", "--log-every", "1000"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("validation loss became"), "{err}");
    assert!(!run.join("best").exists() && !run.join("last").exists());
}

/// `s2s` run in the directory `cwd`.
fn s2s_in(cwd: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_s2s"))
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("s2s runs")
}

/// A run keeps its corpus paths absolute, so it resumes from any
/// directory; it refuses to resume on a corpus edited since it started,
/// and refuses options that would change it instead of ignoring them.
#[test]
fn resume_is_safe_from_anywhere_and_refuses_changes() {
    let dir = scratch("resume-safe");
    let lines: Vec<String> = (0..80).map(|i| format!("i am {i}\tje suis {i}")).collect();
    std::fs::write(dir.join("eng-fra.txt"), lines.join("\n")).unwrap();
    let o = s2s_in(
        &dir,
        &[
            "train",
            "--data",
            "eng-fra.txt",
            "--hidden-size",
            "8",
            "--embed-size",
            "8",
            "--attn-size",
            "8",
            "--max-steps",
            "2",
            "--device",
            "cpu",
            "--quiet",
            "--out",
            "run",
        ],
    );
    assert!(o.status.success(), "{}", text(&o).1);
    let run = dir.join("run");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("last/state.json")).unwrap())
            .unwrap();
    let path = state["data"]["source"]["path"].as_str().unwrap();
    assert!(Path::new(path).is_absolute(), "{path}");
    assert_eq!(state["corpus"][0]["path"].as_str(), Some(path));

    let resume = |extra: &[&str]| {
        let mut args = vec![
            "train",
            "--resume",
            run.to_str().unwrap(),
            "--device",
            "cpu",
            "--quiet",
        ];
        args.extend_from_slice(extra);
        s2s_in(Path::new("/"), &args)
    };
    let o = resume(&["--max-steps", "3"]);
    assert!(o.status.success(), "{}", text(&o).1);

    let o = resume(&["--lr", "0.01", "--batch-size", "8", "--model", "gru"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    for opt in ["--lr 0.01", "--batch-size 8", "--model gru", "--out DIR"] {
        assert!(err.contains(opt), "{opt} not in {err}");
    }

    let mut edited = lines.clone();
    edited[5] = "i am edited\tje suis change".into();
    std::fs::write(dir.join("eng-fra.txt"), edited.join("\n")).unwrap();
    let o = resume(&["--max-steps", "4"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("eng-fra.txt") && err.contains("not the one this run was trained on"),
        "{err}"
    );
}

/// `--overwrite` replaces a run only once the new one has passed every
/// check: a fresh start that fails gives the old run back untouched.
#[test]
fn a_failed_overwrite_keeps_the_old_run() {
    let dir = scratch("overwrite-fails");
    let run = dir.join("dates");
    assert!(tiny_run(&run, &["--max-steps", "2"]).status.success());
    let weights = std::fs::read(run.join("last/model.safetensors")).unwrap();
    let log = std::fs::read(run.join("log.csv")).unwrap();
    let o = tiny_run(&run, &["--overwrite", "--max-len", "2"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("nothing to train on") && err.contains("kept as it was"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(run.join("last/model.safetensors")).unwrap(),
        weights
    );
    assert_eq!(std::fs::read(run.join("log.csv")).unwrap(), log);
    assert!(!run.join(".overwritten").exists());
    let o = s2s(&[
        "translate",
        "--device",
        "cpu",
        "--model",
        run.to_str().unwrap(),
        "3/3/21",
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
}
