//! What s2s refuses, and how: absurd options are an error naming the
//! option, the value and the allowed range, with exit code 1 (2 for what
//! clap itself rejects) — never a panic (101) or the allocator's abort
//! (134) — and nothing is written before the refusal.

mod common;
use common::*;

use std::path::Path;

/// The options of a small dates run into `out`, with `extra` appended.
fn train_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "train",
        "--train-size",
        "100",
        "--held-out-size",
        "20",
        "--device",
        "cpu",
        "--quiet",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    args
}

/// Runs `args`, asserting exit `code` and that stderr holds every one of
/// `needles`; returns stderr.
fn refused(args: &[&str], code: i32, needles: &[&str]) -> String {
    let o = s2s(args);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(code), "{args:?}\n{out}\n{err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: stderr lacks {n:?}:\n{err}");
    }
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    err
}

#[test]
fn absurd_train_options_are_refused_naming_option_value_and_range() {
    let dir = scratch_dir("cli-refuses", "train");
    let out = dir.join("run");
    let o = out.to_str().unwrap();
    #[rustfmt::skip]
    let cases: &[(&[&str], &[&str])] = &[
        (&["--model", "transformer", "--d-model", "0"], &["--d-model 0", "between 1 and"]),
        (&["--attn-size", "0"], &["--attn-size 0", "between 1 and"]),
        (&["--hidden-size", "1000000"], &["--hidden-size 1000000", "between 1 and 65536"]),
        (&["--batch-size", "100000000"], &["--batch-size 100000000", "between 1 and"]),
        (&["--clip", "nan"], &["--clip NaN", "finite"]),
        (&["--schedule", "step", "--gamma", "nan"], &["--gamma NaN", "(0, 1]"]),
        (&["--schedule", "step", "--gamma", "inf"], &["--gamma inf", "(0, 1]"]),
        (&["--teacher-forcing", "nan"], &["--teacher-forcing NaN", "[0, 1]"]),
        (&["--teacher-forcing", "2"], &["--teacher-forcing 2", "[0, 1]"]),
        (&["--dropout", "1"], &["--dropout 1", "[0, 1)"]),
        (&["--lr", "1e8"], &["--lr 100000000", "(0, 10]"]),
        (&["--lr", "nan"], &["--lr NaN"]),
        (&["--label-smoothing", "inf"], &["--label-smoothing inf", "[0, 1)"]),
        (&["--step-size", "0"], &["--step-size 0", "at least 1"]),
        (&["--max-vocab", "3"], &["--max-vocab 3", "4 special tokens"]),
        (&["--max-len", "0"], &["--max-len 0", "between 1 and"]),
        (&["--max-decode-len", "0"], &["--max-decode-len 0", "between 1 and"]),
        (&["--layers", "0"], &["--layers 0", "between 1 and"]),
        (&["--model", "transformer", "--heads", "3"], &["--heads 3", "divide --d-model 64"]),
        (&["--model", "transformer", "--heads", "0"], &["--heads 0"]),
        (&["--accumulate", "0"], &["--accumulate 0"]),
        (&["--log-every", "0"], &["--log-every 0"]),
        (&["--batch-tokens", "0"], &["--batch-tokens 0"]),
        (&["--epochs", "0"], &["--epochs 0"]),
        (&["--min-freq", "0"], &["--min-freq 0"]),
        // Below the caps, but more than any machine has: refused by estimate.
        (&["--hidden-size", "65536"], &["needs about", "TiB", "--hidden-size"]),
        (&["--max-len", "5"], &["--max-len 5", "nothing to train on"]),
    ];
    for (extra, needles) in cases {
        refused(&train_args(o, extra), 1, needles);
        assert!(!out.exists(), "{extra:?} wrote {}", out.display());
    }
}

#[test]
fn data_and_parallel_files_together_are_refused() {
    let dir = scratch_dir("cli-refuses", "data");
    let f = dir.join("x.txt");
    std::fs::write(&f, "a\tb\n").unwrap();
    let f = f.to_str().unwrap();
    let err = refused(
        &[
            "train",
            "--data",
            f,
            "--train-src",
            f,
            "--train-tgt",
            f,
            "--valid-src",
            f,
            "--valid-tgt",
            f,
        ],
        2,
        &["--data"],
    );
    assert!(err.contains("cannot be used with"), "{err}");
}

#[test]
fn absurd_decode_and_bench_options_are_refused() {
    refused(
        &["translate", "--model", "nowhere", "--beam", "100000", "x"],
        1,
        &["--beam 100000", "between 1 and 1000"],
    );
    refused(
        &["translate", "--model", "nowhere", "--max-len", "0", "x"],
        1,
        &["--max-len 0"],
    );
    refused(
        &["eval", "--model", "nowhere", "--batch-size", "100000000"],
        1,
        &["--batch-size 100000000", "between 1 and"],
    );
    refused(
        &["bench", "matmul", "--shapes", "100000x100000x100000"],
        1,
        &["--shapes 100000x100000x100000", "between 1 and 32768"],
    );
    refused(
        &["bench", "add", "--shapes", "100000x100000"],
        1,
        &["--shapes 100000x100000", "at most"],
    );
    refused(
        &["bench", "matmul", "--threads", "100000"],
        1,
        &["--threads 100000"],
    );
    refused(&["bench", "matmul", "--threads", "0"], 1, &["--threads 0"]);
    refused(&["bench", "matmul", "--rounds", "0"], 1, &["--rounds 0"]);
    refused(
        &["bench", "matmul", "--shapes", "0x4x4"],
        1,
        &["--shapes 0x4x4"],
    );
}

/// A corpus with one 200,000-word line trains: the default --max-len drops
/// the pair from training instead of building a batch of that width.
#[test]
fn one_huge_corpus_line_is_dropped_not_fatal() {
    let dir = scratch_dir("cli-refuses", "huge-line");
    let data = dir.join("eng-fra.txt");
    let mut lines: Vec<String> = (0..80).map(|i| format!("i am {i}\tje suis {i}")).collect();
    lines[3] = format!("{}\tun deux", vec!["word"; 200_000].join(" "));
    std::fs::write(&data, lines.join("\n")).unwrap();
    let out = dir.join("run");
    let corpus = ["--data", data.to_str().unwrap(), "--epochs", "1"];
    train_ok(&out, &[&corpus[..], &WIDTH_8].concat());
    assert!(Path::new(&out).join("best/model.safetensors").is_file());
}

/// A sentence longer than a Transformer's positional table is an error
/// naming the length and the limit.
#[test]
fn an_overlong_sentence_is_an_error_naming_the_limit() {
    let dir = scratch_dir("cli-refuses", "overlong");
    let run = dir.join("run");
    let run = run.to_str().unwrap();
    let o = s2s(&train_args(
        run,
        &[&TINY_TRANSFORMER[..], &["--max-steps", "1"]].concat(),
    ));
    assert!(o.status.success(), "{}", text(&o).1);
    let long = "1".repeat(600);
    refused(
        &["translate", "--device", "cpu", "--model", run, &long],
        1,
        &["has 601 tokens", "at most 512"],
    );
}
