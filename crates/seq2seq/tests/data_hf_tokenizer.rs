//! Hugging Face `tokenizer.json` files (BPE) encode exactly as the
//! `tokenizers` library does, survive being saved with a run, and parts we
//! do not implement are refused with the file and the JSON path.
//!
//! The fixtures in tests/fixtures/subwords/ were written by
//! scripts/make_tokenizer_fixtures.py: tiny tokenizers trained by the
//! library, and what the library encodes a few sentences to.

use seq2seq::data::{HfTokenizer, Tokenizer};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/subwords")
}

fn expected() -> Vec<Value> {
    let text = std::fs::read_to_string(fixtures().join("hf_expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn encodes_as_the_tokenizers_library_does() {
    let all = expected();
    assert_eq!(all.len(), 5, "one fixture per supported pipeline");
    for fixture in all {
        let file = fixture["file"].as_str().unwrap();
        let hf = HfTokenizer::load(fixtures().join(file)).unwrap();
        for case in fixture["cases"].as_array().unwrap() {
            let text = case["text"].as_str().unwrap();
            let want: Vec<String> = serde_json::from_value(case["tokens"].clone()).unwrap();
            assert_eq!(hf.encode(text), want, "{file}: {text:?}");
        }
    }
}

#[test]
fn decodes_back_to_the_text_where_tokens_keep_the_spaces() {
    for (file, text) in [
        ("hf_bytelevel.json", "Zwei Männer,  qué 中文 😀!"),
        ("hf_metaspace.json", "A man is standing on a ladder."),
    ] {
        let tok =
            Tokenizer::HuggingFace(Box::new(HfTokenizer::load(fixtures().join(file)).unwrap()));
        assert_eq!(tok.decode(&tok.encode(text)), text, "{file}");
    }
    // Prefix and suffix conventions mark the words; punctuation is
    // re-attached by our detokenizer.
    for file in ["hf_whitespace_suffix.json", "hf_split_prefix.json"] {
        let tok =
            Tokenizer::HuggingFace(Box::new(HfTokenizer::load(fixtures().join(file)).unwrap()));
        let text = "A man is standing on the sand.";
        assert_eq!(tok.decode(&tok.encode(text)), text, "{file}");
    }
}

#[test]
fn is_saved_whole_with_the_run_and_loads_back() {
    let dir = std::env::temp_dir().join(format!("s2s-data-hf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("src_tokenizer.json");
    let hf = HfTokenizer::load(fixtures().join("hf_split_prefix.json")).unwrap();
    let tok = Tokenizer::HuggingFace(Box::new(hf));
    tok.save(&path).unwrap();
    let back = Tokenizer::load(&path).unwrap();
    assert_eq!(back, tok);
    assert_eq!(back.kind(), "huggingface");
    let text = "Two young children are playing.";
    assert_eq!(back.encode(text), tok.encode(text));
}

/// A small valid BPE tokenizer.json to break one part of at a time.
fn tiny() -> Value {
    json!({
        "version": "1.0", "normalizer": null, "pre_tokenizer": {"type": "WhitespaceSplit"},
        "post_processor": null, "decoder": null, "added_tokens": [],
        "model": {"type": "BPE", "dropout": null, "unk_token": null,
                  "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}
    })
}

fn error_of(json: Value) -> String {
    HfTokenizer::from_json(json, Path::new("tok.json"))
        .unwrap_err()
        .to_string()
}

#[test]
fn applies_merges_by_rank_and_accepts_both_merge_formats() {
    let mut j = tiny();
    let hf = HfTokenizer::from_json(j.clone(), Path::new("t.json")).unwrap();
    assert_eq!(hf.encode("abab ba"), ["ab", "ab", "b", "a"]);
    j["model"]["merges"] = json!([["a", "b"]]);
    let hf2 = HfTokenizer::from_json(j, Path::new("t.json")).unwrap();
    assert_eq!(hf2.encode("abab ba"), hf.encode("abab ba"));
}

#[test]
fn refuses_what_it_does_not_implement_naming_file_and_json_path() {
    let mut j = tiny();
    j["model"]["type"] = json!("WordPiece");
    let e = error_of(j);
    assert!(
        e.contains("tok.json") && e.contains("model.type") && e.contains("WordPiece"),
        "{e}"
    );

    let mut j = tiny();
    j["normalizer"] =
        json!({"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "BertNormalizer"}]});
    let e = error_of(j);
    assert!(
        e.contains("normalizer.normalizers[1]") && e.contains("BertNormalizer"),
        "{e}"
    );

    let mut j = tiny();
    j["pre_tokenizer"] = json!({"type": "Sequence", "pretokenizers": [{"type": "Digits"}]});
    let e = error_of(j);
    assert!(
        e.contains("pre_tokenizer.pretokenizers[0]") && e.contains("Digits"),
        "{e}"
    );

    let mut j = tiny();
    j["model"]["dropout"] = json!(0.1);
    assert!(error_of(j).contains("model.dropout"));

    let mut j = tiny();
    j["model"]["merges"] = json!(["a c"]);
    let e = error_of(j);
    assert!(e.contains("model.merges[0]") && e.contains("\"c\""), "{e}");

    let mut j = tiny();
    j["model"]["unk_token"] = json!("<unk>");
    assert!(error_of(j).contains("model.unk_token"));
}

#[test]
fn unknown_characters_become_unk_fused_bytes_or_nothing() {
    let mut j = tiny();
    // Without unk or byte fallback unknown characters vanish, and the
    // letters around them merge (all four cases checked against the library).
    let hf = HfTokenizer::from_json(j.clone(), Path::new("t")).unwrap();
    assert_eq!(hf.encode("axxb"), ["ab"]);
    j["model"]["vocab"]["<unk>"] = json!(3);
    j["model"]["unk_token"] = json!("<unk>");
    let hf = HfTokenizer::from_json(j.clone(), Path::new("t")).unwrap();
    assert_eq!(hf.encode("axxb"), ["a", "<unk>", "<unk>", "b"]);
    j["model"]["fuse_unk"] = json!(true);
    let hf = HfTokenizer::from_json(j.clone(), Path::new("t")).unwrap();
    assert_eq!(hf.encode("axxb"), ["a", "<unk>", "b"]);
    j["model"]["vocab"]["<0x78>"] = json!(4);
    j["model"]["byte_fallback"] = json!(true);
    let hf = HfTokenizer::from_json(j, Path::new("t")).unwrap();
    assert_eq!(hf.encode("axyb"), ["a", "<0x78>", "<unk>", "b"]);
}
