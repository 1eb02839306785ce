#!/usr/bin/env python3
"""Builds the SentencePiece fixtures of crates/seq2seq/tests/data_sentencepiece.rs.

Trains two tiny SentencePiece models (pip install sentencepiece), one
unigram and one BPE, on a few lines, and records the pieces the library
encodes some sentences to. The Rust test reads the same .model files and
must produce the same pieces.

    python3 scripts/make_sentencepiece_fixtures.py   # writes crates/seq2seq/tests/fixtures/subwords/
"""
import io
import json
import os

import sentencepiece as spm

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "seq2seq", "tests", "fixtures", "subwords")

CORPUS = [
    "A man in a blue shirt is standing on a ladder.",
    "Two young children are playing in the sand.",
    "The lower the newest, the widest it is.",
    "Ein Mann in einem blauen Hemd steht auf einer Leiter.",
    "Zwei kleine Kinder spielen im Sand.",
    "Un homme en chemise bleue est debout sur une échelle.",
    "It's 3.5 km, isn't it? I'll say: 1,000 times!",
] * 3

SENTENCES = [
    "A man is standing on a ladder.",
    "The newest children, the lowest widest sand!!",
    "Zwei Männer spielen... im Schnee",
    "Une échelle bleue — très haute?",
    "  two   spaces  and more ",
    "xyzzy qu\u00e9 \u4e2d\u6587",
]


def train(name, model_type, vocab_size, **options):
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS),
        model_writer=model,
        model_type=model_type,
        vocab_size=vocab_size,
        normalization_rule_name="identity",
        hard_vocab_limit=False,
        minloglevel=2,
        **options,
    )
    path = os.path.join(OUT, f"sp_{name}.model")
    with open(path, "wb") as f:
        f.write(model.getvalue())
    sp = spm.SentencePieceProcessor(model_file=path)
    cases = [{"text": s, "pieces": sp.encode(s, out_type=str)} for s in SENTENCES]
    return {"file": f"sp_{name}.model", "cases": cases}


def main():
    os.makedirs(OUT, exist_ok=True)
    fixtures = [
        train("unigram", "unigram", 80),
        train("bpe", "bpe", 80),
    ]
    with open(os.path.join(OUT, "sp_expected.json"), "w", encoding="utf-8") as f:
        json.dump(fixtures, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
