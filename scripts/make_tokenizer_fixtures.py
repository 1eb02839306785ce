#!/usr/bin/env python3
"""Builds the Hugging Face tokenizer fixtures of crates/seq2seq/tests/data_hf_tokenizer.rs.

Trains a few tiny BPE tokenizers with the `tokenizers` library (pip install
tokenizers), one per pre-tokenizer / model option our reader supports, saves
each as tokenizer.json, and records what the library encodes a handful of
sentences to (tokens, no special tokens). The Rust test reads the same
files and must produce the same tokens.

    python3 scripts/make_tokenizer_fixtures.py   # writes crates/seq2seq/tests/fixtures/subwords/
"""
import json
import os

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "seq2seq", "tests", "fixtures", "subwords")

CORPUS = [
    "A man in a blue shirt is standing on a ladder.",
    "Two young children are playing in the sand.",
    "The lower the newest, the widest it is.",
    "Ein Mann in einem blauen Hemd steht auf einer Leiter.",
    "Zwei kleine Kinder spielen im Sand.",
    "Un homme en chemise bleue est debout sur une échelle.",
    "It's 3.5 km, isn't it? I'll say: 1,000 times!",
]

# Sentences to encode: seen words, unseen words, characters never seen in
# training, digits, punctuation runs, repeated and leading spaces.
SENTENCES = [
    "A man is standing on a ladder.",
    "The newest children, the lowest widest sand!!",
    "Zwei Männer spielen... im Schnee",
    "Une échelle bleue — très haute?",
    "It's 42 o'clock; we'll see",
    "  two   spaces  and\ttabs ",
    "xyzzy qu\u00e9 \u4e2d\u6587 \U0001F600",
]


def train(name, model, pre_tokenizer, decoder=None, normalizer=None, vocab_size=90, **trainer_options):
    tok = Tokenizer(model)
    if normalizer is not None:
        tok.normalizer = normalizer
    if pre_tokenizer is not None:
        tok.pre_tokenizer = pre_tokenizer
    if decoder is not None:
        tok.decoder = decoder
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False, **trainer_options)
    tok.train_from_iterator(CORPUS, trainer=trainer)
    path = os.path.join(OUT, f"hf_{name}.json")
    tok.save(path)
    cases = [{"text": s, "tokens": tok.encode(s, add_special_tokens=False).tokens} for s in SENTENCES]
    return {"file": f"hf_{name}.json", "cases": cases}


def main():
    os.makedirs(OUT, exist_ok=True)
    fixtures = [
        train(
            "whitespace_suffix",
            models.BPE(unk_token="[UNK]", end_of_word_suffix="</w>"),
            pre_tokenizers.Whitespace(),
            decoder=decoders.BPEDecoder(suffix="</w>"),
            special_tokens=["[UNK]"],
            end_of_word_suffix="</w>",
        ),
        train(
            "split_prefix",
            models.BPE(unk_token="[UNK]", continuing_subword_prefix="##", fuse_unk=True),
            pre_tokenizers.WhitespaceSplit(),
            decoder=decoders.WordPiece(prefix="##"),
            special_tokens=["[UNK]"],
            continuing_subword_prefix="##",
        ),
        train(
            "metaspace",
            models.BPE(),
            pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True),
            decoder=decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True),
        ),
        train(
            "bytelevel",
            models.BPE(),
            pre_tokenizers.ByteLevel(add_prefix_space=False),
            decoder=decoders.ByteLevel(),
            vocab_size=300,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
        train(
            "normalized_sequence",
            models.BPE(unk_token="<unk>"),
            pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Whitespace()]),
            normalizer=normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()]),
            special_tokens=["<unk>"],
        ),
    ]
    with open(os.path.join(OUT, "hf_expected.json"), "w", encoding="utf-8") as f:
        json.dump(fixtures, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
