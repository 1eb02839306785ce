#!/usr/bin/env python3
"""CTranslate2 beside `s2s bench translate`: the same model (exported by
scripts/export_ctranslate2.py), the same sentences, timed the same way.

    s2s bench translate --model runs/m30k --test-src test.de --beam 1,5 --rounds 1 \
        --dump-tokens m30k.tokens
    python3 benches/peers/ctranslate2_translate.py ct2-m30k m30k.tokens \
        --beam 1,5 --threads 1,2 --inter-threads 1,2 --compute-type float32,int8 \
        --rounds 5 --json translate.json \
        --s2s target/release/s2s --s2s-model runs/m30k --test-src test.de

The input is the `--dump-tokens` file of our bench: the source token ids our
model read (`<eos>` included) and the output cap it decoded each sentence
under, so both engines start from the same ids (our tokenizer is not
reimplemented here). As ours, the sentences are sorted by source length
(stably) and cut into batches of `--batch-size` (64); every batch is one
`translate_batch` call with the largest cap of its sentences (CTranslate2
takes one max_decoding_length per call), min_decoding_length 0, the length
penalty ours used, and no input truncation. Every batch of a round is
submitted at once (asynchronous=True) and the round ends when the last one
returns, so with `inter_threads` N the N translators take batches as they
come free, as our `--inter-threads` does. CTranslate2 has one length
penalty rule, log P / |Y|^alpha: a dump made with ours (`--length-norm
gnmt`, the default) is timed with a warning, and the header says which
rule each engine ran; ours (with `--s2s`) runs under the dump's rule.

A case is (compute_type, beam, threads, translators): one
`ctranslate2.Translator` with intra_threads = threads / translators and
inter_threads = translators. Each case translates one batch untimed first;
then every round times the whole set once per case, the cases interleaved,
and the table reports the median round, sentences/s and output tokens/s
(tokens without `<eos>`, counted on the last round). `--json` appends one
record per case in our bench's format, with "engine": "ctranslate2" and
"compute_type", so a file holds both engines' records.

With `--s2s BIN --s2s-model RUN --test-src FILE`, every round also runs
`BIN bench translate --rounds 1` on the same file (the one the dump was made
from) with the same beams, threads and translators, so that both engines
meet the machine in the same state; ours is then part of the table (compute
"s2s-f32", and "s2s-int8" with `--s2s-quantize f32,int8`) and of the JSON,
its per-case rounds gathered over the rounds (each still after its own
untimed warm-up batch), and the last column gives each CTranslate2 case's
speed over ours at the same weight type (float32 against f32, int8 against
int8, else against f32), beam, threads and translators (above 1:
CTranslate2 is faster).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from check_ctranslate2 import (  # noqa: E402  (one reader of the dump for both scripts)
    CT2_RULE, length_rule, read_dump, rule_warning)


def csv_ints(text):
    return [int(x) for x in text.split(",") if x]


def read_sources(path):
    """(index, source ids, cap) of every sentence of the dump, in file order,
    and the (alpha, rule) of its length penalty, from the records of its
    first beam width (the sources are the same for every width)."""
    with open(path, encoding="utf-8") as f:
        first = next((line for line in f if line.strip()), None)
    if first is None:
        sys.exit(f"{path}: no sentence")
    try:
        beam = json.loads(first)["beam"]
    except (json.JSONDecodeError, KeyError) as e:
        sys.exit(f"{path}:1: not a --dump-tokens record ({e})")
    records = read_dump(path, beam)
    return ([(r["index"], r["source_ids"], r["max_output_len"]) for r in records],
            length_rule(path, records))


def read_vocabularies(model_dir):
    def load(name):
        path = os.path.join(model_dir, name)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                return json.load(f)
        return None

    shared = load("shared_vocabulary.json")
    src = shared or load("source_vocabulary.json")
    tgt = shared or load("target_vocabulary.json")
    if src is None or tgt is None:
        sys.exit(f"{model_dir}: no CTranslate2 vocabulary files")
    return src, tgt


def make_batches(sentences, src_vocab, size):
    """Batches of (tokens, cap) as ours makes them: sorted by source length, stably."""
    ordered = sorted(sentences, key=lambda s: len(s[1]))
    batches = []
    for start in range(0, len(ordered), size):
        chunk = ordered[start:start + size]
        tokens = [[src_vocab[i] for i in s[1]] for s in chunk]
        batches.append((tokens, max(s[2] for s in chunk)))
    return batches


def translate_round(translator, batches, beam, length_penalty):
    """Translates every batch (all submitted at once); returns the output tokens."""
    jobs = [translator.translate_batch(tokens, beam_size=beam, max_decoding_length=cap,
                                       min_decoding_length=0, length_penalty=length_penalty,
                                       max_input_length=0, asynchronous=True)
            for tokens, cap in batches]
    return sum(len(r.result().hypotheses[0]) for job in jobs for r in job)


# Our weight types by the CTranslate2 compute type each is compared with.
WEIGHTS_OF = {"f32": "float32", "int8": "int8"}


def run_ours(args, n, ours):
    """One round of `s2s bench translate` over every (beam, threads,
    translators) case; adds each case's seconds to `ours`."""
    with tempfile.TemporaryDirectory(prefix="ct2-peer-") as tmp:
        record_file = os.path.join(tmp, "s2s.json")
        cmd = [args.s2s, "bench", "translate", "--model", args.s2s_model,
               "--test-src", args.test_src, "--rounds", "1", "--json", record_file,
               "--beam", ",".join(map(str, args.beam)),
               "--threads", ",".join(map(str, args.threads)),
               "--inter-threads", ",".join(map(str, args.inter_threads)),
               "--batch-size", str(args.batch_size),
               "--quantize", args.s2s_quantize,
               "--length-norm", args.length_norm]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")
        with open(record_file, encoding="utf-8") as f:
            records = [json.loads(line) for line in f if line.strip()]
    for r in records:
        if r["sentences"] != n:
            sys.exit(f"{args.test_src}: s2s read {r['sentences']} sentences, the dump has {n}")
        weights = r.get("weights", "f32")
        key = (WEIGHTS_OF[weights], r["beam"], r["threads"], r["inter_threads"])
        case = ours.setdefault(key, {"compute_type": "s2s-" + weights, "beam": r["beam"],
                                     "threads": r["threads"], "inter": r["inter_threads"],
                                     "secs": [], "tokens": 0})
        case["secs"].append(r["seconds"])
        case["tokens"] = r["output_tokens"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="CTranslate2 model directory")
    parser.add_argument("dump", help="s2s bench translate --dump-tokens FILE")
    parser.add_argument("--beam", type=csv_ints, default=[1])
    parser.add_argument("--threads", type=csv_ints, default=[1, 2])
    parser.add_argument("--inter-threads", type=csv_ints, default=[1])
    parser.add_argument("--compute-type", default="float32",
                        help="comma-separated compute types [float32]")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--json", help="append one record per case to this file")
    parser.add_argument("--s2s", help="the s2s binary: also time `s2s bench translate` each round")
    parser.add_argument("--s2s-model", help="with --s2s: our run or checkpoint directory")
    parser.add_argument("--test-src", help="with --s2s: the sentences the dump was made from")
    parser.add_argument("--s2s-quantize", default="f32",
                        help="with --s2s: our weight types (f32, int8 or f32,int8); each "
                             "CTranslate2 case is compared with ours of the same type "
                             "(float32 with f32, int8 with int8), else with our f32")
    args = parser.parse_args()
    if args.s2s and not (args.s2s_model and args.test_src):
        sys.exit("--s2s needs --s2s-model RUN and --test-src FILE")

    try:
        import ctranslate2
    except ImportError:
        print("ctranslate2 is not importable (pip install ctranslate2): no peer here",
              file=sys.stderr)
        sys.exit(3)

    sentences, (length_penalty, rule) = read_sources(args.dump)
    args.length_norm = rule  # ours runs under the dump's rule
    warning = rule_warning(args.dump, rule, args.beam)
    if warning:
        print(warning, file=sys.stderr)
    src_vocab, _ = read_vocabularies(args.model)
    batches = make_batches(sentences, src_vocab, args.batch_size)
    n = len(sentences)

    cases = []
    for compute_type in args.compute_type.split(","):
        for beam in args.beam:
            for threads in args.threads:
                for inter in args.inter_threads:
                    if threads % inter:
                        continue
                    translator = ctranslate2.Translator(
                        args.model, device="cpu", compute_type=compute_type,
                        inter_threads=inter, intra_threads=threads // inter)
                    cases.append({"compute_type": compute_type, "beam": beam,
                                  "threads": threads, "inter": inter,
                                  "translator": translator, "secs": [], "tokens": 0})
    if not cases:
        sys.exit("no case: every --inter-threads must divide a --threads")
    print(f"ctranslate2 {ctranslate2.__version__}: {args.model}, {n} sentence(s) of "
          f"{args.dump}, batch {args.batch_size}, {args.rounds} round(s), median time per round; "
          f"length penalty alpha {length_penalty:g}: s2s {rule}, ctranslate2 {CT2_RULE}")

    ours = {}  # (compute type, beam, threads, inter) -> our case, with "secs" over the rounds
    for case in cases:  # warm-up: one batch, untimed
        translate_round(case["translator"], batches[:1], case["beam"], length_penalty)
    for _ in range(max(args.rounds, 1)):
        if args.s2s:
            run_ours(args, n, ours)
        for case in cases:
            start = time.perf_counter()
            case["tokens"] = translate_round(case["translator"], batches, case["beam"],
                                             length_penalty)
            case["secs"].append(time.perf_counter() - start)
    cases = list(ours.values()) + cases

    print(f"{'compute':<8} {'beam':>5} {'threads':>7} {'inter':>6} {'median':>10} "
          f"{'sentences/s':>11} {'tokens/s':>11} {'tokens':>10}" + (" vs s2s" if ours else ""))
    out = open(args.json, "a", encoding="utf-8") if args.json else None
    for case in cases:
        seconds = statistics.median(case["secs"])
        shape = (case["beam"], case["threads"], case["inter"])
        mine = ours.get((case["compute_type"], *shape)) or ours.get(("float32", *shape))
        ratio = ""
        if mine and not case["compute_type"].startswith("s2s"):
            ratio = f" {statistics.median(mine['secs']) / seconds:>6.2f}x"
        print(f"{case['compute_type']:<8} {case['beam']:>5} {case['threads']:>7} "
              f"{case['inter']:>6} {seconds * 1e3:>8.1f}ms {n / seconds:>11.1f} "
              f"{case['tokens'] / seconds:>11.0f} {case['tokens']:>10}{ratio}")
        if out:
            is_ours = case["compute_type"].startswith("s2s")
            out.write(json.dumps({
                "bench": "translate", "engine": "s2s" if is_ours else "ctranslate2",
                "engine_version": None if is_ours else ctranslate2.__version__,
                "model": args.s2s_model if is_ours else args.model,
                "test_src": args.test_src if is_ours else args.dump, "device": "cpu",
                "compute_type": (WEIGHTS_OF[case["compute_type"][4:]] if is_ours
                                 else case["compute_type"]),
                "beam": case["beam"], "threads": case["threads"],
                "length_penalty": length_penalty, "length_norm": rule if is_ours else CT2_RULE,
                "inter_threads": case["inter"], "batch_size": args.batch_size,
                "sentences": n, "rounds": len(case["secs"]), "seconds": seconds,
                "seconds_per_round": case["secs"], "sentences_per_s": n / seconds,
                "tokens_per_s": case["tokens"] / seconds, "output_tokens": case["tokens"],
            }) + "\n")
    if out:
        out.close()
    print(f"(median of {args.rounds} interleaved rounds; tokens: output tokens without <eos>; "
          f"CPU compute types {ctranslate2.get_supported_compute_types('cpu')})")


if __name__ == "__main__":
    main()
