#!/usr/bin/env bash
# Reproduces docs/results.md: trains each model of the results page, scores it
# on its test set and records the wall time, the command and the scores.
#
#   S2S_DATA_DIR=../shared/data scripts/results.sh [EXPERIMENT ...]
#
# Experiments: tatoeba-gru128 tatoeba-gru256 multi30k-gru multi30k-transformer
# train-step (default: all, in that order). Each writes runs/results/NAME/
# (checkpoint, train.log, eval.json, hyp.txt) and appends one JSON line to
# runs/results/summary.jsonl. Run it on a quiet machine: the times are part
# of the result.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${S2S_DATA_DIR:?set S2S_DATA_DIR to the shared data directory (e.g. ../shared/data)}"
D="$(realpath "$S2S_DATA_DIR")"
OUT=runs/results
mkdir -p "$OUT"
cargo build --release --quiet
S2S=target/release/s2s
if [ -n "${CARGO_TARGET_DIR:-}" ]; then S2S="$CARGO_TARGET_DIR/release/s2s"; fi

TATOEBA="$D/tatoeba/eng-fra.txt"
M30K="$D/multi30k/raw"

# train NAME ARGS... : trains into $OUT/NAME, timing the run.
train() {
    local name=$1
    shift
    local dir="$OUT/$name"
    rm -rf "$dir"
    mkdir -p "$dir"
    echo "== $name: s2s train $*" | tee "$dir/command.txt"
    local start end
    start=$(date +%s)
    "$S2S" train --out "$dir/run" "$@" 2>&1 | tee "$dir/train.log"
    end=$(date +%s)
    echo $((end - start)) >"$dir/train_seconds"
}

# evaluate NAME ARGS... : scores $OUT/NAME's best checkpoint.
evaluate() {
    local name=$1
    shift
    local dir="$OUT/$name"
    echo "== $name: s2s eval $*" | tee -a "$dir/command.txt"
    "$S2S" eval --model "$dir/run" --output "$dir/hyp.txt" --json "$@" >"$dir/eval.json"
    cat "$dir/eval.json"
    python3 - "$dir" "$name" >>"$OUT/summary.jsonl" <<'EOF'
import json, sys
d, name = sys.argv[1], sys.argv[2]
e = json.load(open(f"{d}/eval.json"))
e["experiment"] = name
e["train_seconds"] = int(open(f"{d}/train_seconds").read())
e["command"] = open(f"{d}/command.txt").read().strip()
print(json.dumps(e))
EOF
}

tatoeba() { # NAME HIDDEN
    train "$1" --data "$TATOEBA" --reverse --tutorial-filter \
        --model gru-attn --attention bahdanau --embed-size "$2" --hidden-size "$2" \
        --dropout 0.1 --epochs 30 --batch-size 32 --lr 0.001 --patience 5 --seed 1
    evaluate "$1" --data "$TATOEBA" --reverse --split test --beam 5
}

multi30k() { # NAME MODEL-ARGS...
    local name=$1
    shift
    train "$name" --train-src "$M30K/train.de" --train-tgt "$M30K/train.en" \
        --valid-src "$M30K/val.de" --valid-tgt "$M30K/val.en" \
        --test-src "$M30K/test_2016_flickr.de" --test-tgt "$M30K/test_2016_flickr.en" \
        --lowercase --min-freq 2 --seed 1 "$@"
    evaluate "$name" --test-src "$M30K/test_2016_flickr.de" \
        --test-ref "$M30K/test_2016_flickr.en" --beam 5
}

run() {
    case "$1" in
    tatoeba-gru128) tatoeba tatoeba-gru128 128 ;;
    tatoeba-gru256) tatoeba tatoeba-gru256 256 ;;
    multi30k-gru)
        # bentrevett/pytorch-seq2seq notebook 3's shape: bidirectional GRU
        # encoder, Bahdanau attention, dropout 0.5, batch 128, clip 1.
        multi30k multi30k-gru --model gru-attn --attention bahdanau --bidirectional true \
            --embed-size 256 --hidden-size 256 --dropout 0.5 --batch-size 128 \
            --clip 1 --lr 0.001 --epochs 10 --patience 3
        ;;
    multi30k-transformer)
        # The benchmark Transformer: 3 + 3 layers, d_model 256, 8 heads, ff 512.
        multi30k multi30k-transformer --model transformer --d-model 256 --heads 8 \
            --ff-size 512 --enc-layers 3 --dec-layers 3 --dropout 0.1 --batch-size 128 \
            --clip 1 --lr 0.0005 --schedule constant --epochs 12 --patience 3
        ;;
    train-step)
        "$S2S" bench train-step --model all --threads 2 --rounds 5 --steps 3 \
            --torch benches/peers/torch_train_step.py | tee "$OUT/train-step.txt"
        ;;
    *)
        echo "unknown experiment $1" >&2
        exit 2
        ;;
    esac
}

if [ $# -eq 0 ]; then
    set -- tatoeba-gru128 tatoeba-gru256 multi30k-gru multi30k-transformer train-step
fi
for e in "$@"; do run "$e"; done
