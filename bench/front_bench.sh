#!/usr/bin/env bash
# HTTP vs gRPC throughput on the same load (BENCHMARKS.md section 6): lion-serve
# on loopback with the default models; build/bench/front_bench sends the same
# embed request (lion-mlm-mini, 128 words) through lion.v1 gRPC and through the
# HTTP front's /embed, closed loop, at each concurrency, and a trivial HTTP
# route for the library's own ceiling. Bounded in time.
# Usage: bench/front_bench.sh [OUT_DIR]
# LION_BENCH_DURATION: seconds per run (default 3); LION_BENCH_ROUNDS: alternating rounds (3).
set -euo pipefail
source "$(dirname "$0")/../scripts/common.sh"
OUT="${1:-/tmp/lion-front-bench}"
mkdir -p "$OUT"
PORT=50881
HPORT=50882
"$LION_BUILD_DIR/server/lion-serve" --model_repository="$LION_ROOT/models" \
  --grpc_address=127.0.0.1:$PORT --metrics_address=127.0.0.1:50883 \
  --http_address=127.0.0.1:$HPORT --calibration_dir="$OUT/calibration" 2> "$OUT/server.log" &
SERVER_PID=$!
trap 'kill -TERM $SERVER_PID 2>/dev/null; wait $SERVER_PID || true' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$HPORT/v2/health/ready" > /dev/null && break
  sleep 1
done
uptime  # the machine's load: other work skews the numbers
"$LION_BUILD_DIR/bench/front_bench" 127.0.0.1:$PORT $HPORT lion-mlm-mini 128 \
  "${LION_BENCH_DURATION:-3}" "${LION_BENCH_ROUNDS:-3}" 1 8 64 128 | tee "$OUT/front_bench.txt"
