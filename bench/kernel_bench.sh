#!/usr/bin/env bash
# The attention-core benchmark of BENCHMARKS.md: one process per form, each
# with its own sgemm reference, so every ratio comes from one run and one
# form's allocations do not shape the heap another form then runs on.
#   bench/kernel_bench.sh [OUT_DIR]
set -euo pipefail
source "$(dirname "$0")/../scripts/common.sh"
OUT="${1:-/tmp/lion-kernel-bench}"
mkdir -p "$OUT"
BENCH="$LION_BUILD_DIR/bench/lion_attention_bench"
for form in 1 2 3; do
  "$BENCH" --benchmark_filter="BM_Sgemm|BM_LionAttention/form:$form/" \
    --benchmark_format=json --benchmark_out="$OUT/form$form.json" --benchmark_out_format=json >/dev/null
  "$LION_PY" "$LION_ROOT/scripts/bench_report" "$OUT/form$form.json"
  echo
done
