#!/usr/bin/env python3
"""Checks that a model exported by `s2s export --format pytorch` computes in
PyTorch what it computes in s2s.

    python scripts/check_pytorch_export.py EXPORT_DIR... [--translations FILE]...

1. Loads EXPORT_DIR/model.py and its weights (strictly: every state_dict name
   must match a tensor of model.safetensors, and every tensor a name).
2. Loss: the mean cross-entropy of the held-out pairs of EXPORT_DIR/check.json
   as one batch, in eval mode, without and with label smoothing, must equal
   the losses s2s wrote there within --tolerance (1e-5); and the gradient of
   the first with respect to each weight must have the L2 norm s2s wrote,
   within --grad-tolerance (1e-4, relative).
3. Greedy decoding of the same sources must give exactly the ids s2s's greedy
   search gave (check.json).
4. With --translations FILE (one per EXPORT_DIR), the JSON Lines of
   `s2s translate --beam 1 --json` (any sentences): PyTorch's greedy output of
   each line's source tokens must be the tokens s2s translate printed.

Prints one line per check and exits with status 1 on the first disagreement.
Needs torch and safetensors.
"""

import argparse
import importlib.util
import json
import os
import sys


def load_module(directory):
    spec = importlib.util.spec_from_file_location("exported_model", os.path.join(directory, "model.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def check_gradients(m, net, batch, theirs, directory, tolerance):
    """The gradient of the loss (eval mode: no dropout) with respect to each
    weight must have s2s's L2 norm, within `tolerance` relative to it."""
    net.zero_grad(set_to_none=True)
    m.loss(net, batch).backward()
    names = dict(net.named_parameters())
    if set(names) != set(theirs):
        fail(f"{directory}: parameters {sorted(set(names) ^ set(theirs))} are in one model only")
    worst, where = 0.0, None
    for name, p in names.items():
        ours = 0.0 if p.grad is None else p.grad.double().norm().item()
        rel = abs(ours - theirs[name]) / max(abs(theirs[name]), 1e-6)
        if rel > worst:
            worst, where = rel, name
        if not rel <= tolerance:
            fail(f"{directory}: the gradient of {name} has norm {ours:.7g} in PyTorch, "
                 f"{theirs[name]:.7g} in s2s (relative difference {rel:.1e} > {tolerance:.0e})")
    net.zero_grad(set_to_none=True)
    print(f"  gradient norms of {len(names)} tensors: largest relative difference {worst:.1e}"
          + (f" ({where})" if where else ""))


def check(directory, translations, args):
    """Runs the checks on one export; exits on the first disagreement."""
    import torch

    torch.manual_seed(0)
    m = load_module(directory)
    net = m.load(directory)
    src_vocab, tgt_vocab = m.vocabs(directory)
    print(f"{directory}: {type(net).__name__}, {sum(p.numel() for p in net.parameters())} weights "
          f"in {len(net.state_dict())} tensors, every name matched")

    check_path = os.path.join(directory, "check.json")
    max_len, ratio = 200, 2.0
    if os.path.exists(check_path):
        with open(check_path, encoding="utf-8") as f:
            record = json.load(f)
        max_len, ratio = record["max_len"], record["max_len_ratio"]
        pairs = record["pairs"]
        batch = m.collate(pairs)
        with torch.no_grad():
            ours = m.loss(net, batch).item()
        theirs = record["loss"]
        diff = abs(ours - theirs)
        print(f"  loss on {len(pairs)} held-out pairs: s2s {theirs:.7f}, PyTorch {ours:.7f}, |diff| {diff:.2e}")
        if not diff <= args.tolerance:
            fail(f"{directory}: the losses differ by {diff:.2e} > {args.tolerance:.0e}")
        eps = record["label_smoothing"]
        with torch.no_grad():
            ours = m.loss(net, batch, eps).item()
        diff = abs(ours - record["loss_smoothed"])
        print(f"  with label smoothing {eps:g}: s2s {record['loss_smoothed']:.7f}, PyTorch {ours:.7f}, "
              f"|diff| {diff:.2e}")
        if not diff <= args.tolerance:
            fail(f"{directory}: the smoothed losses differ by {diff:.2e} > {args.tolerance:.0e}")
        check_gradients(m, net, batch, record["grad_norms"], directory, args.grad_tolerance)
        out = m.greedy(net, batch["src"], batch["src_lens"], max_len, ratio)
        for i, (p, got) in enumerate(zip(pairs, out)):
            if got != p["greedy"]:
                fail(f"{directory}: check.json pair {i}: s2s greedy {p['greedy']}, PyTorch {got}")
        print(f"  greedy outputs of {len(pairs)} held-out sources: identical")
    else:
        print(f"  no {check_path}: loss check skipped")

    if translations:
        max_len = args.max_len or max_len
        ratio = args.max_len_ratio if args.max_len_ratio is not None else ratio
        with open(translations, encoding="utf-8") as f:
            lines = [json.loads(line) for line in f if line.strip()]
        lines = [line for line in lines if line.get("source")]
        rows = [src_vocab.encode(line["source_tokens"]) for line in lines]
        src, lens = m.pad_sources(rows)
        out = m.greedy(net, src, lens, max_len, ratio)
        for line, got in zip(lines, out):
            mine = [tgt_vocab.tokens[i] for i in got]
            if mine != line["tokens"]:
                fail(f"{directory}: {line['source']!r}: s2s translate {line['tokens']}, PyTorch {mine}")
        print(f"  greedy outputs of {len(lines)} sentences of s2s translate: identical")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("export_dirs", nargs="+", metavar="EXPORT_DIR")
    ap.add_argument("--translations", action="append", default=[], metavar="FILE",
                    help="JSON Lines of `s2s translate --beam 1 --json`; once per EXPORT_DIR, in order")
    ap.add_argument("--tolerance", type=float, default=1e-5, help="on the losses (absolute)")
    ap.add_argument("--grad-tolerance", type=float, default=1e-4,
                    help="on each weight's gradient norm (relative)")
    ap.add_argument("--max-len", type=int, help="as s2s translate's --max-len [default: check.json's, or 200]")
    ap.add_argument("--max-len-ratio", type=float, help="as s2s translate's [default: check.json's, or 2]")
    args = ap.parse_args()
    if args.translations and len(args.translations) != len(args.export_dirs):
        ap.error(f"{len(args.translations)} --translations for {len(args.export_dirs)} export directories")
    for i, directory in enumerate(args.export_dirs):
        check(directory, args.translations[i] if args.translations else None, args)
    print("OK")


if __name__ == "__main__":
    main()
