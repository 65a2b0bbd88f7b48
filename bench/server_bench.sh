#!/usr/bin/env bash
# Server benchmarks (BENCHMARKS.md): lion-serve on loopback with the default
# models, loaded by lion-client bench. Every run is bounded in time and count.
#   1. embed, ~128-word inputs, concurrency 1/8/64: dynamic batching vs --max_batch_size=1
#   2. overhead = total - compute (from Usage) at concurrency 8
#   3. AUTO vs each forced form at L in {64, 256, 1024, 4096, 16384}
# Usage: bench/server_bench.sh [OUT_DIR]   (JSON per run + a summary on stdout)
# LION_BENCH_SERVER_FLAGS: extra lion-serve flags for the batching server (e.g.
# --max_queue_delay_us=2000 to compare with the default of 0).
set -euo pipefail
source "$(dirname "$0")/../scripts/common.sh"
OUT="${1:-/tmp/lion-server-bench}"
mkdir -p "$OUT"
SERVE="$LION_BUILD_DIR/server/lion-serve"
CLIENT="$LION_BUILD_DIR/client/lion-client"
PORT=50871
MPORT=50872
DURATION="${LION_BENCH_DURATION:-8}"

start_server() {  # extra flags...
  "$SERVE" --model_repository="$LION_ROOT/models" --grpc_address=127.0.0.1:$PORT \
    --metrics_address=127.0.0.1:$MPORT --http_address= --calibration_dir="$OUT/calibration" \
    --max_input_tokens=20000 "$@" 2> "$OUT/server.log" &
  SERVER_PID=$!
  for _ in $(seq 1 120); do
    "$CLIENT" health --address=127.0.0.1:$PORT >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "lion-serve did not become SERVING" >&2; cat "$OUT/server.log" >&2; exit 1
}
stop_server() { kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; }
bench() {  # name, flags...
  local name=$1; shift
  "$CLIENT" bench --address=127.0.0.1:$PORT --model=lion-mlm-mini --method=embed --json \
    --progress=false --warmup_s=1 "$@" > "$OUT/$name.json"
}

# shellcheck disable=SC2086  # the flags are meant to split
start_server ${LION_BENCH_SERVER_FLAGS:-}
bench batching --concurrency=1,8,64 --length=fixed:128 --duration_s="$DURATION" --requests=0
for L in 64 256 1024 4096 16384; do
  n=$(( L >= 4096 ? 6 : 40 ))
  for form in auto full chunk rnn; do
    bench "form_${L}_${form}" --concurrency=1 --length=fixed:$L --form=$form --requests=$n \
      --duration_s=120 --warmup_s=1
  done
done
stop_server

start_server --max_batch_size=1
bench no_batching --concurrency=1,8,64 --length=fixed:128 --duration_s="$DURATION" --requests=0
stop_server

"$LION_PY" "$LION_ROOT/scripts/server_bench_report" "$OUT"
