#!/usr/bin/env python3
"""Does CTranslate2 write what s2s writes? Decodes the token ids that `s2s
bench translate --dump-tokens` recorded with an exported model
(scripts/export_ctranslate2.py) and counts the sentences whose outputs are
identical, token for token.

    s2s bench translate --model runs/m30k --test-src test.de --rounds 1 --dump-tokens m30k.tokens
    python3 scripts/export_ctranslate2.py runs/m30k ct2-m30k
    python3 scripts/check_ctranslate2.py ct2-m30k m30k.tokens
    python3 scripts/check_ctranslate2.py ct2-m30k m30k.tokens --beam 5 --compute-type int8

Each sentence is decoded on its own (a batch of one), from exactly the ids
ours read (`<eos>` included), under exactly the cap ours decoded under
(`max_output_len`, `<eos>` counted: CTranslate2's max_decoding_length is the
same count, as the end token takes a step), with min_decoding_length 0 (ours
may write `<eos>` first). Greedy outputs of the same weights should agree
but for rounding: a near tie between two tokens can flip when the two
engines add up products in another order, and the outputs part from there.

Beam search is compared under the length penalty the dump records
("length_penalty" alpha and "length_norm" rule): CTranslate2 has only the
power rule, log P / |Y|^alpha (|Y| counting the final <eos>, as ours), so
for a like-for-like check make the dump with `s2s bench translate
--length-norm power`. A dump made with our default GNMT rule, ((5 + |Y|) /
6)^alpha, is still decoded (with a warning, and both rules printed with the
count): beam outputs then differ where both engines computed the same
numbers, since the rules rank lengths differently. Dumps older than the
"length_norm" field were decoded with GNMT. Greedy search (beam 1) never
compares lengths, so the rule does not matter there. Ours stops a sentence
once no live beam can beat the best finished hypothesis, CTranslate2 when
`beam` hypotheses have finished; both return the same best.

Prints the count, the first few differences, and with --json a record; exits
with status 1 when fewer than --require sentences (a fraction) agree.

`--hyp-out FILE` (and `--ours-out FILE`) write CTranslate2's (and our dumped)
outputs as text, one line per sentence, for `s2s score --ref REF --hyp FILE`:
subwords are joined at `</w>` (our BPE), words separated by spaces,
character models' `\u2581` read as a space. Both engines' lines are made the
same way here, so their BLEUs compare like with like (`s2s eval` also
detokenizes punctuation, which sacreBLEU's 13a tokenizer mostly undoes).
"""

import argparse
import json
import os
import sys


def read_dump(path, beam):
    """The records of `path` for beam width `beam`, in sentence order."""
    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{number}: not a JSON record ({e})")
            if record.get("beam") == beam:
                records.append(record)
    if not records:
        sys.exit(f"{path}: no record of beam {beam} (run s2s bench translate with --beam {beam})")
    records.sort(key=lambda r: r["index"])
    return records


# The only length penalty rule CTranslate2 has (log P / |Y|^alpha).
CT2_RULE = "power"


def length_rule(path, records):
    """(alpha, rule) of the length penalty the dumped records were decoded
    with; the rule is "gnmt" for dumps older than the "length_norm" field."""
    rules = {(r.get("length_penalty", 0.6), r.get("length_norm", "gnmt")) for r in records}
    if len(rules) != 1:
        sys.exit(f"{path}: the records mix length penalties {sorted(rules)}")
    return rules.pop()


def rule_warning(path, rule, beams):
    """The warning to print when beam search in CTranslate2 cannot follow
    the dump's rule, or None."""
    if rule == CT2_RULE or max(beams) <= 1:
        return None
    return (f"warning: {path} was decoded with the {rule} length penalty; CTranslate2 has only "
            f"the {CT2_RULE} rule (log P / |Y|^alpha), so beam outputs can differ by the rule "
            f"alone (make the dump with s2s bench translate --length-norm {CT2_RULE})")


def read_vocabularies(model_dir):
    """(source tokens, target tokens) of a CTranslate2 model directory."""
    def load(name):
        path = os.path.join(model_dir, name)
        if not os.path.isfile(path):
            return None
        with open(path, encoding="utf-8") as f:
            return json.load(f)

    shared = load("shared_vocabulary.json")
    src = shared or load("source_vocabulary.json")
    tgt = shared or load("target_vocabulary.json")
    if src is None or tgt is None:
        sys.exit(f"{model_dir}: no shared_vocabulary.json nor source_/target_vocabulary.json")
    return src, tgt


END_OF_WORD = "</w>"
SPACE = "\u2581"


def tokenizer_kind(tgt_vocab):
    """"bpe", "char" or "word", told from the target vocabulary."""
    tokens = tgt_vocab[4:]  # past <pad> <bos> <eos> <unk>
    if any(t.endswith(END_OF_WORD) for t in tokens):
        return "bpe"
    if all(len(t) == 1 for t in tokens):
        return "char"
    return "word"


