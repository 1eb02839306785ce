//! BLEU without any data files: hand-computed cases, sacreBLEU values
//! recorded inline, the 13a tokenizer's corner cases, signatures, errors.
//!
//! The inline sacreBLEU values were computed with sacreBLEU 2.6.0
//! (`BLEU(...).corpus_score(hyps, refs)`, `Tokenizer13a()(s)`).

use seq2seq::metrics::{
    corpus_bleu, sentence_bleu, tokenize_13a, tokenized_bleu, BleuConfig, MetricError, Smooth,
    Tokenize,
};

fn assert_close(got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-9 * want.abs().max(1e-12),
        "got {got}, want {want}"
    );
}

fn none_cfg(smooth: Smooth) -> BleuConfig {
    BleuConfig {
        tokenize: Tokenize::None,
        smooth,
        ..Default::default()
    }
}

#[test]
fn perfect_but_short_hypothesis_pays_the_brevity_penalty() {
    // 4 of 5 reference words, all n-grams right: BLEU = 100 · exp(1 − 5/4).
    let s = corpus_bleu(&["a b c d"], &[vec!["a b c d e"]], &none_cfg(Smooth::Exp)).unwrap();
    assert_eq!(
        (s.counts.clone(), s.totals.clone()),
        (vec![4, 3, 2, 1], vec![4, 3, 2, 1])
    );
    assert_close(s.bp, (-0.25f64).exp());
    assert_close(s.score, 100.0 * (-0.25f64).exp());
}

#[test]
fn clipping_and_exp_smoothing_by_hand() {
    // "the the the the" vs "the cat": 1 of 4 unigrams clips through, no
    // longer n-gram matches. exp smoothing gives the k-th empty order
    // 100 / (2^k · total): 100/6, 100/8, 100/8.
    let s = corpus_bleu(
        &["the the the the"],
        &[vec!["the cat"]],
        &none_cfg(Smooth::Exp),
    )
    .unwrap();
    assert_eq!(s.counts, vec![1, 0, 0, 0]);
    assert_eq!(s.totals, vec![4, 3, 2, 1]);
    let want = ((25.0f64).ln() + (100.0f64 / 6.0).ln() + (12.5f64).ln() + (12.5f64).ln()) / 4.0;
    assert_close(s.score, want.exp());
    let none = corpus_bleu(
        &["the the the the"],
        &[vec!["the cat"]],
        &none_cfg(Smooth::None),
    )
    .unwrap();
    assert_eq!(none.score, 0.0);
}

#[test]
fn corpus_statistics_add_up_over_segments() {
    // Two segments: precisions are ratios of sums, not means of ratios.
    let hyps = ["a b", "c d e f"];
    let refs = [vec!["a x", "c d e f"]];
    let s = corpus_bleu(&hyps, &refs, &none_cfg(Smooth::None)).unwrap();
    assert_eq!(s.counts, vec![5, 3, 2, 1]);
    assert_eq!(s.totals, vec![6, 4, 2, 1]);
    let expect = 100.0 * (((5.0f64 / 6.0).ln() + 0.75f64.ln()) / 4.0).exp();
    assert_close(s.score, expect);
}

#[test]
fn closest_reference_length_prefers_the_shorter_on_ties() {
    // Hypothesis of 4 words, references of 3 and 5: both 1 away → r = 3.
    let s = corpus_bleu(
        &["a b c d"],
        &[vec!["a b c"], vec!["a b c d e"]],
        &none_cfg(Smooth::Exp),
    )
    .unwrap();
    assert_eq!(s.ref_len, 3);
    assert_eq!(s.bp, 1.0);
}

#[test]
fn two_references_and_floor_smoothing_match_sacrebleu() {
    let hyps = [
        "The cat sat on the mat.",
        "Il fait beau aujourd'hui !",
        "chats",
        "",
    ];
    let r1 = vec![
        "The cat is on the mat.",
        "Il fait très beau aujourd'hui.",
        "chat",
        "Rien",
    ];
    let r2 = vec![
        "A cat sat on a mat.",
        "Quel beau temps aujourd'hui !",
        "les chats",
        "x",
    ];
    let s = corpus_bleu(&hyps, &[r1.clone(), r2], &BleuConfig::default()).unwrap();
    assert_close(s.score, 45.09447798208122);
    assert_eq!(
        (s.counts.clone(), s.totals.clone(), s.sys_len, s.ref_len),
        (vec![13, 9, 3, 1], vec![13, 10, 8, 6], 13, 14)
    );
    assert_eq!(
        s.format(),
        "BLEU = 45.09 100.0/90.0/37.5/16.7 (BP = 0.926 ratio = 0.929 hyp_len = 13 ref_len = 14)"
    );
    assert_eq!(
        s.signature,
        "nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"
    );

    let cfg = BleuConfig {
        smooth: Smooth::Floor(0.1),
        ..Default::default()
    };
    let s = corpus_bleu(&hyps, &[r1], &cfg).unwrap();
    assert_close(s.score, 31.928949385217535);
    assert_eq!(
        (s.counts.clone(), s.sys_len, s.ref_len),
        (vec![10, 6, 2, 1], 13, 15)
    );
    assert_eq!(
        s.signature,
        "nrefs:1|case:mixed|eff:no|tok:13a|smooth:floor[0.10]|version:2.6.0"
    );
}

