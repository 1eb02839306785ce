#!/usr/bin/env bash
# The GPU check in one command: correctness on the adapter, kernel and
# training-step throughput with their costs, and PyTorch on CUDA beside them.
#
#   scripts/gpu-check.sh           full: on a machine with a GPU and a Vulkan
#                                  loader (about 8 minutes with the build)
#   scripts/gpu-check.sh --short   every stage on tiny sizes; CI runs it on
#                                  lavapipe to keep the script working
#   OUT=DIR scripts/gpu-check.sh   where the results go (default target/gpu-check)
#
# Stages:
#   1. build (release);
#   2. the GPU tests on the adapter wgpu picks, with S2S_REQUIRE_GPU=1 so
#      that a missing adapter fails instead of skipping, and the kernel suite
#      again on a device with WebGPU's default limits (S2S_GPU_LIMITS=default)
#      and, in full mode, without the optional shader features
#      (S2S_GPU_FEATURES=none: the row kernels reduce without subgroups);
#   3. s2s bench matmul softmax layer_norm attention --device all: matmul
#      on squares 256..4096 and the shapes the models run, the row kernels,
#      attention (JSON and an SVG chart);
#   4. s2s bench train-step --device gpu: ms per step and what a step costs
#      (dispatches, submits, host waits, copies);
#   5. benches/peers/torch_gpu.py, where PyTorch sees a CUDA device: the same
#      kernels and steps, and PyTorch's time over ours for each.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=full
for arg in "$@"; do
    case "$arg" in
        --short) mode=short ;;
        -h | --help) sed -n '2,24p' "$0"; exit 0 ;;
        *) echo "gpu-check.sh: unknown option $arg (expected --short)" >&2; exit 2 ;;
    esac
done
out="${OUT:-target/gpu-check}"
mkdir -p "$out"
rm -f "$out"/*.json
export S2S_REQUIRE_GPU=1
start=$SECONDS
stage() { echo; echo "== $1 ($((SECONDS - start)) s)"; }

stage "1. build"
cargo build --release --quiet
s2s=target/release/s2s

stage "2. GPU tests on this adapter"
S2S_GPU_LIMITS=default cargo test --release --quiet -p kernels-gpu
if [ "$mode" = short ]; then
    cargo test --release --quiet -p kernels-gpu --test smoke --test matmul
else
    cargo test --release --quiet -p kernels-gpu
    S2S_GPU_FEATURES=none cargo test --release --quiet -p kernels-gpu
    cargo test --release --quiet -p tensor --lib -- gpu arena
    cargo test --release --quiet -p tensor --test gpu --test gpu_waits
    cargo test --release --quiet -p seq2seq --test train_gpu --test gpu_step_waits
fi

stage "3. kernels, GPU beside CPU"
if [ "$mode" = short ]; then
    shapes=(--shapes 64x64x64,64x256,8x16x16x16 --rounds 1 --sample-ms 5 --threads 2)
else
    shapes=(--shapes "256x256x256,512x512x512,1024x1024x1024,2048x2048x2048,4096x4096x4096,\
64x768x256,64x1024x256,64x5000x512,1280x1024x256,1280x256x1024,1280x5000x256,\
1280x256,1280x1024,64x5000,1280x5000,256x20x20x64,32x128x128x64,8x512x512x64" --rounds 3
        --threads "$(nproc)")
fi
"$s2s" bench matmul softmax layer_norm attention --device all "${shapes[@]}" \
    --json "$out/kernels.json" --plot "$out/kernels.svg"

stage "4. training steps on the GPU"
if [ "$mode" = short ]; then
    steps=(--rounds 1 --steps 1)
else
    steps=(--rounds 3 --steps 3)
fi
"$s2s" bench train-step --device gpu --model all "${steps[@]}" --json "$out/train-step.json"

stage "5. PyTorch on CUDA"
peer=(python3 benches/peers/torch_gpu.py --json "$out/torch-gpu.json"
    --ours "$out/kernels.json" --ours-train "$out/train-step.json")
[ "$mode" = short ] && peer+=(--short)
if ! python3 -c 'import torch' 2>/dev/null; then
    echo "skipped: python3 cannot import torch (pip install torch brings PyTorch with CUDA)"
else
    status=0
    "${peer[@]}" || status=$?
    case "$status" in
        0) ;;
        3) echo "skipped: no CUDA device for PyTorch here" ;;
        *) exit "$status" ;;
    esac
fi

echo
echo "gpu-check ($mode) passed in $((SECONDS - start)) s; results in $out/"
