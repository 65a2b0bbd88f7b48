#!/usr/bin/env bash
# The GPU checks, as one script for a machine with an NVIDIA GPU (an H200 in
# this project), run from the repository root; under 8 minutes there.
#   1. builds the GPU build (bench/gpu/CMakeLists.txt: kernels, model,
#      lion-model-run, the gpu-labelled kernel tests, the GPU benchmark) for
#      the machine's own architecture;
#   2. runs every gpu-labelled test (each CUDA form against the scalar
#      reference; CUDA tensors against the CPU) and the GPU model tests
#      (tests/python/test_model_gpu.py: the model on CUDA equals the model on
#      the CPU), printing each failure;
#   3. when the server's libraries are on the machine, builds lion-serve and
#      runs tests/python/test_server_gpu.py (a served request on --device=cuda
#      equals the CPU server's);
#   4. runs the GPU benchmark (bench/lion_gpu_benchmark.cc) and ends with its
#      table.
# Results go to $OUT (device.txt, *.log, gpu_bench.jsonl). The GPU machine
# cannot download: if it lacks abseil, GoogleTest or nlohmann_json, run
# bench/gpu_deps.sh first on a machine that can, and carry .gpudeps along.
# Environment: LION_GPU_PY (python with a CUDA torch; default python3),
# LION_GPU_BUILD (build folder; default build-gpu), OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/lion-gpu-check}"
PY="${LION_GPU_PY:-$(command -v python3)}"
BUILD="${LION_GPU_BUILD:-build-gpu}"
mkdir -p "$OUT"
status=0
step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*"; status=1; }

step "device"
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  date -u +%Y-%m-%dT%H:%M:%SZ
  "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
  nvcc --version | tail -1; } 2>&1 | tee "$OUT/device.txt"
arch="$("$PY" -c 'import torch; m, n = torch.cuda.get_device_capability(); print(f"{m}{n}")' 2>/dev/null || echo 90)"

step "dependencies"
prefix=()
if [ -d .gpudeps ] && ls .gpudeps/*.deb > /dev/null 2>&1; then
  deps=/tmp/lion-gpudeps
  rm -rf "$deps" && mkdir -p "$deps"
  for f in .gpudeps/*.deb; do dpkg -x "$f" "$deps"; done
  prefix=(-DCMAKE_PREFIX_PATH="$deps/usr;$deps/usr/lib/x86_64-linux-gnu/cmake")
  export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "unpacked $(ls .gpudeps/*.deb | wc -l) packages from .gpudeps into $deps"
else
  echo "no .gpudeps: using the machine's own abseil, GoogleTest and nlohmann_json"
fi

step "build (sm_$arch)"
t0=$(date +%s)
if ! cmake -S bench/gpu -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLION_PYTHON="$PY" \
     -DCMAKE_CUDA_ARCHITECTURES="$arch" "${prefix[@]}" > "$OUT/configure.log" 2>&1; then
  tail -30 "$OUT/configure.log"; fail "configure (see $OUT/configure.log)"; exit 1
fi
if ! cmake --build "$BUILD" -j "$(nproc)" > "$OUT/build.log" 2>&1; then
  grep -E "error|Error" "$OUT/build.log" | head -40; fail "build (see $OUT/build.log)"; exit 1
fi
echo "built in $(( $(date +%s) - t0 )) s"

step "gpu tests"
ctest --test-dir "$BUILD" -L gpu -j 8 --timeout 600 --output-on-failure > "$OUT/gpu_tests.log" 2>&1 \
  || fail "gpu-labelled tests"
grep -E "tests passed|Failed|\*\*\*|FAILED|Skipped|SKIPPED" "$OUT/gpu_tests.log" | head -60

step "model on CUDA vs CPU"
LION_BUILD_DIR="$BUILD" PYTHONUNBUFFERED=1 timeout 300 "$PY" -m pytest -q -rs tests/python/test_model_gpu.py \
  > "$OUT/model_tests.log" 2>&1 || fail "tests/python/test_model_gpu.py"
grep -E "passed|failed|FAILED|Error|SKIPPED" "$OUT/model_tests.log" | head -30

step "server on CUDA vs CPU"
if pkg-config --exists grpc++ 2> /dev/null; then
  if cmake -S . -B build-server -G Ninja -DCMAKE_BUILD_TYPE=Release -DLION_PYTHON="$PY" \
       -DCMAKE_CUDA_ARCHITECTURES="$arch" -DLION_BUILD_BENCH=OFF > "$OUT/server_build.log" 2>&1 &&
     cmake --build build-server -j "$(nproc)" --target lion-serve >> "$OUT/server_build.log" 2>&1; then
    LION_BUILD_DIR=build-server timeout 300 "$PY" -m pytest -q -rs tests/python/test_server_gpu.py \
      > "$OUT/server_tests.log" 2>&1 || fail "tests/python/test_server_gpu.py"
    tail -5 "$OUT/server_tests.log"
  else
    fail "server build (see $OUT/server_build.log)"
  fi
else
  echo "NOT RUN: the server test needs gRPC and the server's other Debian libraries, absent here"
fi

step "benchmark"
timeout 300 "$BUILD/bench/lion_gpu_benchmark" "$OUT/gpu_bench.jsonl" > "$OUT/gpu_bench.txt" 2>&1 \
  || fail "lion_gpu_benchmark (see $OUT/gpu_bench.txt)"
sed -n '/^ceilings/,$p' "$OUT/gpu_bench.txt"
[ "$status" -eq 0 ] && echo "gpu_check: all checks passed" || echo "gpu_check: some checks FAILED (above)"
exit "$status"
