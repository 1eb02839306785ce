//! `s2s translate`'s decoding options as a user runs them, on tiny models
//! of the dates task (trained once for this file): `--nbest` lists with
//! their scores, `--json` lines with tokens, scores and attention,
//! `--sample` reproducible from its `--seed` (top-k 1 is greedy), and
//! `--replace-unk` copying the most attended source token into each
//! `<unk>`; every conflicting or out-of-range option is refused by name.

mod common;
use common::*;

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

fn scratch(name: &str) -> PathBuf {
    scratch_dir("cli-decode-options", name)
}

/// Trains a tiny model of the dates task into `name`.
fn tiny_model(name: &str, extra: &[&str]) -> PathBuf {
    let out = scratch(name).join("run");
    tiny_dates_model(&out, extra);
    out
}

/// A GRU + Bahdanau attention model (one attention map).
fn gru_attn() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| tiny_model("gru", &["--hidden-size", "16", "--attn-size", "16"]))
}

/// A 1+1-layer Transformer with 2 heads (two cross-attention maps).
fn transformer() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| tiny_model("transformer", &TINY_TRANSFORMER))
}

/// Sutskever's LSTM encoder–decoder: no attention.
fn lstm() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| tiny_model("lstm", &["--model", "lstm", "--hidden-size", "16"]))
}

fn translate(model: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "translate",
        "--device",
        "cpu",
        "--model",
        model.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    s2s(&args)
}

/// Standard output of a successful `translate`.
fn stdout_of(model: &Path, extra: &[&str]) -> String {
    let o = translate(model, extra);
    let (out, err) = text(&o);
    assert!(o.status.success(), "translate {extra:?} failed:\n{err}");
    out
}

/// The error of a `translate` that must fail.
fn error_of(model: &Path, extra: &[&str]) -> String {
    let o = translate(model, extra);
    let (out, err) = text(&o);
    assert!(!o.status.success(), "translate {extra:?} succeeded:\n{out}");
    err
}

fn json_lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// One n-best line: (id, text, log_prob, score).
fn parse_nbest(line: &str) -> (usize, String, f32, f32) {
    let fields: Vec<&str> = line.split(" ||| ").collect();
    assert_eq!(fields.len(), 4, "{line}");
    let log_prob = fields[2]
        .strip_prefix("log_prob=")
        .unwrap_or_else(|| panic!("no log_prob= in {line}"));
    (
        fields[0].parse().unwrap(),
        fields[1].to_string(),
        log_prob.parse().unwrap(),
        fields[3].parse().unwrap(),
    )
}

const SENTENCES: [&str; 3] = ["3/3/21", "March 3rd, 2021", "the 4th of May 1999"];

#[test]
fn help_documents_the_options() {
    let (out, _) = text(&s2s(&["translate", "--help"]));
    for opt in [
        "--nbest",
        "--json",
        "--sample",
        "--temperature",
        "--top-k",
        "--top-p",
        "--seed",
        "--replace-unk",
        "--length-norm",
    ] {
        assert!(out.contains(opt), "--help does not mention {opt}:\n{out}");
    }
}

