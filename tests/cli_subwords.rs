//! Subword models made elsewhere, as a user runs them: `s2s train
//! --tokenizer-json` with a Hugging Face tokenizer.json, then translating
//! and resuming with the copy saved in the run, and the errors a tokenizer
//! we cannot apply gives.

mod common;
use common::*;

use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/seq2seq/tests/fixtures/subwords")
        .join(name)
}

/// Four tiny parallel files (train and valid, source and target) in `dir`;
/// returns the flags that read them.
fn corpus(dir: &Path) -> Vec<String> {
    let src = [
        "a man is standing",
        "two children are playing",
        "a man is playing",
        "the sand is blue",
    ];
    let tgt = [
        "ein mann steht",
        "zwei kinder spielen",
        "ein mann spielt",
        "der sand ist blau",
    ];
    let mut flags = Vec::new();
    for (opt, lines) in [
        ("train-src", &src),
        ("train-tgt", &tgt),
        ("valid-src", &src),
        ("valid-tgt", &tgt),
    ] {
        let path = dir.join(opt);
        let text: String = lines
            .iter()
            .cycle()
            .take(24)
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&path, text).unwrap();
        flags.push(format!("--{opt}"));
        flags.push(path.to_str().unwrap().to_string());
    }
    flags
}

fn tiny(dir: &Path, tokenizer: &Path) -> Vec<String> {
    let mut flags = corpus(dir);
    for f in [
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--tokenizer-json",
        tokenizer.to_str().unwrap(),
    ] {
        flags.push(f.to_string());
    }
    flags.extend(WIDTH_8.iter().map(|s| s.to_string()));
    flags
}