def as_text(tokens, kind):
    """Output tokens as a line of text, as our target tokenizer writes them."""
    if kind == "char":
        return "".join(" " if t == SPACE else t for t in tokens)
    if kind == "bpe":
        words, word = [], ""
        for t in tokens:
            if t.endswith(END_OF_WORD):
                words.append(word + t[:-len(END_OF_WORD)])
                word = ""
            else:
                word += t
        if word:
            words.append(word)
        return " ".join(words)
    return " ".join(tokens)


def write_lines(path, lines):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))
    os.replace(tmp, path)


def translate_records(translator, records, src_vocab, tgt_index, beam, length_penalty):
    """CTranslate2's output ids for every record, each sentence decoded alone."""
    jobs = []
    for r in records:
        tokens = [src_vocab[i] for i in r["source_ids"]]
        jobs.append(translator.translate_batch(
            [tokens], beam_size=beam, max_decoding_length=r["max_output_len"],
            min_decoding_length=0, length_penalty=length_penalty,
            max_input_length=0, asynchronous=True))
    outputs = []
    for job in jobs:
        hyp = job[0].result().hypotheses[0]
        outputs.append([tgt_index[t] for t in hyp])
    return outputs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="CTranslate2 model directory (export_ctranslate2.py)")
    parser.add_argument("dump", help="the file s2s bench translate --dump-tokens wrote")
    parser.add_argument("--beam", type=int, default=1)
    parser.add_argument("--compute-type", default="float32",
                        help="CTranslate2 compute_type: float32, int8, ... [float32]")
    parser.add_argument("--threads", type=int, default=1, help="intra_threads [1]")
    parser.add_argument("--show", type=int, default=5, help="differences to print [5]")
    parser.add_argument("--require", type=float, default=0.0,
                        help="exit 1 when fewer than this fraction agree [0]")
    parser.add_argument("--json", help="append one JSON record to this file")
    parser.add_argument("--hyp-out", help="write CTranslate2's outputs as text, a line each")
    parser.add_argument("--ours-out", help="write our dumped outputs as text, a line each")
    args = parser.parse_args()

    try:
        import ctranslate2
    except ImportError:
        sys.exit("ctranslate2 is not importable: pip install ctranslate2")

    records = read_dump(args.dump, args.beam)
    src_vocab, tgt_vocab = read_vocabularies(args.model)
    tgt_index = {t: i for i, t in enumerate(tgt_vocab)}
    translator = ctranslate2.Translator(args.model, device="cpu",
                                        compute_type=args.compute_type,
                                        inter_threads=1, intra_threads=args.threads)
    penalty, rule = length_rule(args.dump, records)
    warning = rule_warning(args.dump, rule, [args.beam])
    if warning:
        print(warning, file=sys.stderr)
    outputs = translate_records(translator, records, src_vocab, tgt_index, args.beam, penalty)

    same = 0
    shown = 0
    for r, theirs in zip(records, outputs):
        ours = r["output_ids"]
        if ours == theirs:
            same += 1
            continue
        if shown < args.show:
            shown += 1
            at = next((k for k, (a, b) in enumerate(zip(ours, theirs)) if a != b),
                      min(len(ours), len(theirs)))
            words = lambda ids: " ".join(tgt_vocab[i] for i in ids)  # noqa: E731
            print(f"sentence {r['index']}: {r['source']!r}\n"
                  f"  s2s:         {words(ours)}\n"
                  f"  ctranslate2: {words(theirs)}\n"
                  f"  (first difference at output token {at})")
    n = len(records)
    kind = tokenizer_kind(tgt_vocab)
    if args.hyp_out:
        write_lines(args.hyp_out, [as_text([tgt_vocab[i] for i in ids], kind) for ids in outputs])
    if args.ours_out:
        write_lines(args.ours_out, [as_text([tgt_vocab[i] for i in r["output_ids"]], kind)
                                    for r in records])
    print(f"identical outputs: {same}/{n} ({100.0 * same / n:.1f}%), beam {args.beam}, "
          f"compute_type {args.compute_type}, model {args.model}, "
          f"length penalty alpha {penalty:g}: s2s {rule}, ctranslate2 {CT2_RULE}")
    if args.json:
        with open(args.json, "a", encoding="utf-8") as f:
            f.write(json.dumps({"check": "ctranslate2", "model": args.model, "dump": args.dump,
                                "beam": args.beam, "compute_type": args.compute_type,
                                "length_penalty": penalty, "length_norm": rule,
                                "sentences": n, "identical": same}) + "\n")
    if same < args.require * n:
        sys.exit(1)


if __name__ == "__main__":
    main()
