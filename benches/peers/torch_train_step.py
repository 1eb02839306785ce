#!/usr/bin/env python3
"""One training step (forward + backward + Adam) of our two benchmark models
in PyTorch CPU, to put beside `s2s bench train-step`.

    python3 benches/peers/torch_train_step.py --model gru-attn --threads 2
    python3 benches/peers/torch_train_step.py --model all --threads 2 --json torch.json

The models are defined here layer for layer as `s2s bench train-step`
builds them (src/bench/train_step.rs); keep the two in step:

gru-attn   embeddings 5,000 x 256 (source and target), GRU(256) encoder,
           Bahdanau attention (W_q, W_k: 256 -> 256, v: 256 -> 1, no bias),
           GRU cell decoder fed [E y_{t-1}; c_t], starting from the encoder's
           final state, output Linear([s_t; c_t] 512 -> 5,000);
           batch 64, source and target length 10.
transformer  d_model 256, 3 + 3 layers, 4 heads, feed-forward 1,024,
           dropout 0.1, post-norm, ReLU, vocabulary 5,000 (separate source
           and target embeddings scaled by sqrt(d), sinusoidal positions),
           output Linear(256 -> 5,000); batch 64, lengths 20.

Both: token ids uniform in [4, 5000) from a fixed seed (no padding),
cross-entropy over the target, Adam(lr 1e-3). A step is zero_grad, forward,
loss, backward, optimizer step. We time `--steps` steps after `--warmup`
and report the median; tokens/s counts target tokens (batch x length).
"""

import argparse
import json
import math
import statistics
import time

import torch
from torch import nn

VOCAB = 5000


class GruAttn(nn.Module):
    def __init__(self, vocab=VOCAB, embed=256, hidden=256):
        super().__init__()
        self.src_embed = nn.Embedding(vocab, embed)
        self.tgt_embed = nn.Embedding(vocab, embed)
        self.encoder = nn.GRU(embed, hidden, batch_first=True)
        self.query_layer = nn.Linear(hidden, hidden, bias=False)
        self.key_layer = nn.Linear(hidden, hidden, bias=False)
        self.energy_layer = nn.Linear(hidden, 1, bias=False)
        self.decoder = nn.GRUCell(embed + hidden, hidden)
        self.generator = nn.Linear(2 * hidden, vocab)

    def forward(self, src, tgt_in):
        memory, h = self.encoder(self.src_embed(src))  # [B, S, H], [1, B, H]
        keys = self.key_layer(memory)  # [B, S, H]
        s = h[0]
        y = self.tgt_embed(tgt_in)  # [B, T, E]
        features = []
        for t in range(tgt_in.shape[1]):
            # e = v^T tanh(W_q s_{t-1} + W_k h), alpha = softmax(e), c = alpha h
            e = self.energy_layer(torch.tanh(self.query_layer(s).unsqueeze(1) + keys))
            alpha = torch.softmax(e.squeeze(2), dim=-1)  # [B, S]
            c = torch.bmm(alpha.unsqueeze(1), memory).squeeze(1)  # [B, H]
            s = self.decoder(torch.cat([y[:, t], c], dim=-1), s)
            features.append(torch.cat([s, c], dim=-1))
        return self.generator(torch.stack(features, dim=1))  # [B, T, V]


class PositionalEncoding(nn.Module):
    def __init__(self, d, max_len=512):
        super().__init__()
        pos = torch.arange(max_len).unsqueeze(1)
        div = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
        pe = torch.zeros(max_len, d)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer("pe", pe)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x):
        return self.dropout(x + self.pe[: x.shape[1]])


class TransformerModel(nn.Module):
    def __init__(self, vocab=VOCAB, d=256, heads=4, layers=3, ff=1024):
        super().__init__()
        self.d = d
        self.src_embed = nn.Embedding(vocab, d)
        self.tgt_embed = nn.Embedding(vocab, d)
        self.positional = PositionalEncoding(d)
        self.transformer = nn.Transformer(
            d, heads, layers, layers, ff, dropout=0.1, batch_first=True
        )
        self.generator = nn.Linear(d, vocab)

    def forward(self, src, tgt_in):
        scale = math.sqrt(self.d)
        x = self.positional(self.src_embed(src) * scale)
        y = self.positional(self.tgt_embed(tgt_in) * scale)
        causal = nn.Transformer.generate_square_subsequent_mask(
            tgt_in.shape[1], device=tgt_in.device
        )
        o = self.transformer(x, y, tgt_mask=causal, tgt_is_causal=True)
        return self.generator(o)


SHAPES = {"gru-attn": (GruAttn, 64, 10), "transformer": (TransformerModel, 64, 20)}


def bench(name, steps, warmup):
    make, batch, length = SHAPES[name]
    torch.manual_seed(0)
    model = make()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    src = torch.randint(4, VOCAB, (batch, length))
    tgt = torch.randint(4, VOCAB, (batch, length + 1))
    tgt_in, tgt_out = tgt[:, :-1], tgt[:, 1:]
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for i in range(warmup + steps):
        start = time.perf_counter()
        opt.zero_grad()
        logits = model(src, tgt_in)
        loss = loss_fn(logits.reshape(-1, VOCAB), tgt_out.reshape(-1))
        loss.backward()
        opt.step()
        elapsed = time.perf_counter() - start
        if i >= warmup:
            times.append(elapsed)
    median = statistics.median(times)
    return {
        "model": name,
        "framework": f"pytorch {torch.__version__}",
        "threads": torch.get_num_threads(),
        "batch": batch,
        "length": length,
        "steps": steps,
        "ms_per_step": median * 1e3,
        "tokens_per_s": batch * length / median,
        "final_loss": loss.item(),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=["gru-attn", "transformer", "all"], default="all")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--json", help="append one JSON record per model to this file")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    names = ["gru-attn", "transformer"] if a.model == "all" else [a.model]
    for name in names:
        r = bench(name, a.steps, a.warmup)
        print(
            f"{r['model']:<12} {r['framework']:<22} threads {r['threads']}  "
            f"{r['ms_per_step']:8.1f} ms/step  {r['tokens_per_s']:9.0f} tokens/s"
        )
        if a.json:
            with open(a.json, "a") as f:
                f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
