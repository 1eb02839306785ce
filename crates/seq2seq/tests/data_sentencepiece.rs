//! SentencePiece `.model` files (unigram and BPE) encode exactly as the
//! `sentencepiece` library does. The fixtures in tests/fixtures/subwords/
//! were written by scripts/make_sentencepiece_fixtures.py.

use seq2seq::data::sentencepiece::SpModelType;
use seq2seq::data::SentencePiece;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/subwords")
}

#[test]
fn encodes_as_the_sentencepiece_library_does() {
    let text = std::fs::read_to_string(fixtures().join("sp_expected.json")).unwrap();
    let all: Vec<Value> = serde_json::from_str(&text).unwrap();
    let mut types = Vec::new();
    for fixture in all {
        let file = fixture["file"].as_str().unwrap();
        let sp = SentencePiece::load(fixtures().join(file)).unwrap();
        types.push(sp.model_type());
        for case in fixture["cases"].as_array().unwrap() {
            let text = case["text"].as_str().unwrap();
            let want: Vec<String> = serde_json::from_value(case["pieces"].clone()).unwrap();
            assert_eq!(sp.encode(text), want, "{file}: {text:?}");
        }
    }
    assert_eq!(types, [SpModelType::Unigram, SpModelType::Bpe]);
}

#[test]
fn decodes_pieces_back_to_the_squeezed_text() {
    let sp = SentencePiece::load(fixtures().join("sp_unigram.model")).unwrap();
    let text = "Two  young children are playing in the sand.";
    assert_eq!(
        sp.decode(&sp.encode(text)),
        "Two young children are playing in the sand."
    );
}

#[test]
fn a_damaged_model_is_an_error_naming_the_file() {
    let mut bytes = std::fs::read(fixtures().join("sp_bpe.model")).unwrap();
    bytes.truncate(bytes.len() / 2);
    let e = SentencePiece::from_bytes(bytes, Path::new("cut.model"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cut.model") && e.contains("runs past the end"),
        "{e}"
    );
}

#[test]
fn is_saved_whole_with_the_run_and_loads_back() {
    use seq2seq::data::Tokenizer;
    let dir = std::env::temp_dir().join(format!("s2s-data-sp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tgt_tokenizer.json");
    let tok = Tokenizer::from_file(fixtures().join("sp_unigram.model")).unwrap();
    assert_eq!(tok.kind(), "sentencepiece");
    tok.save(&path).unwrap();
    let back = Tokenizer::load(&path).unwrap();
    assert_eq!(back, tok);
    let text = "Two young children are playing.";
    assert_eq!(back.encode(text), tok.encode(text));
    // from_file tells the formats apart by content.
    let hf = Tokenizer::from_file(fixtures().join("hf_metaspace.json")).unwrap();
    assert_eq!(hf.kind(), "huggingface");
}
