#!/usr/bin/env python3
"""PyTorch on CUDA beside `s2s bench --device gpu`: the same kernels on the
same shapes, and the two benchmark training steps, timed with CUDA events.

    python3 benches/peers/torch_gpu.py --json torch-gpu.json \
        --ours kernels.json --ours-train train-step.json

Kernels, with the shapes of `s2s bench` (src/bench/kernels.rs):
  matmul     torch.mm of MxK by KxN in fp32 with TF32 off (so both sides
             do IEEE fp32 multiply-adds);
  softmax    torch.softmax over the rows of ROWSxCOLS;
  layer_norm F.layer_norm over the rows, with weight and bias;
  attention  F.scaled_dot_product_attention of [BH, 1, L, D] queries
             against S keys (whichever backend PyTorch picks).
Training steps: the models of torch_train_step.py (the twins of
`s2s bench train-step`), on the GPU, one step = zero_grad, forward, loss,
backward, Adam; the median over `--steps` after `--warmup`.

With `--ours` (the JSON of `s2s bench ... --device gpu --json`) and
`--ours-train` (of `s2s bench train-step --device gpu --json`) it prints,
for every case both measured, PyTorch's time over ours: above 1 we are
faster. Without CUDA it says so and exits with status 3, so a script can
tell "no peer here" from a failure.
"""

import argparse
import json
import os
import statistics
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_train_step import SHAPES, VOCAB  # noqa: E402

MATMUL = [[s, s, s] for s in (256, 512, 1024, 2048, 4096)] + [
    [64, 768, 256],
    [64, 1024, 256],
    [64, 5000, 512],
    [1280, 1024, 256],
    [1280, 256, 1024],
    [1280, 5000, 256],
]
ROWS = [[1280, 256], [1280, 1024], [64, 5000], [1280, 5000]]
ATTENTION = [[256, 20, 20, 64], [32, 128, 128, 64], [8, 512, 512, 64]]


def seconds_per_call(f, device, sample_s=0.05):
    """Mean time of one call of `f`: a warm-up, then a batch of about
    `sample_s`, timed by events on the GPU (wall clock on the CPU)."""
    f()
    if device.type == "cuda":
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        f()
        end.record()
        torch.cuda.synchronize()
        once = max(start.elapsed_time(end) / 1e3, 1e-7)
        reps = max(1, min(10_000, int(sample_s / once)))
        start.record()
        for _ in range(reps):
            f()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) / 1e3 / reps
    import time

    t = time.perf_counter()
    f()
    once = max(time.perf_counter() - t, 1e-7)
    reps = max(1, min(10_000, int(sample_s / once)))
    t = time.perf_counter()
    for _ in range(reps):
        f()
    return (time.perf_counter() - t) / reps


def kernel_cases(device, shrink):
    """(kernel, shape, call, flops, bytes) for every benchmark case."""
    g = torch.Generator(device="cpu").manual_seed(0)

    def rand(*dims):
        return (torch.rand(*dims, generator=g) * 2 - 1).to(device)

    cases = []
    for m, n, k in MATMUL[:shrink]:
        a, b = rand(m, k), rand(k, n)
        cases.append(("matmul", [m, n, k], lambda a=a, b=b: torch.mm(a, b),
                      2.0 * m * n * k, 4.0 * (m * k + k * n + m * n)))
    for r, c in ROWS[:shrink]:
        x = rand(r, c)
        cases.append(("softmax", [r, c], lambda x=x: torch.softmax(x, -1), None, 8.0 * r * c))
        w, bias = rand(c), rand(c)
        cases.append(("layer_norm", [r, c], lambda x=x, w=w, b=bias: F.layer_norm(x, (c,), w, b),
                      None, 8.0 * r * c))
    for bh, l, s, d in ATTENTION[:shrink]:
        q, k, v = rand(bh, 1, l, d), rand(bh, 1, s, d), rand(bh, 1, s, d)
        cases.append(("attention", [bh, l, s, d],
                      lambda q=q, k=k, v=v: F.scaled_dot_product_attention(q, k, v),
                      4.0 * bh * l * s * d, 4.0 * bh * d * (2 * l + 2 * s)))
    return cases


