#!/usr/bin/env bash
# The GPU checks, as one short script for a machine with an NVIDIA GPU (run
# from the repository root): configure with the CUDA kernels required, build
# the GPU tests, run everything labelled `gpu` (they compare the CUDA kernels
# with the scalar reference) and print the device. Results go to $OUT when set.
set -euo pipefail
OUT="${OUT:-/tmp/lion-gpu-check}"
mkdir -p "$OUT"
source "$(dirname "$0")/../scripts/common.sh"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/device.txt" || true
"$LION_ROOT/scripts/setup" > "$OUT/setup.log" 2>&1
cmake -S "$LION_ROOT" -B "$LION_ROOT/build-cuda" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DLION_CUDA=ON -DLION_PYTHON="$LION_PY" > "$OUT/configure.log"
cmake --build "$LION_ROOT/build-cuda" -j "$(nproc)" --target rnn_scan_cuda_test 2>&1 | tail -3
ctest --test-dir "$LION_ROOT/build-cuda" -L gpu --output-on-failure 2>&1 | tee "$OUT/gpu_tests.log"
