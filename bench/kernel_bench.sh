#!/usr/bin/env bash
# The attention-core benchmark of BENCHMARKS.md: one process per form, each
# with its own sgemm reference, so every ratio comes from one run and one
# form's allocations do not shape the heap another form then runs on.
#   bench/kernel_bench.sh [OUT_DIR] [RUNS]
# RUNS > 1 repeats each form's process and reports each case's best run
# (scripts/bench_report explains why).
set -euo pipefail
source "$(dirname "$0")/../scripts/common.sh"
OUT="${1:-/tmp/lion-kernel-bench}"
RUNS="${2:-1}"
mkdir -p "$OUT"
BENCH="$LION_BUILD_DIR/bench/lion_attention_bench"
for form in 1 2 3; do
  files=()
  for run in $(seq "$RUNS"); do
    "$BENCH" --benchmark_filter="BM_Sgemm|BM_LionAttention/form:$form/" \
      --benchmark_format=json --benchmark_out="$OUT/form$form.$run.json" --benchmark_out_format=json >/dev/null
    files+=("$OUT/form$form.$run.json")
  done
  "$LION_PY" "$LION_ROOT/scripts/bench_report" "${files[@]}"
  echo
done
