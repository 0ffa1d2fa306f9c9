#!/usr/bin/env bash
# Training speed on a CUDA machine: pose HRNet-W32 256x192 at batch 32, hrnet_tf in float32 and
# mixed float16, each with and without XLA, beside PyTorch eager (float32 and AMP) on the same
# network; then the pose input pipeline's samples/s on the same machine's CPUs (is data the
# bottleneck? a step at batch 32 needs 32 samples per step time).
#
#   benchmarks/gpu.sh                 # on the GPU machine (about 10 minutes)
#   benchmarks/gpu.sh --dry-run       # anywhere: tiny width, 2 steps, CPU (what the tests run)
#
# Results: printed, and benchmarks/results/gpu-<time>.json (override with RESULTS=path.json).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
COLUMNS=trainer,trainer_fp16,trainer_xla,trainer_fp16_xla,torch_eager,torch_amp
if [[ "${1:-}" == "--dry-run" ]]; then
    CASE=tiny ROUNDS=1 STEPS=2 WARMUP=1 SAMPLES=32 BATCH=8 SIZE=64x48
    # float32 and mixed precision (XLA compiles the same step: tests/models covers it): kept short
    COLUMNS=trainer,trainer_fp16,torch_eager,torch_amp
    export CUDA_VISIBLE_DEVICES=""
elif [[ $# -gt 0 ]]; then
    echo "usage: benchmarks/gpu.sh [--dry-run]" >&2
    exit 2
else
    CASE=pose_w32_b32 ROUNDS=3 STEPS=10 WARMUP=3 SAMPLES=2048 BATCH=32 SIZE=256x192
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
fi
RESULTS=${RESULTS:-benchmarks/results/gpu-$(date +%Y%m%d-%H%M%S).json}
mkdir -p "$(dirname "$RESULTS")"
"$PYTHON" benchmarks/train_step.py --cases "$CASE" --columns "$COLUMNS" --rounds "$ROUNDS" \
    --steps "$STEPS" --warmup "$WARMUP" --json "$RESULTS"
"$PYTHON" benchmarks/pose_pipeline.py --samples "$SAMPLES" --batch-size "$BATCH" --size "$SIZE"