#[test]
fn nbest_lists_the_beams_best_with_their_scores() {
    for model in [gru_attn(), transformer(), lstm()] {
        let best = stdout_of(model, &["--beam", "4", SENTENCES[0], SENTENCES[1]]);
        let best: Vec<&str> = best.lines().collect();
        // an empty input line has no hypotheses, and keeps its number
        let out = stdout_of(
            model,
            &[
                "--beam",
                "4",
                "--nbest",
                "3",
                SENTENCES[0],
                "",
                SENTENCES[1],
            ],
        );
        let lines: Vec<_> = out.lines().map(parse_nbest).collect();
        assert_eq!(lines.len(), 6, "{out}");
        for (k, (id, want)) in [(0, best[0]), (2, best[1])].into_iter().enumerate() {
            let list = &lines[3 * k..3 * k + 3];
            assert!(list.iter().all(|l| l.0 == id), "{out}");
            assert_eq!(list[0].1, want, "the n-best list starts elsewhere:\n{out}");
            assert!(
                list.windows(2).all(|p| p[0].3 >= p[1].3),
                "not ranked:\n{out}"
            );
            // the GNMT penalty divides a negative log-probability by lp ≥ 1
            assert!(list.iter().all(|l| l.2 <= l.3 && l.3 <= 0.0), "{out}");
        }
        // without a length penalty the score is the log-probability
        let out = stdout_of(
            model,
            &[
                "--beam",
                "2",
                "--nbest",
                "2",
                "--length-penalty",
                "0",
                SENTENCES[2],
            ],
        );
        for (_, _, log_prob, score) in out.lines().map(parse_nbest) {
            assert_eq!(log_prob, score, "{out}");
        }
    }
    let e = error_of(gru_attn(), &["--nbest", "6", "3/3/21"]);
    assert!(e.contains("--nbest 6") && e.contains("--beam 5"), "{e}");
    let e = error_of(gru_attn(), &["--nbest", "0", "3/3/21"]);
    assert!(e.contains("--nbest 0"), "{e}");
}

#[test]
fn json_lines_hold_tokens_scores_nbest_and_attention() {
    for (model, maps) in [(gru_attn(), 1), (transformer(), 2), (lstm(), 0)] {
        let plain = stdout_of(model, &["--beam", "3", SENTENCES[0], SENTENCES[1]]);
        let out = stdout_of(
            model,
            &["--beam", "3", "--json", SENTENCES[0], "", SENTENCES[1]],
        );
        let lines = json_lines(&out);
        assert_eq!(lines.len(), 3, "one object per input line:\n{out}");
        assert_eq!(lines[1]["source"], "");
        assert_eq!(lines[1]["text"], "");
        assert!(lines[1]["score"].is_null());
        let texts: Vec<&str> = [&lines[0], &lines[2]]
            .iter()
            .map(|v| v["text"].as_str().unwrap())
            .collect();
        assert_eq!(texts, plain.lines().collect::<Vec<_>>());
        for (id, v) in [(0, &lines[0]), (2, &lines[2])] {
            assert_eq!(v["id"], id);
            assert_eq!(
                v["source"],
                if id == 0 { SENTENCES[0] } else { SENTENCES[1] }
            );
            assert!(v.get("nbest").is_none(), "an n-best list nobody asked for");
            let src = v["source_tokens"].as_array().unwrap();
            assert_eq!(src.last().unwrap(), "<eos>");
            let tokens = v["tokens"].as_array().unwrap().len();
            let (log_prob, score) = (
                v["log_prob"].as_f64().unwrap(),
                v["score"].as_f64().unwrap(),
            );
            assert!(log_prob <= score && score <= 0.0, "{v}");
            let attention = v["attention"].as_array().unwrap();
            assert_eq!(attention.len(), maps, "{v}");
            for m in attention {
                let rows = m["weights"].as_array().unwrap();
                // one row per output token, and one for <eos> when written
                assert!(rows.len() == tokens || rows.len() == tokens + 1, "{m}");
                for row in rows {
                    let row = row.as_array().unwrap();
                    assert_eq!(row.len(), src.len());
                    let sum: f64 = row.iter().map(|w| w.as_f64().unwrap()).sum();
                    assert!((sum - 1.0).abs() < 1e-4, "{} row sums to {sum}", m["name"]);
                }
            }
        }
        // with --nbest, the list; its first entry is the best
        let out = stdout_of(
            model,
            &["--beam", "3", "--nbest", "3", "--json", SENTENCES[2]],
        );
        let v = &json_lines(&out)[0];
        let list = v["nbest"].as_array().unwrap();
        assert_eq!(list.len(), 3, "{v}");
        for key in ["tokens", "text", "log_prob", "score"] {
            assert_eq!(list[0][key], v[key], "{key}");
        }
    }
}