#[test]
fn trains_translates_and_resumes_with_a_hugging_face_tokenizer() {
    let dir = scratch_dir("cli-subwords", "hf");
    let run = dir.join("run");
    let flags = tiny(&dir, &fixture("hf_bytelevel.json"));
    train_ok(&run, &flags.iter().map(String::as_str).collect::<Vec<_>>());

    // The whole tokenizer.json travels with the run.
    let saved = std::fs::read_to_string(run.join("last/src_tokenizer.json")).unwrap();
    assert!(
        saved.contains("\"huggingface\"") && saved.contains("ByteLevel"),
        "{saved}"
    );
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(config.contains("tokenizer-json"), "{config}");

    translate_one(&run, "a man is playing");

    let run = run.to_str().unwrap();
    let o = s2s(&[
        "train", "--resume", run, "--epochs", "2", "--quiet", "--device", "cpu",
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
}

#[test]
fn trains_and_translates_with_a_sentencepiece_model() {
    let dir = scratch_dir("cli-subwords", "sp");
    let run = dir.join("run");
    let mut flags = tiny(&dir, &fixture("sp_bpe.model"));
    let at = flags.iter().position(|f| f == "--tokenizer-json").unwrap();
    flags[at] = "--sentencepiece".into();
    train_ok(&run, &flags.iter().map(String::as_str).collect::<Vec<_>>());
    let saved = std::fs::read_to_string(run.join("last/tgt_tokenizer.json")).unwrap();
    assert!(saved.contains("\"sentencepiece\""), "{saved}");
    translate_one(&run, "two children");

    // A file that is neither JSON nor a model is named.
    let bad = dir.join("bad.model");
    std::fs::write(&bad, [0x0a, 0x40, 1, 2]).unwrap();
    let mut flags = tiny(&dir, &bad);
    flags[at] = "--sentencepiece".into();
    let o = train(
        &dir.join("run2"),
        &flags.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let (_, err) = text(&o);
    assert!(!o.status.success() && err.contains("bad.model"), "{err}");
}

#[test]
fn a_tokenizer_we_cannot_apply_is_refused_naming_file_and_json_path() {
    let dir = scratch_dir("cli-subwords", "refused");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("hf_metaspace.json")).unwrap())
            .unwrap();
    json["model"]["type"] = "WordPiece".into();
    let bad = dir.join("wordpiece.json");
    std::fs::write(&bad, json.to_string()).unwrap();
    let flags = tiny(&dir, &bad);
    let o = train(
        &dir.join("run"),
        &flags.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let (out, err) = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(
        err.contains("wordpiece.json") && err.contains("model.type") && err.contains("WordPiece"),
        "{err}"
    );

    let o = s2s(&["train", "--tokenizer-json", "x.json", "--bpe-merges", "10"]);
    let (_, err) = text(&o);
    assert!(
        !o.status.success() && err.contains("cannot be used with"),
        "{err}"
    );
}

/// Whether `python3 -m subword_nmt` can run here (pip install subword-nmt).
fn has_subword_nmt() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import subword_nmt.apply_bpe"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn bpe_codes_make_subword_nmt_segment_as_the_run_does() {
    let dir = scratch_dir("cli-subwords", "codes");
    let run = dir.join("run");
    let mut flags = corpus(&dir);
    for f in ["--epochs", "1", "--batch-size", "8", "--bpe-merges", "40"] {
        flags.push(f.to_string());
    }
    flags.extend(WIDTH_8.iter().map(|s| s.to_string()));
    train_ok(&run, &flags.iter().map(String::as_str).collect::<Vec<_>>());

    let codes = dir.join("codes.src");
    let o = s2s(&[
        "bpe-codes",
        "--run",
        run.to_str().unwrap(),
        "--out",
        codes.to_str().unwrap(),
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    let text_of_codes = std::fs::read_to_string(&codes).unwrap();
    let lines: Vec<&str> = text_of_codes.lines().collect();
    assert_eq!(lines[0], "#version: 0.2");
    assert!(
        lines.len() > 10 && lines[1..].iter().all(|l| l.split(' ').count() == 2),
        "{text_of_codes}"
    );

    let tokenizer = seq2seq::data::Tokenizer::load(run.join("last/src_tokenizer.json")).unwrap();
    let sentences = [
        "a man is standing",
        "two children are playing in the sand",
        "the blue standing children",
    ];
    let ours: Vec<String> = sentences
        .iter()
        .map(|s| seq2seq::data::subword_nmt_segments(&tokenizer.encode(s)).join(" "))
        .collect();
    assert!(
        ours.iter().any(|s| s.contains("@@")),
        "some word is split: {ours:?}"
    );

    // A directory that is not a run is named.
    let o = s2s(&[
        "bpe-codes",
        "--run",
        dir.join("nowhere").to_str().unwrap(),
        "--out",
        "x",
    ]);
    let (_, err) = text(&o);
    assert!(
        !o.status.success() && err.contains("nowhere") && err.contains("src_tokenizer.json"),
        "{err}"
    );

    if !has_subword_nmt() {
        eprintln!("skipped the subword-nmt comparison: `pip install subword-nmt` to run it");
        return;
    }
    let input = dir.join("input.txt");
    std::fs::write(&input, sentences.join("\n") + "\n").unwrap();
    let o = std::process::Command::new("python3")
        .args([
            "-m",
            "subword_nmt.apply_bpe",
            "-c",
            codes.to_str().unwrap(),
            "-i",
            input.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let (theirs, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(theirs.lines().collect::<Vec<_>>(), ours);
}

#[test]
fn bpe_codes_refuses_a_run_without_bpe() {
    let dir = scratch_dir("cli-subwords", "nobpe");
    let run = dir.join("run");
    let flags = tiny(&dir, &fixture("hf_metaspace.json"));
    train_ok(&run, &flags.iter().map(String::as_str).collect::<Vec<_>>());
    let o = s2s(&[
        "bpe-codes",
        "--run",
        run.to_str().unwrap(),
        "--out",
        dir.join("c").to_str().unwrap(),
    ]);
    let (_, err) = text(&o);
    assert!(
        !o.status.success() && err.contains("not BPE") && err.contains("huggingface"),
        "{err}"
    );
}
