//! Validation by BLEU and the checkpoints a run keeps, as a user runs
//! them: `--valid-bleu` logs BLEU and chrF and plots BLEU, `--keep-best
//! bleu` keeps the highest-scoring model, `--patience` stops on the chosen
//! metric, `--keep-last N` leaves exactly N checkpoints, all of it
//! surviving `--resume` exactly and reproduced from the run's config.toml.

mod common;
use common::figures::svg_polylines;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Output;

fn scratch(name: &str) -> PathBuf {
    scratch_dir("cli-validation", name)
}

/// A small dates run into `out`: 400 training pairs in batches of 16 (25
/// steps an epoch), 40 validation pairs, a tiny model.
fn tiny_run(out: &Path, extra: &[&str]) -> Output {
    let mut flags = vec![
        "--train-size",
        "400",
        "--held-out-size",
        "40",
        "--batch-size",
        "16",
        "--max-decode-len",
        "16",
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

fn ok(o: Output) -> String {
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "training failed:\n{stdout}\n{stderr}");
    stdout
}

/// The `valid` rows of a run's log.jsonl.
fn valid_rows(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["kind"] == "valid")
        .collect()
}

fn state(ckpt: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(ckpt.join("state.json")).unwrap()).unwrap()
}

/// The kept checkpoints of a run, sorted.
fn kept(run: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(run.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn bleu_is_validated_every_n_steps_logged_and_plotted() {
    let run = scratch("bleu").join("run");
    let stdout = ok(tiny_run(
        &run,
        &[
            "--epochs",
            "2",
            "--valid-bleu",
            "--valid-bleu-sample",
            "20",
            "--valid-every",
            "20",
        ],
    ));
    assert!(stdout.contains("best validation BLEU"), "{stdout}");
    // Steps 20 and 40, and the end of the last epoch (step 50).
    let rows = valid_rows(&run);
    let steps: Vec<u64> = rows.iter().map(|r| r["step"].as_u64().unwrap()).collect();
    assert_eq!(steps, [20, 40, 50]);
    for r in &rows {
        for metric in ["bleu", "chrf"] {
            let v = r[metric].as_f64().unwrap_or(-1.0);
            assert!((0.0..=100.0).contains(&v), "{metric} in {r}");
        }
    }
    let csv = std::fs::read_to_string(run.join("log.csv")).unwrap();
    assert!(csv.starts_with("kind,step,epoch,loss,lr,grad_norm,tokens_per_sec,elapsed,bleu,chrf\n"));
    for line in csv.lines().filter(|l| l.starts_with("valid,")) {
        let cells: Vec<&str> = line.split(',').collect();
        assert!(
            cells[8].parse::<f32>().is_ok() && cells[9].parse::<f32>().is_ok(),
            "{line}"
        );
    }
    let svg = std::fs::read_to_string(run.join("loss.svg")).unwrap();
    assert!(svg.contains("validation BLEU"), "no BLEU in the plot");
    // The BLEU panel's line goes through the three validations.
    let bleu = svg_polylines(&svg, "#2CA02C");
    assert_eq!(bleu, [3], "one BLEU line of 3 points");
    // The loss panel: train and validation loss, each with a legend sample.
    assert_eq!(svg_polylines(&svg, "#FF7F0E"), [3, 2]);
    assert_eq!(svg_polylines(&svg, "#1F77B4").len(), 2);

    // Without --valid-bleu nothing is decoded: no BLEU anywhere.
    let plain = scratch("no-bleu").join("run");
    let stdout = ok(tiny_run(&plain, &["--epochs", "1"]));
    assert!(!stdout.contains("BLEU"), "{stdout}");
    assert!(valid_rows(&plain).iter().all(|r| r.get("bleu").is_none()));
    let svg = std::fs::read_to_string(plain.join("loss.svg")).unwrap();
    assert!(!svg.contains("BLEU"));
}

#[test]
fn keep_best_bleu_keeps_the_checkpoint_with_the_highest_bleu() {
    let run = scratch("keep-best").join("run");
    ok(tiny_run(
        &run,
        &[
            "--epochs",
            "3",
            "--keep-best",
            "bleu",
            "--valid-every",
            "10",
        ],
    ));
    let rows = valid_rows(&run);
    assert!(rows.len() >= 7, "{rows:?}");
    let scores: Vec<(u64, f64)> = rows
        .iter()
        .map(|r| (r["step"].as_u64().unwrap(), r["bleu"].as_f64().unwrap()))
        .collect();
    let max = scores.iter().map(|s| s.1).fold(f64::MIN, f64::max);
    // The first validation reaching the maximum: a tie keeps the earlier model.
    let at = scores.iter().find(|s| s.1 == max).unwrap().0;
    let best = state(&run.join("best"));
    assert_eq!(best["step"].as_u64(), Some(at), "{scores:?}");
    assert_eq!(best["best_step"].as_u64(), Some(at));
    let recorded = best["best_bleu"].as_f64().unwrap();
    assert!((recorded - max).abs() < 1e-3, "{recorded} vs {max}");
    // last/ records the same best, and the lowest loss of all validations.
    let last = state(&run.join("last"));
    assert_eq!(last["best_step"].as_u64(), Some(at));
    let lowest = rows
        .iter()
        .map(|r| r["loss"].as_f64().unwrap())
        .fold(f64::MAX, f64::min);
    assert!((last["best_valid_loss"].as_f64().unwrap() - lowest).abs() < 1e-6);
}

/// With a learning rate too small to change any greedy output, BLEU never
/// improves on the first validation: `--patience 1` on BLEU stops after
/// the second epoch, while the loss, which still creeps down, would not.
#[test]
fn early_stopping_follows_the_chosen_metric() {
    let dir = scratch("patience");
    let frozen = ["--epochs", "4", "--patience", "1", "--lr", "1e-6"];
    let run = dir.join("bleu");
    let mut flags = frozen.to_vec();
    flags.extend(["--keep-best", "bleu"]);
    let stdout = ok(tiny_run(&run, &flags));
    assert!(
        stdout.contains("stopped early") && stdout.contains("2 epochs"),
        "{stdout}"
    );
    assert_eq!(valid_rows(&run).len(), 2);
    let last = state(&run.join("last"));
    assert_eq!(last["finished"].as_bool(), Some(true));
    assert_eq!(last["bad_validations"].as_u64(), Some(1));
    assert_eq!(state(&run.join("best"))["step"].as_u64(), Some(25));

    let run = dir.join("loss");
    let stdout = ok(tiny_run(&run, &frozen));
    assert!(
        !stdout.contains("stopped early") && stdout.contains("4 epochs"),
        "{stdout}"
    );
}

#[test]
fn keep_last_leaves_exactly_n_checkpoints_across_a_resume() {
    let run = scratch("keep-last").join("run");
    let flags = ["--epochs", "1", "--keep-last", "2", "--save-every", "5"];
    let mut first = flags.to_vec();
    first.extend(["--max-steps", "12"]);
    ok(tiny_run(&run, &first));
    // Saves at steps 5, 10 and 12 (where --max-steps stopped it).
    assert_eq!(kept(&run), ["step-00000010", "step-00000012"]);

    let o = s2s(&[
        "train",
        "--resume",
        run.to_str().unwrap(),
        "--max-steps",
        "1000",
        "--device",
        "cpu",
        "--quiet",
    ]);
    ok(o);
    assert_eq!(kept(&run), ["step-00000020", "step-00000025"]);
    for ckpt in ["best", "last", "checkpoints/step-00000025"] {
        assert!(run.join(ckpt).join("model.safetensors").is_file(), "{ckpt}");
    }
    // A kept checkpoint is a complete one: the same weights as last/ at
    // the end, and one that translate reads.
    assert_eq!(
        std::fs::read(run.join("last/model.safetensors")).unwrap(),
        std::fs::read(run.join("checkpoints/step-00000025/model.safetensors")).unwrap()
    );
    let o = s2s(&[
        "translate",
        "--device",
        "cpu",
        "--model",
        run.join("checkpoints/step-00000020").to_str().unwrap(),
        "3/3/21",
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
}

/// The best-so-far BLEU and the patience count live in the checkpoint: a
/// run stopped between two validations and resumed validates, keeps and
/// stops exactly as one never interrupted.
#[test]
fn resume_keeps_the_best_bleu_and_patience_exactly() {
    let dir = scratch("resume");
    let flags = [
        "--epochs",
        "3",
        "--keep-best",
        "bleu",
        "--valid-every",
        "10",
        "--valid-bleu-sample",
        "20",
        "--patience",
        "3",
    ];
    let whole = dir.join("whole");
    ok(tiny_run(&whole, &flags));

    let split = dir.join("split");
    let mut first = flags.to_vec();
    first.extend(["--max-steps", "35"]);
    ok(tiny_run(&split, &first));
    ok(s2s(&[
        "train",
        "--resume",
        split.to_str().unwrap(),
        "--max-steps",
        "1000",
        "--device",
        "cpu",
        "--quiet",
    ]));

    let scores = |run: &Path| -> Vec<String> {
        valid_rows(run)
            .iter()
            .map(|r| format!("{} {} {} {}", r["step"], r["loss"], r["bleu"], r["chrf"]))
            .collect()
    };
    assert_eq!(scores(&whole), scores(&split));
    for key in [
        "step",
        "best_step",
        "best_bleu",
        "best_valid_loss",
        "bad_validations",
        "finished",
    ] {
        assert_eq!(
            state(&whole.join("last"))[key],
            state(&split.join("last"))[key],
            "{key}"
        );
    }
    assert!(
        std::fs::read(whole.join("best/model.safetensors")).unwrap()
            == std::fs::read(split.join("best/model.safetensors")).unwrap(),
        "best/ differs"
    );
}

#[test]
fn the_new_options_go_through_config_toml_bit_for_bit() {
    let dir = scratch("config");
    let first = dir.join("first");
    ok(tiny_run(
        &first,
        &[
            "--epochs",
            "1",
            "--valid-every",
            "10",
            "--valid-bleu-sample",
            "10",
            "--keep-best",
            "bleu",
            "--keep-last",
            "1",
            "--patience",
            "2",
        ],
    ));
    let config = first.join("config.toml");
    let written = std::fs::read_to_string(&config).unwrap();
    for line in [
        "valid-every = 10",
        "valid-bleu = false",
        "valid-bleu-sample = 10",
        "keep-best = \"bleu\"",
        "keep-last = 1",
        "patience = 2",
    ] {
        assert!(
            written.contains(&format!("{line}\n")),
            "{line} not in\n{written}"
        );
    }
    let second = dir.join("second");
    train_ok(&second, &["--config", config.to_str().unwrap()]);
    assert_eq!(kept(&first), kept(&second));
    for ckpt in ["best", "last", "checkpoints/step-00000025"] {
        let a = std::fs::read(first.join(ckpt).join("model.safetensors")).unwrap();
        let b = std::fs::read(second.join(ckpt).join("model.safetensors")).unwrap();
        assert!(a == b, "{ckpt}/model.safetensors differs between the runs");
    }
    let scores = |run: &Path| -> Vec<String> {
        valid_rows(run)
            .iter()
            .map(|r| format!("{} {} {}", r["step"], r["loss"], r["bleu"]))
            .collect()
    };
    assert_eq!(scores(&first), scores(&second));
}

#[test]
fn bad_values_name_the_option() {
    let dir = scratch("bad");
    let cases: [(&[&str], i32, &[&str]); 4] = [
        (
            &["--keep-best", "accuracy"],
            2,
            &["--keep-best", "loss", "bleu"],
        ),
        (
            &["--keep-last", "0"],
            1,
            &["--keep-last 0", "between 1 and"],
        ),
        (&["--valid-bleu-sample", "0"], 1, &["--valid-bleu-sample 0"]),
        (&["--keep-last", "many"], 2, &["--keep-last"]),
    ];
    for (flags, code, needles) in cases {
        let o = tiny_run(&dir.join("run"), flags);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(code), "{flags:?}: {err}");
        for needle in needles {
            assert!(err.contains(needle), "{flags:?}: {needle:?} not in {err}");
        }
    }
    assert!(!dir.join("run").exists(), "a refused run wrote something");
    let file = dir.join("run.toml");
    std::fs::write(&file, "epochs = 1\nkeep-best = \"bleu2\"\n").unwrap();
    let o = train(&dir.join("run"), &["--config", file.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("run.toml") && err.contains("`keep-best` (line 2)"),
        "{err}"
    );
}
