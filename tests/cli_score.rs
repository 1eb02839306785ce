//! `s2s score` as a user runs it: against every case of the sacreBLEU 2.6.0
//! reference file (when S2S_DATA_DIR is set), from files and from stdin, and
//! its errors.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn s2s() -> Command {
    Command::new(env!("CARGO_BIN_EXE_s2s"))
}

fn temp(name: &str, lines: &[String]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("s2s-cli-score-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(&path, text).unwrap();
    path
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn matches_every_sacrebleu_reference_value() {
    let Ok(dir) = std::env::var("S2S_DATA_DIR") else {
        eprintln!("skipped: S2S_DATA_DIR is not set (CI sets it to ../shared/data)");
        return;
    };
    let path = PathBuf::from(dir).join("bleu/sacrebleu_reference.json");
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut checked = 0;
    for (case, data) in reference["cases"].as_object().unwrap() {
        let hyp = temp(&format!("{case}.hyp"), &strings(&data["hyps"]));
        let refs: Vec<PathBuf> = data["refs"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(k, r)| temp(&format!("{case}.ref{k}"), &strings(r)))
            .collect();
        for (variant, flags) in [
            ("corpus_bleu_default", vec![]),
            ("corpus_bleu_tokenize_none", vec!["--tokenize", "none"]),
            ("corpus_bleu_lowercase", vec!["--lowercase"]),
        ] {
            let Some(want) = data.get(variant) else {
                continue;
            };
            let mut cmd = s2s();
            cmd.arg("score")
                .arg("--json")
                .arg("--hyp")
                .arg(&hyp)
                .args(&flags);
            for r in &refs {
                cmd.arg("--ref").arg(r);
            }
            let out = cmd.output().unwrap();
            assert!(
                out.status.success(),
                "{case} {variant}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let (g, w) = (
                got["score"].as_f64().unwrap(),
                want["score"].as_f64().unwrap(),
            );
            assert!(
                (g - w).abs() <= 1e-9 * w.abs().max(1e-9),
                "{case} {variant}: {g} vs sacreBLEU {w}"
            );
            for key in ["counts", "totals", "sys_len", "ref_len"] {
                assert_eq!(got[key], want[key], "{case} {variant}: {key}");
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 20,
        "only {checked} reference values were checked"
    );
}

#[test]
fn reads_hypotheses_from_stdin_and_prints_the_signature() {
    let reference = temp("stdin.ref", &["the cat sat on the mat".to_string()]);
    let mut child = s2s()
        .args(["score", "--ref"])
        .arg(&reference)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"the cat sat on the mat\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("BLEU = 100.00"), "{text}");
    assert!(
        text.contains("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"),
        "{text}"
    );
}

#[test]
fn mismatched_or_missing_files_are_clear_errors() {
    let hyp = temp("short.hyp", &["a".to_string()]);
    let reference = temp("long.ref", &["a".to_string(), "b".to_string()]);
    let out = s2s()
        .args(["score", "--hyp"])
        .arg(&hyp)
        .arg("--ref")
        .arg(&reference)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("long.ref has 2 lines") && err.contains("short.hyp"),
        "{err}"
    );
    let out = s2s()
        .args(["score", "--hyp", "/nonexistent/h.txt", "--ref"])
        .arg(&reference)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/h.txt"));
}