/// `--length-norm`: each hypothesis' score is its log-probability over
/// the rule's lp, |Y| counting the `<eos>` (absent only at the length
/// limit); a rule that is neither gnmt nor power is refused by name.
#[test]
fn length_norm_picks_the_length_penalty() {
    let max_len = 30;
    for model in [gru_attn(), transformer()] {
        for (rule, alpha) in [("gnmt", 0.6), ("power", 0.6), ("power", 1.0)] {
            let mut args = vec![
                "--beam".to_string(),
                "3".into(),
                "--json".into(),
                "--max-len-ratio".into(),
                "0".into(),
                "--max-len".into(),
                max_len.to_string(),
                "--length-penalty".into(),
                alpha.to_string(),
                "--length-norm".into(),
                rule.into(),
            ];
            args.extend(SENTENCES.iter().map(|s| s.to_string()));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = stdout_of(model, &args);
            let lines = json_lines(&out);
            assert_eq!(lines.len(), SENTENCES.len(), "{out}");
            for v in &lines {
                let words = v["tokens"].as_array().unwrap().len();
                let len = match words < max_len {
                    true => words + 1,
                    false => words,
                } as f64;
                let lp = match rule {
                    "gnmt" => ((5.0 + len) / 6.0).powf(alpha),
                    _ => len.powf(alpha),
                };
                let (log_prob, score) = (
                    v["log_prob"].as_f64().unwrap(),
                    v["score"].as_f64().unwrap(),
                );
                assert!(
                    (score - log_prob / lp).abs() < 1e-4 * score.abs().max(1.0),
                    "{rule} α {alpha}: score {score}, log_prob {log_prob}, |Y| {len}: {v}"
                );
            }
        }
    }
    let e = error_of(gru_attn(), &["--length-norm", "linear", "3/3/21"]);
    assert!(
        e.contains("--length-norm") && e.contains("linear") && e.contains("gnmt, power"),
        "{e}"
    );
}

