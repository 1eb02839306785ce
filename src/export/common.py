"""A model trained by s2s, as plain PyTorch (written by `s2s export --format pytorch`).

This file needs only `torch` (and `safetensors` to read the weights). Beside
it lie:

    model.safetensors   the weights; their names are this module's state_dict keys
    config.json         the model's configuration, as s2s saved it
    src_vocab.json      source tokens in id order ({"tokens": [...]})
    tgt_vocab.json      target tokens in id order
    src_tokenizer.json  how s2s cut the text into tokens (for reference)
    tgt_tokenizer.json
    training.json       the step reached and the settings s2s trained with
    check.json          held-out pairs with the loss and greedy outputs s2s
                        computed for them (scripts/check_pytorch_export.py)
    train.jsonl ...     the run's pairs as ids, with `s2s export --with-data`

Use:

    import model as exported            # this file
    net = exported.load("DIR")          # the nn.Module, weights loaded, in eval mode
    batch = exported.collate([{"src": [5, 9], "tgt": [7]}])
    loss = exported.loss(net, batch)    # mean cross-entropy per real target token
    ids = exported.greedy(net, batch["src"], batch["src_lens"])

Conventions, as in s2s: token ids `<pad> <bos> <eos> <unk>` = 0 1 2 3; a
source row is its tokens then `<eos>`, padded with `<pad>`; the decoder reads
`<bos> y` and is scored on `y <eos>`. Tensors are batch-first: sources
`[B, S]`, targets `[B, T]`, logits `[B, T, V]`. Dropout acts in training
mode only (`net.train()`), where s2s puts it.
"""

import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>"]


class Vocab:
    """Token <-> id, read from an s2s vocabulary file."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            tokens = json.load(f)["tokens"]
        if tokens[:4] != SPECIALS:
            raise ValueError(f"{path}: the first four tokens must be {SPECIALS}")
        self.tokens = tokens
        self.index = {t: i for i, t in enumerate(tokens)}

    def __len__(self):
        return len(self.tokens)

    def id(self, token):
        return self.index.get(token, UNK)

    def encode(self, tokens):
        return [self.id(t) for t in tokens]

    def decode(self, ids):
        """Tokens up to the first <eos>, without <pad> and <bos>."""
        out = []
        for i in ids:
            if i == EOS:
                break
            if i not in (PAD, BOS):
                out.append(self.tokens[i])
        return out


def read_config(directory):
    with open(os.path.join(directory, "config.json"), encoding="utf-8") as f:
        return json.load(f)


def load(directory, device="cpu"):
    """The exported model in `directory`, weights loaded (strictly: every name
    must match), in eval mode."""
    from safetensors.torch import load_file

    net = build(read_config(directory)).to(device)
    weights = load_file(os.path.join(directory, "model.safetensors"), device=str(device))
    net.load_state_dict(weights, strict=True)
    return net.eval()


def vocabs(directory):
    """(source vocabulary, target vocabulary)."""
    return (
        Vocab(os.path.join(directory, "src_vocab.json")),
        Vocab(os.path.join(directory, "tgt_vocab.json")),
    )


def pad_sources(rows, device="cpu"):
    """Source id rows (each ending in <eos>) -> (ids [B, S] padded with <pad>,
    lengths [B]), as s2s batches them."""
    width = max([len(r) for r in rows] + [1])
    ids = torch.full((len(rows), width), PAD, dtype=torch.long)
    for b, row in enumerate(rows):
        ids[b, : len(row)] = torch.tensor(row, dtype=torch.long)
    lens = torch.tensor([max(len(r), 1) for r in rows], dtype=torch.long)
    return ids.to(device), lens


def collate(examples, device="cpu"):
    """Examples {"src": ids, "tgt": ids} (without <bos>/<eos>, as
    train.jsonl holds them) -> a padded batch: src [B, S] (the source and its
    <eos>), src_lens [B], tgt_in [B, T] (<bos> y), tgt_out [B, T] (y <eos>)."""
    src, src_lens = pad_sources([list(e["src"]) + [EOS] for e in examples], device)
    width = max(len(e["tgt"]) + 1 for e in examples)
    tgt_in = torch.full((len(examples), width), PAD, dtype=torch.long)
    tgt_out = torch.full((len(examples), width), PAD, dtype=torch.long)
    for b, e in enumerate(examples):
        y = torch.tensor(list(e["tgt"]), dtype=torch.long)
        tgt_in[b, 0] = BOS
        tgt_in[b, 1 : len(y) + 1] = y
        tgt_out[b, : len(y)] = y
        tgt_out[b, len(y)] = EOS
    return {
        "src": src,
        "src_lens": src_lens,
        "tgt_in": tgt_in.to(device),
        "tgt_out": tgt_out.to(device),
    }


def padding_mask(lens, width):
    """True at padded positions: [B, width]."""
    return torch.arange(width, device=lens.device)[None, :] >= lens[:, None]


def loss(net, batch, smoothing=0.0):
    """Mean cross-entropy per real target token, padding ignored, with label
    smoothing (as s2s trains and validates; F.cross_entropy's semantics)."""
    logits = net(batch["src"], batch["src_lens"], batch["tgt_in"])  # [B, T, V]
    return F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]),
        batch["tgt_out"].reshape(-1),
        ignore_index=PAD,
        label_smoothing=smoothing,
    )


def decode_limit(src_len, max_len, max_len_ratio, cap):
    """Most output tokens (<eos> included) for a source of `src_len` tokens
    (its <eos> included): min(max_len, ceil(ratio * src_len), the model's cap),
    at least 1 — the ratio multiplied in float32, as s2s does."""
    limit = max_len
    if max_len_ratio > 0:
        by_ratio = torch.tensor(max_len_ratio, dtype=torch.float32) * src_len
        limit = min(limit, max(int(math.ceil(by_ratio.item())), 1))
    if cap is not None:
        limit = min(limit, cap)
    return max(limit, 1)


@torch.no_grad()
def greedy(net, src, src_lens, max_len=200, max_len_ratio=2.0):
    """Greedy decoding (s2s translate --beam 1): for every source row, the
    ids of the most likely token at each step until <eos> (left out) or the
    length limit of `decode_limit` (the defaults are s2s translate's)."""
    was_training = net.training
    net.eval()
    rows = src.shape[0]
    limits = [decode_limit(int(n), max_len, max_len_ratio, net.max_decode_len()) for n in src_lens]
    out = [[] for _ in range(rows)]
    done = [False] * rows
    state = net.start(src, src_lens)
    prev = torch.full((rows,), BOS, dtype=torch.long, device=src.device)
    for t in range(max(limits)):
        logits, state = net.step(state, prev)
        prev = logits.argmax(-1)  # the first of equal maxima: the lower id, as s2s
        for r, token in enumerate(prev.tolist()):
            if done[r]:
                continue
            if token == EOS:
                done[r] = True
                continue
            out[r].append(token)
            done[r] = t + 1 >= limits[r]
        if all(done):
            break
    net.train(was_training)
    return out
