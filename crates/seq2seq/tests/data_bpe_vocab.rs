//! BPE (Sennrich et al. 2016) and the vocabulary: learning, determinism,
//! round trips, and saving/loading as JSON.

use seq2seq::data::{Bpe, DataError, Tokenizer, Vocab, END_OF_WORD};
use std::collections::HashMap;
use std::path::PathBuf;

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("s2s-data-bpe-vocab-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// The toy corpus of Sennrich et al. (2016), Figure 1.
fn paper_counts() -> HashMap<String, usize> {
    [("low", 5), ("lower", 2), ("newest", 6), ("widest", 3)]
        .iter()
        .map(|&(w, n)| (w.to_string(), n))
        .collect()
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

#[test]
fn learns_the_most_frequent_pairs_with_deterministic_ties() {
    let bpe = Bpe::learn(&paper_counts(), 4, 2);
    // "e s" and "s t</w>" both occur 9 times: the smaller pair wins; then
    // "es t</w>" (9), "l o" (7), and of the three pairs seen 6 times
    // ("e w", "n e", "w est</w>") the smallest.
    let eow = |s: &str| format!("{s}{END_OF_WORD}");
    assert_eq!(
        bpe.merges(),
        [
            pair("e", "s"),
            pair("es", &eow("t")),
            pair("l", "o"),
            pair("e", "w")
        ]
    );
}

#[test]
fn learning_is_deterministic_and_stops_at_min_frequency() {
    let a = Bpe::learn(&paper_counts(), 100, 2);
    // The same counts inserted in another order give the same merges.
    let mut reversed = HashMap::new();
    let mut entries: Vec<_> = paper_counts().into_iter().collect();
    entries.sort();
    for (w, n) in entries.into_iter().rev() {
        reversed.insert(w, n);
    }
    assert_eq!(a, Bpe::learn(&reversed, 100, 2));
    assert!(a.merges().len() < 100, "stops when no pair occurs twice");
    let once: HashMap<String, usize> = [("abc".to_string(), 1)].into();
    assert!(Bpe::learn(&once, 10, 2).merges().is_empty());
    assert_eq!(Bpe::learn(&once, 10, 1).merges().len(), 2);
}

#[test]
fn encodes_frequent_words_whole_and_rare_words_in_pieces() {
    let bpe = Bpe::learn(&paper_counts(), 100, 2);
    assert_eq!(bpe.encode_word("newest"), [format!("newest{END_OF_WORD}")]);
    assert_eq!(
        bpe.encode_word("lowest"),
        ["low".to_string(), format!("est{END_OF_WORD}")]
    );
    assert_eq!(bpe.encode_word("x"), [format!("x{END_OF_WORD}")]);
}

#[test]
fn decode_inverts_encode() {
    let sentences: Vec<Vec<String>> = [
        "the lowest newer widest",
        "a zebra ç'est l'été !",
        "low low low",
    ]
    .iter()
    .map(|s| s.split(' ').map(String::from).collect())
    .collect();
    let bpe = Bpe::learn_from_sentences(&sentences, 30, 1);
    for (words, pieces) in sentences.iter().zip(bpe.encode_all(&sentences)) {
        assert_eq!(&Bpe::decode(&pieces), words);
        assert_eq!(bpe.encode(words), pieces);
    }
    // Through the Tokenizer: text → subwords → text.
    let tokenizer = Tokenizer::Bpe(bpe);
    let text = "The lowest, newest widgets!";
    assert_eq!(tokenizer.decode(&tokenizer.encode(text)), text);
}

#[test]
fn bpe_saves_and_loads_as_json() {
    let bpe = Bpe::learn(&paper_counts(), 10, 2);
    let path = temp_path("bpe.json");
    bpe.save(&path).unwrap();
    assert_eq!(Bpe::load(&path).unwrap(), bpe);
    std::fs::write(&path, "{\"merges\": [").unwrap();
    let err = Bpe::load(&path).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{}: invalid JSON", path.display())),
        "{err}"
    );
    std::fs::write(
        &path,
        r#"{"format":"s2s-vocab","version":1,"end_of_word":"</w>","merges":[]}"#,
    )
    .unwrap();
    assert!(matches!(Bpe::load(&path), Err(DataError::BadFile { .. })));
}

fn sentences(texts: &[&str]) -> Vec<Vec<String>> {
    texts
        .iter()
        .map(|s| s.split_whitespace().map(String::from).collect())
        .collect()
}

#[test]
fn vocab_orders_by_frequency_then_token() {
    let data = sentences(&["b a c a", "a b d", "e"]);
    let vocab = Vocab::build(&data, 1, None);
    assert_eq!(
        vocab.tokens(),
        ["<pad>", "<bos>", "<eos>", "<unk>", "a", "b", "c", "d", "e"]
    );
    assert_eq!(
        (Vocab::PAD, Vocab::BOS, Vocab::EOS, Vocab::UNK),
        (0, 1, 2, 3)
    );
    assert_eq!(vocab.id("a"), 4);
    assert_eq!(vocab.id("zzz"), Vocab::UNK);
    let min2 = Vocab::build(&data, 2, None);
    assert_eq!(min2.tokens()[4..], ["a", "b"]);
    let capped = Vocab::build(&data, 1, Some(6));
    assert_eq!(capped.len(), 6);
    assert_eq!(capped.tokens()[4..], ["a", "b"]);
}

#[test]
fn vocab_encodes_and_decodes() {
    let vocab = Vocab::build(&sentences(&["le chat", "le chien"]), 1, None);
    let ids = vocab.encode(&["le", "chat", "gros"]);
    assert_eq!(ids, [vocab.id("le"), vocab.id("chat"), Vocab::UNK]);
    let output = [
        Vocab::BOS,
        vocab.id("le"),
        Vocab::PAD,
        Vocab::UNK,
        Vocab::EOS,
        vocab.id("chien"),
    ];
    assert_eq!(vocab.decode(&output), ["le", "<unk>"]);
    assert_eq!(vocab.token(999), "<unk>");
}

#[test]
fn vocab_saves_loads_and_rejects_bad_files() {
    let vocab = Vocab::build(&sentences(&["x y z x"]), 1, None);
    let path = temp_path("vocab.json");
    vocab.save(&path).unwrap();
    assert_eq!(Vocab::load(&path).unwrap(), vocab);

    let bad_specials =
        r#"{"format":"s2s-vocab","version":1,"tokens":["<bos>","<pad>","<eos>","<unk>","a"]}"#;
    std::fs::write(&path, bad_specials).unwrap();
    let err = Vocab::load(&path).unwrap_err();
    assert!(err.to_string().contains("first four tokens"), "{err}");
    let duplicate =
        r#"{"format":"s2s-vocab","version":1,"tokens":["<pad>","<bos>","<eos>","<unk>","a","a"]}"#;
    std::fs::write(&path, duplicate).unwrap();
    let err = Vocab::load(&path).unwrap_err();
    assert!(
        err.to_string().contains("\"a\" appears more than once"),
        "{err}"
    );
}

#[test]
fn tokenizers_save_and_load_with_their_kind() {
    let path = temp_path("tokenizer.json");
    let bpe = Tokenizer::Bpe(Bpe::learn(&paper_counts(), 10, 2));
    for tokenizer in [Tokenizer::Char, Tokenizer::Word, bpe] {
        tokenizer.save(&path).unwrap();
        assert_eq!(Tokenizer::load(&path).unwrap(), tokenizer);
    }
    std::fs::write(
        &path,
        r#"{"format":"s2s-tokenizer","version":1,"kind":"morse"}"#,
    )
    .unwrap();
    let err = Tokenizer::load(&path).unwrap_err();
    assert!(
        err.to_string().contains("unknown tokenizer kind \"morse\""),
        "{err}"
    );
}

#[test]
fn examples_are_numbered_pairs() {
    use seq2seq::data::{Example, Pair};
    let pair = Pair::new("le chat", "the cat");
    let src_vocab = Vocab::build(&sentences(&["le chat"]), 1, None);
    let tgt_vocab = Vocab::build(&sentences(&["the"]), 1, None);
    let ex = Example::from_pair(
        &pair,
        (&Tokenizer::Word, &src_vocab),
        (&Tokenizer::Word, &tgt_vocab),
    );
    assert_eq!(ex.src, [src_vocab.id("le"), src_vocab.id("chat")]);
    assert_eq!(ex.tgt, [tgt_vocab.id("the"), Vocab::UNK]);
}
