//! Our Transformer exported to CTranslate2 writes what ours writes: a small
//! dates Transformer, pre-norm and post-norm, trained with the CLI, decoded
//! greedily by `s2s bench translate --dump-tokens`, exported by
//! scripts/export_ctranslate2.py and decoded again from the same token ids
//! by CTranslate2 (scripts/check_ctranslate2.py), sentence by sentence.
//!
//! Skipped, with the reason printed, where `python3 -c "import ctranslate2"`
//! fails (`pip install ctranslate2` brings it).

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    scratch_dir("ctranslate2-export", name)
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name)
}

/// Why the test cannot run here, if it cannot.
fn missing_ctranslate2() -> Option<String> {
    match Command::new("python3")
        .args(["-c", "import ctranslate2"])
        .output()
    {
        Err(e) => Some(format!("no python3 ({e})")),
        Ok(o) if !o.status.success() => Some(format!(
            "ctranslate2 is not importable: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Ok(_) => None,
    }
}

/// Runs `python3 SCRIPT args`; fails the test with its output unless it succeeds.
fn python_ok(script_name: &str, args: &[&str]) -> String {
    let o = Command::new("python3")
        .arg(script(script_name))
        .args(args)
        .output()
        .expect("python3 runs");
    let (stdout, stderr) = text(&o);
    assert!(
        o.status.success(),
        "{script_name} failed:\n{stdout}\n{stderr}"
    );
    stdout
}

/// Sixty dates in the task's formats.
fn test_dates(dir: &Path) -> PathBuf {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let mut lines = Vec::new();
    for i in 0..60usize {
        let (day, month, year) = (1 + (i * 7) % 28, (i * 5) % 12, 1950 + (i * 13) % 100);
        lines.push(match i % 5 {
            0 => format!("{day}/{}/{:02}", month + 1, year % 100),
            1 => format!("{} {day}, {year}", MONTHS[month]),
            2 => format!("{day:02}.{:02}.{year}", month + 1),
            3 => format!("{day} {} {year}", &MONTHS[month][..3].to_lowercase()),
            _ => format!("the {day}th of {} {year}", MONTHS[month]),
        });
    }
    let file = dir.join("dates.src");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    file
}

/// Trains a 2+2-layer dates Transformer (`norm_first` as given), exports
/// it, and checks CTranslate2's greedy output against ours.
fn greedy_outputs_agree(norm_first: &str) {
    if let Some(why) = missing_ctranslate2() {
        println!("skipped: {why}");
        return;
    }
    let dir = scratch(&format!("norm-first-{norm_first}"));
    let run = dir.join("run");
    train_ok(
        &run,
        &[
            "--model",
            "transformer",
            "--d-model",
            "32",
            "--heads",
            "2",
            "--ff-size",
            "64",
            "--enc-layers",
            "2",
            "--dec-layers",
            "2",
            "--norm-first",
            norm_first,
            "--train-size",
            "1500",
            "--held-out-size",
            "20",
            "--epochs",
            "2",
        ],
    );
    let src = test_dates(&dir);
    let dump = dir.join("dump.jsonl");
    let o = s2s(&[
        "bench",
        "translate",
        "--model",
        run.to_str().unwrap(),
        "--test-src",
        src.to_str().unwrap(),
        "--threads",
        "1",
        "--rounds",
        "1",
        "--dump-tokens",
        dump.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");

    let ct2 = dir.join("ct2");
    let exported = python_ok(
        "export_ctranslate2.py",
        &[run.to_str().unwrap(), ct2.to_str().unwrap()],
    );
    let norm = if norm_first == "true" {
        "pre-norm"
    } else {
        "post-norm"
    };
    assert!(exported.contains(norm), "{exported}");
    for file in ["model.bin", "config.json"] {
        assert!(ct2.join(file).is_file(), "{file} missing: {exported}");
    }

    // Every sentence but possibly one near tie must agree token for token.
    let json = dir.join("check.json");
    let report = python_ok(
        "check_ctranslate2.py",
        &[
            ct2.to_str().unwrap(),
            dump.to_str().unwrap(),
            "--require",
            "0.98",
            "--json",
            json.to_str().unwrap(),
        ],
    );
    println!("{report}");
    let record: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&json).unwrap().trim()).unwrap();
    assert_eq!(record["sentences"], 60, "{report}");
    assert!(record["identical"].as_u64().unwrap() >= 59, "{report}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_pre_norm_transformer_decodes_the_same_in_ctranslate2() {
    greedy_outputs_agree("true");
}

#[test]
fn a_post_norm_transformer_decodes_the_same_in_ctranslate2() {
    greedy_outputs_agree("false");
}

#[test]
fn only_a_transformer_is_exported_and_the_refusal_names_the_file() {
    if let Some(why) = missing_ctranslate2() {
        println!("skipped: {why}");
        return;
    }
    let dir = scratch("gru");
    let run = dir.join("run");
    tiny_dates_model(&run, &WIDTH_8);
    let o = Command::new("python3")
        .arg(script("export_ctranslate2.py"))
        .args([run.to_str().unwrap(), dir.join("ct2").to_str().unwrap()])
        .output()
        .expect("python3 runs");
    let (_, stderr) = text(&o);
    assert!(!o.status.success(), "a GRU model was exported");
    assert!(
        stderr.contains("config.json") && stderr.contains("only the Transformer"),
        "{stderr}"
    );
    assert!(!dir.join("ct2").exists(), "nothing is written on a refusal");
    std::fs::remove_dir_all(&dir).unwrap();
}
