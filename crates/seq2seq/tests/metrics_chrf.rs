//! chrF: a hand-computed case and values recorded from sacreBLEU 2.6.0
//! (`CHRF(...).corpus_score(hyps, refs)`), no data files needed.

use seq2seq::metrics::{corpus_chrf, sentence_chrf, ChrfConfig};

fn assert_close(got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-9 * want.abs().max(1e-12),
        "got {got}, want {want}"
    );
}

const HYPS: [&str; 4] = [
    "The cat sat on the mat.",
    "Il fait beau aujourd'hui !",
    "chats",
    "",
];
const REF1: [&str; 4] = [
    "The cat is on the mat.",
    "Il fait très beau aujourd'hui.",
    "chat",
    "Rien",
];
const REF2: [&str; 4] = [
    "A cat sat on a mat.",
    "Quel beau temps aujourd'hui !",
    "les chats",
    "x",
];

#[test]
fn hand_computed_chrf() {
    // "ab" vs "abc" at char order 2: order 1: P = 2/2, R = 2/3; order 2:
    // P = 1/1, R = 1/2. Averages P = 1, R = 7/12; β = 2:
    // F = 5 P R / (4 P + R) = 5·(7/12) / (4 + 7/12).
    let cfg = ChrfConfig {
        char_order: 2,
        ..Default::default()
    };
    let s = sentence_chrf("ab", &["abc"], &cfg).unwrap();
    let r = 7.0 / 12.0;
    assert_close(s.score, 100.0 * 5.0 * r / (4.0 + r));
}

#[test]
fn identical_text_scores_100_and_white_space_is_ignored() {
    let s = sentence_chrf("le chat", &["lechat"], &ChrfConfig::default()).unwrap();
    assert_close(s.score, 100.0);
}

#[test]
fn matches_sacrebleu_defaults() {
    let cfg = ChrfConfig::default();
    let s = corpus_chrf(&HYPS, &[REF1.to_vec()], &cfg).unwrap();
    assert_close(s.score, 67.02453710214392);
    assert_eq!(
        s.signature,
        "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0"
    );
    assert_eq!(s.format(&cfg), "chrF2 = 67.02");
    let two = corpus_chrf(&HYPS, &[REF1.to_vec(), REF2.to_vec()], &cfg).unwrap();
    assert_close(two.score, 67.02453710214392);
    let first = sentence_chrf(HYPS[0], &[REF1[0]], &cfg).unwrap();
    assert_close(first.score, 67.17273492330233);
}

#[test]
fn matches_sacrebleu_variants() {
    let pp = ChrfConfig {
        word_order: 2,
        ..Default::default()
    };
    let s = corpus_chrf(&HYPS, &[REF1.to_vec(), REF2.to_vec()], &pp).unwrap();
    assert_close(s.score, 65.77650192472485);
    assert_eq!(
        s.signature,
        "nrefs:2|case:mixed|eff:yes|nc:6|nw:2|space:no|version:2.6.0"
    );
    assert_eq!(s.format(&pp), "chrF2++ = 65.78");

    let lc_ws = ChrfConfig {
        lowercase: true,
        whitespace: true,
        ..Default::default()
    };
    assert_close(
        corpus_chrf(&HYPS, &[REF1.to_vec()], &lc_ws).unwrap().score,
        73.35941759834868,
    );
    let eps = ChrfConfig {
        eps_smoothing: true,
        ..Default::default()
    };
    assert_close(
        corpus_chrf(&HYPS, &[REF1.to_vec()], &eps).unwrap().score,
        67.02212313065846,
    );
}

#[test]
fn mismatched_streams_are_an_error() {
    assert!(corpus_chrf(&["a", "b"], &[vec!["a"]], &ChrfConfig::default()).is_err());
}
