//! BLEU against sacreBLEU 2.6.0's own numbers.
//!
//! `$S2S_DATA_DIR/bleu/sacrebleu_reference.json` holds, for seven small
//! corpora, sacreBLEU's corpus BLEU under five settings and the sentence
//! BLEU of the first segment, plus the 13a tokenizer's output for eight
//! strings. We must equal every value within 1e-9 relative. Without
//! S2S_DATA_DIR (a fresh clone) the tests print why they skip.

use seq2seq::metrics::{
    corpus_bleu, sentence_bleu, tokenize_13a, BleuConfig, BleuScore, Smooth, Tokenize,
};
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
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
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
            bad.push(format!(
                "{name}: precision {} {} != {p}",
                i + 1,
                got.precisions[i]
            ));
        }
    }
    if got.counts != ints(&want["counts"]) || got.totals != ints(&want["totals"]) {
        bad.push(format!(
            "{name}: counts {:?} totals {:?}, want {} {}",
            got.counts, got.totals, want["counts"], want["totals"]
        ));
    }
    if got.sys_len != want["sys_len"].as_u64().unwrap()
        || got.ref_len != want["ref_len"].as_u64().unwrap()
    {
        bad.push(format!(
            "{name}: lengths {} {}, want {} {}",
            got.sys_len, got.ref_len, want["sys_len"], want["ref_len"]
        ));
    }
    bad
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_case_and_variant_matches_sacrebleu() {
    let Some(reference) = reference() else { return };
    let variants: [(&str, BleuConfig); 5] = [
        ("corpus_bleu_default", BleuConfig::default()),
        (
            "corpus_bleu_tokenize_none",
            BleuConfig {
                tokenize: Tokenize::None,
                ..Default::default()
            },
        ),
        (
            "corpus_bleu_smooth_none",
            BleuConfig {
                smooth: Smooth::None,
                ..Default::default()
            },
        ),
        (
            "corpus_bleu_smooth_add_k_1",
            BleuConfig {
                smooth: Smooth::AddK(1),
                ..Default::default()
            },
        ),
        (
            "corpus_bleu_lowercase",
            BleuConfig {
                lowercase: true,
                ..Default::default()
            },
        ),
    ];
    let mut bad = Vec::new();
    let mut checked = 0;
    for (case, data) in reference["cases"].as_object().unwrap() {
        let hyps = strings(&data["hyps"]);
        let refs: Vec<Vec<String>> = data["refs"]
            .as_array()
            .unwrap()
            .iter()
            .map(strings)
            .collect();
        for key in data
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "hyps" && *k != "refs")
        {
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
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert_eq!(checked, 42, "7 cases × 6 variants");
}

#[test]
fn tokenizer_13a_matches_sacrebleu() {
    let Some(reference) = reference() else { return };
    let cases = reference["tokenizer_13a"].as_object().unwrap();
    assert_eq!(cases.len(), 8);
    for (input, want) in cases {
        assert_eq!(
            tokenize_13a(input),
            want.as_str().unwrap(),
            "input {input:?}"
        );
    }
}

#[test]
fn default_signature_matches_sacrebleu() {
    let Some(reference) = reference() else { return };
    assert_eq!(
        BleuConfig::default().signature(1),
        reference["default_signature"].as_str().unwrap()
    );
    assert_eq!(
        reference["sacrebleu_version"],
        seq2seq::metrics::SACREBLEU_VERSION
    );
}

/// Name, settings, references, and sacreBLEU's score, counts, sys_len, ref_len.
type Multi30kCase<'a> = (
    &'a str,
    BleuConfig,
    &'a [Vec<String>],
    f64,
    [u64; 4],
    u64,
    u64,
);

/// Lines of a Multi30k file (each ends with a newline).
fn multi30k(dir: &std::path::Path, name: &str) -> Vec<String> {
    let path = dir.join("multi30k").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().map(String::from).collect()
}

/// A whole real test set: the Multi30k validation English, scoring its
/// upstream tokenized, lowercased version against the raw text (and the
/// French as a nonsense second reference). Expected values from sacreBLEU
/// 2.6.0: `BLEU(...).corpus_score(hyp, refs)`, `CHRF(...).corpus_score(...)`.
#[test]
fn multi30k_validation_set_matches_sacrebleu() {
    use seq2seq::metrics::{corpus_chrf, ChrfConfig};
    let Some(dir) = std::env::var_os("S2S_DATA_DIR").map(PathBuf::from) else {
        eprintln!("skipped: S2S_DATA_DIR is not set");
        return;
    };
    let hyp = multi30k(&dir, "tok/val.lc.norm.tok.en");
    let (en, fr) = (multi30k(&dir, "raw/val.en"), multi30k(&dir, "raw/val.fr"));
    let one = [en.clone()];
    let two = [en, fr];
    let cases: [Multi30kCase; 4] = [
        (
            "default",
            BleuConfig::default(),
            &one,
            88.77044857710719,
            [12170, 11076, 10005, 8953],
            13384,
            13289,
        ),
        (
            "lowercase",
            BleuConfig {
                lowercase: true,
                ..Default::default()
            },
            &one,
            98.69163027427209,
            [13265, 12228, 11192, 10161],
            13384,
            13289,
        ),
        (
            "tokenize none",
            BleuConfig {
                tokenize: Tokenize::None,
                ..Default::default()
            },
            &one,
            69.06904268429773,
            [9953, 8765, 7612, 6493],
            13308,
            12167,
        ),
        (
            "two refs",
            BleuConfig::default(),
            &two,
            88.79232309893084,
            [12182, 11076, 10005, 8953],
            13384,
            13326,
        ),
    ];
    for (name, cfg, refs, score, counts, sys_len, ref_len) in cases {
        let s = corpus_bleu(&hyp, refs, &cfg).unwrap();
        assert!(close(s.score, score), "{name}: {} != {score}", s.score);
        assert_eq!(
            (s.counts.as_slice(), s.sys_len, s.ref_len),
            (&counts[..], sys_len, ref_len),
            "{name}"
        );
    }
    let chrf = corpus_chrf(&hyp, &one, &ChrfConfig::default()).unwrap();
    assert!(close(chrf.score, 96.99581709748409), "chrF {}", chrf.score);
    let pp = ChrfConfig {
        word_order: 2,
        ..Default::default()
    };
    let chrf_pp = corpus_chrf(&hyp, &two, &pp).unwrap();
    assert!(
        close(chrf_pp.score, 95.43190730448188),
        "chrF++ {}",
        chrf_pp.score
    );
}
