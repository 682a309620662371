#!/usr/bin/env bash
# Run the benchmark suite and a small GPU suite on CUDA, then write a short table.
#
#   benchmarks/gpu.sh [OUT_DIR]     (default reports/gpu-bench)
#
# Sized for under 8 minutes on one H200, an estimate: it has not run on a GPU yet. It runs
# the benchmarks (the CPU-only worker benchmark skips itself), then benchmarks/gpu-suite.yaml
# twice, with attacks in fp32 and then in bf16. Training runs once because the second run
# reuses the stored training units.
# Writes OUT_DIR/benchmarks.json (pytest-benchmark), OUT_DIR/suite/ (store and leaderboard)
# and OUT_DIR/gpu-table.md, which it also prints.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT_DIR=${1:-reports/gpu-bench}
PYTHON=${PYTHON:-.venv/bin/python}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
export PYTHONPATH=${PYTHONPATH:-$PWD}

if ! "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu.sh: torch finds no CUDA GPU. Install a CUDA build of torch on a machine with a GPU." >&2
    exit 2
fi
mkdir -p "$OUT_DIR"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$OUT_DIR/gpu.txt" || true

# 1. The benchmarks on CUDA (the reference paths run on CUDA too).
# A failed benchmark assertion is reported and the suite still runs.
if ! RSBENCH_BENCH_DEVICE=cuda "$PYTHON" -m pytest benchmarks -s -q --benchmark-enable -p no:cacheprovider \
    --benchmark-json="$OUT_DIR/benchmarks.json" > "$OUT_DIR/benchmarks.log" 2>&1; then
    echo "gpu.sh: a benchmark failed; see $OUT_DIR/benchmarks.log" >&2
fi
grep -E "^(DeepWordBug|model forward|bf16|evaluation|training)" "$OUT_DIR/benchmarks.log" || true

# 2. The small suite, attacks in fp32, then in bf16 on the same checkpoints.
"$PYTHON" -m harness run benchmarks/gpu-suite.yaml --out "$OUT_DIR/suite" --device cuda --no-progress
sed 's/^  precision: fp32$/  precision: bf16/' benchmarks/gpu-suite.yaml > "$OUT_DIR/gpu-suite-bf16.yaml"
"$PYTHON" -m harness run "$OUT_DIR/gpu-suite-bf16.yaml" --out "$OUT_DIR/suite" --device cuda --no-progress

# 3. The table.
"$PYTHON" benchmarks/gpu_table.py "$OUT_DIR" | tee "$OUT_DIR/gpu-table.md"
