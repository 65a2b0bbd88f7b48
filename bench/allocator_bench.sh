#!/usr/bin/env bash
# The allocator comparison of BENCHMARKS.md section 5: the same benchmarks on
# glibc malloc, tcmalloc, jemalloc and mimalloc, interleaved ROUNDS times (the
# VM's speed drifts; interleaving spreads a slow phase over every allocator),
# best time per case and allocator, and the ratio to glibc.
# Builds the benches with glibc (-DLION_TCMALLOC=OFF) in build-glibc, then
# swaps malloc with LD_PRELOAD. Needs libtcmalloc-minimal4, libjemalloc2 and
# libmimalloc2.0 (apt); bounded: ROUNDS x 4 runs of two small filters.
#   bench/allocator_bench.sh [ROUNDS]
set -euo pipefail
source "$(dirname "$0")/../scripts/common.sh"
ROUNDS="${1:-3}"
BUILD="$LION_ROOT/build-glibc"
LIB=/usr/lib/x86_64-linux-gnu
cmake -S "$LION_ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLION_PYTHON="$LION_PY" \
  -DLION_TCMALLOC=OFF -DLION_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j "$LION_JOBS" --target lion_attention_bench lion_model_bench >/dev/null
declare -A PRELOAD=([glibc]="" [tcmalloc]="$LIB/libtcmalloc_minimal.so.4"
                    [jemalloc]="$LIB/libjemalloc.so.2" [mimalloc]="$LIB/libmimalloc.so.2")
for so in "${PRELOAD[@]}"; do
  [[ -z "$so" || -f "$so" ]] || { echo "missing $so (apt install libtcmalloc-minimal4 libjemalloc2 libmimalloc2.0)" >&2; exit 1; }
done
for _ in $(seq "$ROUNDS"); do
  for alloc in glibc tcmalloc jemalloc mimalloc; do
    LD_PRELOAD="${PRELOAD[$alloc]}" "$BUILD/bench/lion_attention_bench" \
      --benchmark_filter='BM_LionAttention/form:2/variant:1/B:(1|8)/L:(2048|32768)/' 2>/dev/null |
      awk -v a="$alloc" '/^BM/ {print a, $1, $2}'
    LD_PRELOAD="${PRELOAD[$alloc]}" "$BUILD/bench/lion_model_bench" \
      --benchmark_filter='batch:(1|64)/' 2>/dev/null | awk -v a="$alloc" '/^BM/ {print a, $1, $2}'
  done
done | "$LION_PY" -c '
import collections, sys
best = collections.defaultdict(dict)
for line in sys.stdin:
    alloc, name, ms = line.split()
    name = name.split("/min_time")[0]
    best[name][alloc] = min(float(ms), best[name].get(alloc, float("inf")))
allocs = ["glibc", "tcmalloc", "jemalloc", "mimalloc"]
print("| case | " + " | ".join(f"{a} ms (x glibc)" for a in allocs) + " |")
print("|---|" + "---|" * len(allocs))
for name, t in best.items():
    g = t["glibc"]
    print(f"| {name} | " + " | ".join(f"{t[a]:.2f} ({t[a] / g:.2f})" for a in allocs) + " |")
'
