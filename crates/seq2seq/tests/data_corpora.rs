//! The real corpora in `$S2S_DATA_DIR` (shared/data): the PyTorch
//! tutorial's Tatoeba subset and Multi30k. Skipped, with a message, when
//! S2S_DATA_DIR is unset.

use seq2seq::data::{
    read_parallel, read_tsv, split_by_seed, tutorial_vocab_sizes, Normalization, ReadOptions, Side,
    TsvColumns, TutorialFilter,
};
use std::path::PathBuf;

fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("S2S_DATA_DIR").map(PathBuf::from);
    if dir.is_none() {
        eprintln!(
            "skipped: S2S_DATA_DIR is not set (point it at shared/data to test the real corpora)"
        );
    }
    dir
}

/// The tutorial's `prepareData('eng', 'fra', True)`, step by step.
fn tutorial(
    dir: &std::path::Path,
    normalization: Normalization,
) -> (usize, Vec<seq2seq::data::Pair>) {
    let opts = ReadOptions {
        normalization,
        ..Default::default()
    };
    let corpus = read_tsv(dir.join("tatoeba/eng-fra.txt"), TsvColumns::REVERSE, &opts).unwrap();
    let kept = TutorialFilter::pytorch(Side::Target).apply(&corpus.pairs);
    (corpus.summary.lines, kept)
}

#[test]
fn tatoeba_tutorial_subset_is_reproduced() {
    let Some(dir) = data_dir() else { return };
    let (read, pairs) = tutorial(&dir, Normalization::Tutorial);
    assert_eq!(read, 135_842, "Read 135842 sentence pairs");
    assert_eq!(pairs.len(), 11_445, "Trimmed to 11445 sentence pairs");
    assert_eq!(
        tutorial_vocab_sizes(&pairs),
        (4_601, 2_991),
        "fra 4601 / eng 2991 (with SOS and EOS)"
    );
    assert_eq!(
        (pairs[0].src.as_str(), pairs[0].tgt.as_str()),
        ("je vais bien", "i m ok")
    );
}

#[test]
fn tatoeba_older_tutorial_regex_is_reproduced() {
    let Some(dir) = data_dir() else { return };
    let (_, pairs) = tutorial(&dir, Normalization::TutorialKeepPeriod);
    assert_eq!(pairs.len(), 10_599);
    assert_eq!(tutorial_vocab_sizes(&pairs), (4_345, 2_803));
}

#[test]
fn tatoeba_reads_cleanly_with_nfc_and_splits_by_seed() {
    let Some(dir) = data_dir() else { return };
    let corpus = read_tsv(
        dir.join("tatoeba/eng-fra.txt"),
        TsvColumns::FORWARD,
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(corpus.summary.pairs, 135_842);
    assert_eq!(corpus.summary.skipped(), 0);
    let (_, subset) = tutorial(&dir, Normalization::Tutorial);
    let a = split_by_seed(&subset, 0.0, 0.1, 7).unwrap();
    let b = split_by_seed(&subset, 0.0, 0.1, 7).unwrap();
    assert_eq!(a, b);
    assert_eq!((a.train.len(), a.test.len()), (10_300, 1_145));
}

#[test]
fn multi30k_loads_29000_1014_1000() {
    let Some(dir) = data_dir() else { return };
    for (kind, suffix) in [("raw", ""), ("tok", ".lc.norm.tok")] {
        for (split, lines) in [
            ("train", 29_000),
            ("val", 1_014),
            ("test_2016_flickr", 1_000),
        ] {
            let path = |lang: &str| dir.join(format!("multi30k/{kind}/{split}{suffix}.{lang}"));
            let corpus = read_parallel(path("de"), path("en"), &ReadOptions::default()).unwrap();
            assert_eq!(corpus.pairs.len(), lines, "{kind}/{split}");
            assert_eq!(corpus.summary.skipped(), 0);
        }
    }
}

#[test]
fn multi30k_bpe_learns_fast_and_round_trips() {
    use seq2seq::data::{tokenize, Bpe, Vocab};
    let Some(dir) = data_dir() else { return };
    let path = |split: &str, lang: &str| dir.join(format!("multi30k/raw/{split}.{lang}"));
    let train = read_parallel(
        path("train", "de"),
        path("train", "en"),
        &ReadOptions::default(),
    )
    .unwrap();
    let words: Vec<Vec<String>> = train.pairs.iter().map(|p| tokenize(&p.src)).collect();
    let start = std::time::Instant::now();
    let bpe = Bpe::learn_from_sentences(&words, 8_000, 2);
    eprintln!(
        "learned {} merges in {:.2?}",
        bpe.merges().len(),
        start.elapsed()
    );
    assert_eq!(bpe.merges().len(), 8_000);
    let valid = read_parallel(
        path("val", "de"),
        path("val", "en"),
        &ReadOptions::default(),
    )
    .unwrap();
    let valid_words: Vec<Vec<String>> = valid.pairs.iter().map(|p| tokenize(&p.src)).collect();
    let pieces = bpe.encode_all(&valid_words);
    for (w, p) in valid_words.iter().zip(&pieces) {
        assert_eq!(&Bpe::decode(p), w);
    }
    let vocab = Vocab::build(&bpe.encode_all(&words), 1, None);
    let unknown = pieces
        .iter()
        .flatten()
        .filter(|t| !vocab.contains(t))
        .count();
    eprintln!(
        "subword vocabulary {} tokens; {unknown} unknown validation subwords",
        vocab.len()
    );
    assert!(vocab.len() < 12_000);
}
