//! Normalisation, word tokenization and detokenization, seeded splits.

use seq2seq::data::{
    ascii_fold, detokenize, nfc, split_by_seed, tokenize, tutorial_normalize, Normalization,
    Tokenizer,
};

#[test]
fn nfc_composes_and_folding_drops_accents() {
    assert_eq!(nfc("cafe\u{301}"), "caf\u{e9}");
    assert_eq!(ascii_fold("Ça été naïve"), "Ca ete naive");
    assert_eq!(
        Normalization::None.apply(" cafe\u{301} ", false),
        "cafe\u{301}"
    );
}

#[test]
fn tutorial_normaliser_follows_its_regexes() {
    assert_eq!(
        tutorial_normalize("Qu'est-ce que c'est ?", false),
        "qu est ce que c est ?"
    );
    assert_eq!(tutorial_normalize("J'ai 3 chats...", false), "j ai chats");
    assert_eq!(
        tutorial_normalize("J'ai 3 chats...", true),
        "j ai chats . . ."
    );
    assert_eq!(tutorial_normalize("Wow!!", false), "wow ! !");
    assert_eq!(Normalization::Tutorial.apply("Ça VA ?", false), "ca va ?");
}

#[test]
fn word_tokenizer_splits_punctuation_only_at_word_edges() {
    assert_eq!(
        tokenize("Qu'est-ce que c'est ?"),
        ["Qu'est-ce", "que", "c'est", "?"]
    );
    assert_eq!(
        tokenize("«Bonjour», dit-il."),
        ["«", "Bonjour", "»", ",", "dit-il", "."]
    );
    assert_eq!(
        tokenize("It's 1,000.50 $ (approx.)"),
        ["It's", "1,000.50", "$", "(", "approx", ".", ")"]
    );
    assert!(tokenize("   ").is_empty());
}

#[test]
fn detokenizer_restores_ordinary_spacing() {
    for text in [
        "The cat sat on the mat.",
        "A dog, two cats and a bird!",
        "He said \"hello\" (twice).",
        "Is it 3.5 km? Yes: about 50%.",
        "¿Qué tal?",
    ] {
        assert_eq!(detokenize(&tokenize(text)), text, "round trip of {text:?}");
    }
    assert_eq!(detokenize(&["i", "m", "ok", "."]), "i m ok.");
}

#[test]
fn char_tokenizer_spells_out_dates() {
    let t = Tokenizer::Char;
    let tokens = t.encode("3 mar  2021");
    assert_eq!(tokens.join(""), "3▁mar▁2021");
    assert_eq!(t.decode(&tokens), "3 mar 2021");
    assert_eq!(Tokenizer::Word.encode("Hi, you."), ["Hi", ",", "you", "."]);
}

#[test]
fn split_is_a_seeded_partition() {
    let items: Vec<u32> = (0..1000).collect();
    let a = split_by_seed(&items, 0.1, 0.2, 42).unwrap();
    assert_eq!(
        (a.train.len(), a.valid.len(), a.test.len()),
        (700, 100, 200)
    );
    let mut all: Vec<u32> = a
        .train
        .iter()
        .chain(&a.valid)
        .chain(&a.test)
        .copied()
        .collect();
    all.sort();
    assert_eq!(all, items, "every item in exactly one part");
    assert!(
        a.test.windows(2).all(|w| w[0] < w[1]),
        "parts keep corpus order"
    );
    assert_eq!(a, split_by_seed(&items, 0.1, 0.2, 42).unwrap());
    assert_ne!(a.test, split_by_seed(&items, 0.1, 0.2, 43).unwrap().test);
    assert!(split_by_seed(&items, 0.6, 0.6, 1).is_err());
    assert!(split_by_seed(&items, -0.1, 0.0, 1).is_err());
}
