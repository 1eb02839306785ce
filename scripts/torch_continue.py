#!/usr/bin/env python3
"""Continues training a model exported by `s2s export --format pytorch`, in
PyTorch, on one or many GPUs (DistributedDataParallel), or on CPUs.

    s2s export --format pytorch --model runs/fra-eng --out export/ --with-data
    torchrun --nproc-per-node 8 scripts/torch_continue.py --export export/ --out continued/
    torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d --rdzv-endpoint HOST:29500 \\
        scripts/torch_continue.py --export export/ --out continued/ --epochs 5

Every process loads export/model.py and its weights, wraps the model in
DistributedDataParallel (NCCL on GPUs, gloo on CPUs) and trains on its share
of the batches of export/train.jsonl (written by `--with-data`): the pairs
are cut into batches of similar length, shuffled with the epoch's seed, and
batch i goes to process i mod WORLD_SIZE, so each optimizer step averages the
gradients of WORLD_SIZE batches. The defaults of --lr, --batch-size (or --batch-tokens),
--clip, --label-smoothing, --weight-decay and --optimizer are the s2s run's own
(export/training.json); a learning-rate schedule is not carried over (the
constant --lr is used).

Process 0 reports the loss, validates on export/valid.jsonl after each epoch,
and writes --out as a new export (model.py, model.safetensors, config.json,
the vocabularies: loadable exactly as the input was), replacing the weights
atomically, at the end of each epoch and at the end.
"""

import argparse
import importlib.util
import json
import os
import random
import shutil
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

# Files of an export that describe the model and are copied unchanged.
COPIED = [
    "model.py",
    "config.json",
    "src_vocab.json",
    "tgt_vocab.json",
    "src_tokenizer.json",
    "tgt_tokenizer.json",
]