#[test]
fn sampling_is_reproducible_from_the_seed() {
    for model in [gru_attn(), transformer(), lstm()] {
        let run = |seed: &str| {
            let mut args = vec!["--sample", "--temperature", "2", "--seed", seed, "--json"];
            args.extend(SENTENCES);
            args.extend(SENTENCES);
            stdout_of(model, &args)
        };
        let first = run("7");
        assert_eq!(first, run("7"), "the same seed drew something else");
        assert_ne!(first, run("8"), "seeds 7 and 8 drew the same six outputs");
        // standard input draws what the arguments drew, line by line
        let mut child = Command::new(env!("CARGO_BIN_EXE_s2s"))
            .args(["translate", "--device", "cpu", "--model"])
            .arg(model)
            .args(["--sample", "--temperature", "2", "--seed", "7", "--json"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("s2s runs");
        let mut stdin = child.stdin.take().unwrap();
        for s in SENTENCES.iter().chain(&SENTENCES) {
            writeln!(stdin, "{s}").unwrap();
        }
        drop(stdin);
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", text(&o).1);
        // (the tokens: a batch of one may round the scores differently)
        let tokens = |out: &str| -> Vec<Value> {
            json_lines(out)
                .iter()
                .map(|v| v["tokens"].clone())
                .collect()
        };
        assert_eq!(
            tokens(&text(&o).0),
            tokens(&first),
            "standard input drew other outputs"
        );
    }
}

#[test]
fn sampling_the_top_token_is_greedy() {
    for model in [gru_attn(), transformer(), lstm()] {
        let greedy = stdout_of(
            model,
            &["--beam", "1", "--json", SENTENCES[0], SENTENCES[1]],
        );
        for filter in [["--top-k", "1"], ["--top-p", "0.000001"]] {
            let mut args = vec!["--sample", "--seed", "3", "--json"];
            args.extend(filter);
            args.extend(&SENTENCES[..2]);
            let sampled = stdout_of(model, &args);
            for (s, g) in json_lines(&sampled).iter().zip(json_lines(&greedy)) {
                assert_eq!(s["tokens"], g["tokens"], "{filter:?}");
                let (a, b) = (
                    s["log_prob"].as_f64().unwrap(),
                    g["log_prob"].as_f64().unwrap(),
                );
                assert!(
                    (a - b).abs() < 1e-5,
                    "{filter:?}: log_prob {a} vs greedy {b}"
                );
            }
        }
    }
}

#[test]
fn conflicting_or_out_of_range_options_are_refused_by_name() {
    let model = gru_attn();
    for (args, want) in [
        (&["--sample", "--beam", "3"][..], "--beam 3"),
        (&["--sample", "--nbest", "1"], "--nbest"),
        (
            &["--temperature", "2"],
            "--temperature only applies when sampling",
        ),
        (&["--top-k", "2"], "--top-k only applies"),
        (&["--top-p", "0.5"], "--top-p only applies"),
        (&["--seed", "2"], "--seed only applies"),
        (&["--sample", "--temperature", "0"], "--temperature 0"),
        (&["--sample", "--top-p", "0"], "--top-p 0"),
        (&["--sample", "--top-p", "1.5"], "--top-p 1.5"),
    ] {
        let mut all = args.to_vec();
        all.push("3/3/21");
        let e = error_of(model, &all);
        assert!(e.contains(want), "{args:?}: {e}");
    }
    // --beam 1 is what sampling does anyway
    stdout_of(model, &["--sample", "--beam", "1", "3/3/21"]);
    let e = error_of(lstm(), &["--replace-unk", "3/3/21"]);
    assert!(
        e.contains("--replace-unk") && e.contains("no attention"),
        "{e}"
    );
}

/// The most attended source token of attention row `row`, the source's
/// `<eos>` left out (as replacement does).
fn most_attended(source: &[Value], row: &[Value]) -> String {
    let mut best: Option<(usize, f64)> = None;
    for (j, w) in row.iter().enumerate() {
        let w = w.as_f64().unwrap();
        if source[j] != "<eos>" && best.is_none_or(|(_, b)| w > b) {
            best = Some((j, w));
        }
    }
    source[best.unwrap().0].as_str().unwrap().to_string()
}

/// An undertrained model still writes `<unk>` now and then when sampling
/// at a high temperature: the sample with `--replace-unk` is the same draw
/// with each `<unk>` replaced by the most attended source character.
#[test]
fn replace_unk_copies_the_most_attended_source_token() {
    for (model, name) in [(gru_attn(), "gru"), (transformer(), "transformer")] {
        let sampled = |seed: &str, replace: bool| {
            let mut args = vec!["--sample", "--temperature", "2", "--seed", seed, "--json"];
            if replace {
                args.push("--replace-unk");
            }
            args.extend(SENTENCES);
            json_lines(&stdout_of(model, &args))
        };
        let mut replaced = 0;
        for seed in 1..=30 {
            let seed = seed.to_string();
            let raw = sampled(&seed, false);
            if !raw
                .iter()
                .any(|v| v["tokens"].to_string().contains("<unk>"))
            {
                continue;
            }
            for (r, v) in raw.iter().zip(sampled(&seed, true)) {
                let (before, after) = (
                    r["tokens"].as_array().unwrap(),
                    v["tokens"].as_array().unwrap(),
                );
                assert_eq!(before.len(), after.len());
                let src = r["source_tokens"].as_array().unwrap();
                let maps = r["attention"].as_array().unwrap();
                for (t, (b, a)) in before.iter().zip(after).enumerate() {
                    if b != "<unk>" {
                        assert_eq!(a, b, "{name}: a known token changed");
                        continue;
                    }
                    // the last layer's heads, averaged (one map for the GRU)
                    let cols = src.len();
                    let mut row = vec![0.0; cols];
                    for m in maps {
                        for (j, w) in m["weights"][t].as_array().unwrap().iter().enumerate() {
                            row[j] += w.as_f64().unwrap() / maps.len() as f64;
                        }
                    }
                    let row: Vec<Value> = row.into_iter().map(Value::from).collect();
                    assert_eq!(
                        a.as_str().unwrap(),
                        most_attended(src, &row),
                        "{name} seed {seed}"
                    );
                    replaced += 1;
                }
                assert!(
                    !v["text"].as_str().unwrap().contains("<unk>"),
                    "{name}: {v}"
                );
            }
            if replaced >= 3 {
                break;
            }
        }
        assert!(
            replaced > 0,
            "{name}: no sample of seeds 1..30 has an <unk> to replace"
        );
    }
}
