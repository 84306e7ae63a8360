#!/usr/bin/env bash
# The GPU check of issue 19 (see benchmarks/gpu_check.py): the op_db suite on "cuda" against the
# CPU, one epoch of the Fashion-MNIST CNN on the GPU, and the benchmark's workloads on nerve-CUDA
# and PyTorch-CUDA, writing JSON into OUT_DIR. Under 8 minutes on one GPU.
#
#   benchmarks/gpu_check.sh [OUT_DIR] [gpu_check.py options, e.g. --only ops,bench]
#   benchmarks/gpu_check.sh /tmp/dry --strict --quick   # dry run on the CPU (not GPU numbers)
#
# Needs CuPy (cupy-cuda13x), torch with CUDA, NumPy and pytest; exits 2 naming what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=${PYTHON:-python3}; fi
OUT_DIR=${1:-${OUT:-benchmarks/results/gpu}}
shift || true
mkdir -p "$OUT_DIR"
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"
status=0
timeout 470 "$PY" benchmarks/gpu_check.py --out "$OUT_DIR" "$@" || status=$?
if [ "$status" -eq 124 ]; then
    echo "gpu_check.sh: stopped at the 470 s limit; the sections done are in $OUT_DIR" >&2
fi
exit "$status"
