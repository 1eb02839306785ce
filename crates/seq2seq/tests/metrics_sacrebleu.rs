//! BLEU against sacreBLEU 2.6.0's own numbers.
//!
//! `$S2S_DATA_DIR/bleu/sacrebleu_reference.json` holds, for seven small
//! corpora, sacreBLEU's corpus BLEU under five settings and the sentence
//! BLEU of the first segment, plus the 13a tokenizer's output for eight
//! strings. We must equal every value within 1e-9 relative. Without
//! S2S_DATA_DIR (a fresh clone) the tests print why they skip.

use seq2seq::metrics::{corpus_bleu, sentence_bleu, tokenize_13a, BleuConfig, BleuScore, Smooth, Tokenize};
use serde_json::Value;
use std::path::PathBuf;

fn reference() -> Option<Value> {
    let Some(dir) = std::env::var_os("S2S_DATA_DIR") else {
        eprintln!("skipped: S2S_DATA_DIR is not set (point it at shared/data to run the sacreBLEU comparison)");
        return None;
    };
    let path = PathBuf::from(dir).join("bleu/sacrebleu_reference.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Some(serde_json::from_str(&text).expect("valid JSON"))
}

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-9 * want.abs().max(1e-12)
}

fn ints(v: &Value) -> Vec<u64> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect()
}

/// Compares every field sacreBLEU reported; returns the mismatches.
fn compare(name: &str, got: &BleuScore, want: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let f = |k: &str| want[k].as_f64().unwrap();
    if !close(got.score, f("score")) {
        bad.push(format!("{name}: score {} != {}", got.score, f("score")));
    }
    if !close(got.bp, f("bp")) {
        bad.push(format!("{name}: bp {} != {}", got.bp, f("bp")));
    }
    for (i, p) in want["precisions"].as_array().unwrap().iter().enumerate() {
        if !close(got.precisions[i], p.as_f64().unwrap()) {
            bad.push(format!("{name}: precision {} {} != {p}", i + 1, got.precisions[i]));
        }
    }
    if got.counts != ints(&want["counts"]) || got.totals != ints(&want["totals"]) {
        bad.push(format!("{name}: counts {:?} totals {:?}, want {} {}", got.counts, got.totals, want["counts"], want["totals"]));
    }
    if got.sys_len != want["sys_len"].as_u64().unwrap() || got.ref_len != want["ref_len"].as_u64().unwrap() {
        bad.push(format!("{name}: lengths {} {}, want {} {}", got.sys_len, got.ref_len, want["sys_len"], want["ref_len"]));
    }
    bad
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
}

#[test]
fn every_case_and_variant_matches_sacrebleu() {
    let Some(reference) = reference() else { return };
    let variants: [(&str, BleuConfig); 5] = [
        ("corpus_bleu_default", BleuConfig::default()),
        ("corpus_bleu_tokenize_none", BleuConfig { tokenize: Tokenize::None, ..Default::default() }),
        ("corpus_bleu_smooth_none", BleuConfig { smooth: Smooth::None, ..Default::default() }),
        ("corpus_bleu_smooth_add_k_1", BleuConfig { smooth: Smooth::AddK(1), ..Default::default() }),
        ("corpus_bleu_lowercase", BleuConfig { lowercase: true, ..Default::default() }),
    ];
    let mut bad = Vec::new();
    let mut checked = 0;
    for (case, data) in reference["cases"].as_object().unwrap() {
        let hyps = strings(&data["hyps"]);
        let refs: Vec<Vec<String>> = data["refs"].as_array().unwrap().iter().map(strings).collect();
        for key in data.as_object().unwrap().keys().filter(|k| *k != "hyps" && *k != "refs") {
            let got = if key == "sentence_bleu_first" {
                let first: Vec<&str> = refs.iter().map(|stream| stream[0].as_str()).collect();
                sentence_bleu(&hyps[0], &first, &BleuConfig::sentence()).unwrap()
            } else {
                let Some((_, cfg)) = variants.iter().find(|(name, _)| name == key) else {
                    panic!("{case}: the reference file has a variant {key} this test does not know")
                };
                corpus_bleu(&hyps, &refs, cfg).unwrap()
            };
            bad.extend(compare(&format!("{case}/{key}"), &got, &data[key]));
            checked += 1;
        }
    }
    assert!(bad.is_empty(), "{} mismatches:\n{}", bad.len(), bad.join("\n"));
    assert_eq!(checked, 42, "7 cases × 6 variants");
}

#[test]
fn tokenizer_13a_matches_sacrebleu() {
    let Some(reference) = reference() else { return };
    let cases = reference["tokenizer_13a"].as_object().unwrap();
    assert_eq!(cases.len(), 8);
    for (input, want) in cases {
        assert_eq!(tokenize_13a(input), want.as_str().unwrap(), "input {input:?}");
    }
}

#[test]
fn default_signature_matches_sacrebleu() {
    let Some(reference) = reference() else { return };
    assert_eq!(BleuConfig::default().signature(1), reference["default_signature"].as_str().unwrap());
    assert_eq!(reference["sacrebleu_version"], seq2seq::metrics::SACREBLEU_VERSION);
}