def train_step_ms(name, device, steps, warmup):
    make, batch, length = SHAPES[name]
    torch.manual_seed(0)
    model = make().to(device)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    src = torch.randint(4, VOCAB, (batch, length), device=device)
    tgt = torch.randint(4, VOCAB, (batch, length + 1), device=device)
    tgt_in, tgt_out = tgt[:, :-1], tgt[:, 1:]

    def step():
        opt.zero_grad()
        logits = model(src, tgt_in)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), tgt_out.reshape(-1))
        loss.backward()
        opt.step()

    times = [seconds_per_call(step, device, sample_s=0.0) for _ in range(warmup + steps)]
    return statistics.median(times[warmup:]) * 1e3


def read_json_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda", help="cuda (the peer), or cpu to try the script")
    p.add_argument("--short", action="store_true", help="the first shape of each kernel, 1 step")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--json", help="append one JSON record per measurement to this file")
    p.add_argument("--ours", help="JSON lines of `s2s bench KERNELS --device gpu --json`")
    p.add_argument("--ours-train", help="JSON lines of `s2s bench train-step --device gpu --json`")
    a = p.parse_args()
    if a.device == "cuda" and not torch.cuda.is_available():
        print("torch_gpu.py: PyTorch sees no CUDA device; no peer figures on this machine")
        sys.exit(3)
    device = torch.device(a.device)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"PyTorch {torch.__version__} on {name}, fp32, TF32 off")

    records = []
    shrink = 1 if a.short else None
    for kernel, shape, call, flops, nbytes in kernel_cases(device, shrink):
        s = seconds_per_call(call, device)
        records.append({
            "kernel": kernel, "device": f"torch-{device.type}", "shape": shape, "seconds": s,
            "gflops": flops / s / 1e9 if flops else None, "gbps": nbytes / s / 1e9,
        })
        r = records[-1]
        rate = f"{r['gflops']:9.1f} GFLOP/s" if flops else f"{r['gbps']:9.1f} GB/s   "
        print(f"{kernel:<11} {'x'.join(map(str, shape)):<16} {s * 1e6:11.1f} us  {rate}")
    steps, warmup = (1, 1) if a.short else (a.steps, a.warmup)
    for model in SHAPES:
        ms = train_step_ms(model, device, steps, warmup)
        records.append({"bench": "train-step", "model": model, "device": f"torch-{device.type}",
                        "ms_per_step": ms})
        print(f"train-step  {model:<16} {ms:11.2f} ms/step")
    if a.json:
        with open(a.json, "a") as f:
            for r in records:
                f.write(json.dumps(r) + "\n")

    rows = []
    if a.ours:
        ours = {(r["kernel"], tuple(r["shape"])): r["seconds"]
                for r in read_json_lines(a.ours) if r.get("device") == "gpu"}
        for r in records:
            key = (r.get("kernel"), tuple(r.get("shape", ())))
            if key in ours:
                rows.append((key[0], "x".join(map(str, key[1])), r["seconds"] / ours[key]))
    if a.ours_train:
        ours = {r["model"]: r["ms_per_step"]
                for r in read_json_lines(a.ours_train) if r.get("device") == "gpu"}
        for r in records:
            if r.get("bench") == "train-step" and r["model"] in ours:
                rows.append(("train-step", r["model"], r["ms_per_step"] / ours[r["model"]]))
    if rows:
        print("\nPyTorch time / our time (above 1: we are faster)")
        for kernel, shape, ratio in rows:
            print(f"{kernel:<11} {shape:<16} {ratio:8.3f}")


if __name__ == "__main__":
    main()