#[test]
fn signatures_name_every_option() {
    let cfg = BleuConfig {
        tokenize: Tokenize::None,
        lowercase: true,
        smooth: Smooth::AddK(1),
        effective_order: false,
    };
    assert_eq!(
        cfg.signature(1),
        "nrefs:1|case:lc|eff:no|tok:none|smooth:add-k[1.00]|version:2.6.0"
    );
    assert_eq!(
        BleuConfig::sentence().signature(3),
        "nrefs:3|case:mixed|eff:yes|tok:13a|smooth:exp|version:2.6.0"
    );
}

#[test]
fn tokenizer_13a_corner_cases_match_sacrebleu() {
    let cases = [
        ("a..b", "a . . b"),
        ("3.5.6", "3.5.6"),
        ("1,2,3 and 4,5.", "1,2,3 and 4,5 ."),
        ("x-1-2-y", "x-1 - 2 - y"),
        ("2021-03-03", "2021 - 03 - 03"),
        ("(hi)", "( hi )"),
        ("it's $5.00!", "it's $ 5.00 !"),
        ("e.g. U.S.", "e . g . U . S ."),
        ("a\u{a0}!b", "a ! b"),
        ("Ça va\u{202f}?", "Ça va ?"),
        ("tab\there", "tab here"),
        ("--3-", "--3 -"),
        ("<skipped>ok", "ok"),
        ("line-\nbreak", "linebreak"),
        ("a\nb", "a b"),
        ("&amp;quot;", "& quot ;"),
        ("a&b", "a & b"),
        ("{[x]}~^_`|", "{ [ x ] } ~ ^ _ ` |"),
        ("9,a.9", "9 , a . 9"),
        (".5,", ". 5 ,"),
        ("\u{2019}quoted\u{2019}", "\u{2019}quoted\u{2019}"),
        ("x\u{1c}y", "x y"),
    ];
    for (input, want) in cases {
        assert_eq!(tokenize_13a(input), want, "input {input:?}");
    }
}

#[test]
fn tokenized_bleu_is_unsmoothed_bleu_on_token_lists() {
    let hyp = vec![vec!["the", "cat", "is", "on", "the", "mat"]];
    let refs = vec![vec![vec!["the", "cat", "sat", "on", "the", "mat"]]];
    let s = tokenized_bleu(&hyp, &refs).unwrap();
    assert_eq!(s.counts, vec![5, 3, 1, 0]);
    assert_eq!(s.score, 0.0, "no 4-gram match and no smoothing");
    assert_eq!(
        s.signature,
        "nrefs:1|case:mixed|eff:no|tok:none|smooth:none|version:2.6.0"
    );
    let same = tokenized_bleu(&refs[0], &refs).unwrap();
    assert_close(same.score, 100.0);
}

#[test]
fn sentence_bleu_uses_effective_order() {
    // Three words: no 4-grams, so sentence BLEU averages orders 1..3 only.
    let s = sentence_bleu(
        "the cat sat",
        &["the cat sat on the mat"],
        &BleuConfig::sentence(),
    )
    .unwrap();
    assert_close(s.score, 100.0 * (-1.0f64).exp());
}

#[test]
fn mismatched_inputs_are_errors() {
    let cfg = BleuConfig::default();
    let err = corpus_bleu(&["a", "b"], &[vec!["a"]], &cfg).unwrap_err();
    assert_eq!(
        err,
        MetricError::LengthMismatch {
            stream: 1,
            refs: 1,
            hyps: 2
        }
    );
    assert!(err
        .to_string()
        .contains("1 sentences but there are 2 hypotheses"));
    let none: Vec<Vec<&str>> = vec![];
    assert_eq!(
        corpus_bleu(&["a"], &none, &cfg).unwrap_err(),
        MetricError::NoReferences
    );
}

#[test]
fn empty_corpus_scores_zero() {
    let empty: [&str; 0] = [];
    let s = corpus_bleu(&empty, &[Vec::<&str>::new()], &BleuConfig::default()).unwrap();
    assert_eq!((s.score, s.sys_len, s.ref_len), (0.0, 0, 0));
}