def load_module(directory):
    spec = importlib.util.spec_from_file_location("exported_model", os.path.join(directory, "model.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def batches(examples, seed, sentences=None, tokens=None):
    """Length-bucketed batches, as s2s batches: the pairs shuffled, sorted by
    (source, target) length (stable), cut into batches of at most `sentences`
    pairs or of at most `tokens` positions counting padding (rows x the
    longer side, the source's <eos> and the target's <bos> included), and
    the batches shuffled."""
    rng = random.Random(seed)
    order = list(range(len(examples)))
    rng.shuffle(order)
    order.sort(key=lambda i: (len(examples[i]["src"]), len(examples[i]["tgt"])))
    cut, current, longest = [], [], 0
    for i in order:
        width = max(len(examples[i]["src"]), len(examples[i]["tgt"])) + 1
        full = len(current) == sentences if sentences else (len(current) + 1) * max(longest, width) > tokens
        if current and full:
            cut.append(current)
            current, longest = [], 0
        current.append(i)
        longest = max(longest, width)
    if current:
        cut.append(current)
    rng.shuffle(cut)
    return cut


def save_export(m, net, source, out):
    """`out` as an export of `net` (its state_dict names are the export's)."""
    from safetensors.torch import save_file

    os.makedirs(out, exist_ok=True)
    for name in COPIED:
        if os.path.exists(os.path.join(source, name)):
            shutil.copyfile(os.path.join(source, name), os.path.join(out, name))
    weights = {k: v.detach().contiguous().cpu() for k, v in net.state_dict().items()}
    tmp = os.path.join(out, "model.safetensors.tmp")
    save_file(weights, tmp)
    os.replace(tmp, os.path.join(out, "model.safetensors"))


def settings(export):
    """The s2s run's training settings (training.json), or {}."""
    path = os.path.join(export, "training.json")
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f).get("train", {})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--export", required=True, help="a directory written by s2s export --format pytorch")
    ap.add_argument("--out", required=True, help="where the continued model is written (as an export)")
    ap.add_argument("--train", help="pairs as ids, one JSON object a line [default: EXPORT/train.jsonl]")
    ap.add_argument("--valid", help="validation pairs [default: EXPORT/valid.jsonl when present]")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--max-steps", type=int, help="stop after this many optimizer steps")
    ap.add_argument("--batch-size", type=int, help="pairs per batch per process [default: the run's]")
    ap.add_argument("--batch-tokens", type=int,
                    help="instead: token positions (padding included) per batch per process")
    ap.add_argument("--lr", type=float, help="learning rate [default: the run's]")
    ap.add_argument("--optimizer", choices=["adam", "adamw"], help="[default: the run's]")
    ap.add_argument("--weight-decay", type=float, help="[default: the run's]")
    ap.add_argument("--clip", type=float, help="global gradient norm clip, 0: none [default: the run's]")
    ap.add_argument("--label-smoothing", type=float, help="[default: the run's]")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    args = ap.parse_args()

    train_path = args.train or os.path.join(args.export, "train.jsonl")
    if not os.path.exists(train_path):
        raise SystemExit(f"{train_path} does not exist: export with `s2s export --with-data`, or give --train")
    run = settings(args.export)
    size = run.get("batch_size", {})
    batch_tokens = args.batch_tokens or (None if args.batch_size else size.get("Tokens"))
    batch_size = None if batch_tokens else args.batch_size or size.get("Sentences") or 64
    lr = args.lr if args.lr is not None else run.get("lr", 3e-3)
    optimizer_kind = args.optimizer or run.get("optimizer", "adam")
    weight_decay = args.weight_decay if args.weight_decay is not None else run.get("weight_decay", 0.0)
    clip = args.clip if args.clip is not None else run.get("clip", 1.0)
    smoothing = args.label_smoothing if args.label_smoothing is not None else run.get("label_smoothing", 0.0)

    # torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT
    cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device("cuda", local_rank) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    torch.manual_seed(args.seed + rank)  # dropout masks differ per process

    m = load_module(args.export)
    net = m.load(args.export, device=device).train()
    ddp = DistributedDataParallel(net, device_ids=[local_rank] if cuda else None)
    kind = torch.optim.AdamW if optimizer_kind == "adamw" else torch.optim.Adam
    optimizer = kind(net.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=weight_decay)

    train = read_jsonl(train_path)
    valid_path = args.valid or os.path.join(args.export, "valid.jsonl")
    valid = read_jsonl(valid_path) if os.path.exists(valid_path) else []
    if rank == 0:
        per_batch = f"{batch_tokens} tokens" if batch_tokens else f"{batch_size} pairs"
        print(f"{type(net).__name__} from {args.export}: {len(train)} training pairs, world size {world} "
              f"on {device.type}, batches of {per_batch} per process, lr {lr:g}, {optimizer_kind}")

    step, start = 0, time.time()
    for epoch in range(args.epochs):
        plan = batches(train, args.seed * 1_000_003 + epoch, batch_size, batch_tokens)
        plan = plan[: len(plan) - len(plan) % world] or plan[:1] * world  # as many for every process
        for indices in plan[rank::world]:
            batch = m.collate([train[i] for i in indices], device=device)
            loss = m.loss(ddp, batch, smoothing)  # DDP averages the gradients in backward
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
            optimizer.step()
            step += 1
            if rank == 0 and (step % args.log_every == 0 or step == 1):
                print(f"epoch {epoch + 1} step {step}: loss {loss.item():.4f} ({time.time() - start:.0f} s)")
            if args.max_steps and step >= args.max_steps:
                break
        if rank == 0:
            if valid:
                net.eval()
                with torch.no_grad():
                    total, tokens = 0.0, 0
                    for indices in batches(valid, 0, batch_size, batch_tokens):
                        b = m.collate([valid[i] for i in indices], device=device)
                        n = int((b["tgt_out"] != m.PAD).sum())
                        total += m.loss(net, b).item() * n
                        tokens += n
                net.train()
                print(f"epoch {epoch + 1}: validation loss {total / max(tokens, 1):.4f}")
            save_export(m, net, args.export, args.out)
        dist.barrier()
        if args.max_steps and step >= args.max_steps:
            break
    if rank == 0:
        print(f"trained {step} steps; the continued model is in {args.out}")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
