#!/usr/bin/env bash
# Generates the Python gRPC code for lion.v1 into OUT_DIR (default ./gen).
#   client/python/generate.sh [OUT_DIR]
# Needs grpcio-tools (in the project venv). lion_example.py does the same at
# run time into a temporary folder, so running this is optional.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/gen}"
mkdir -p "$out"
python="${PYTHON:-${LION_VENV:-$HOME/.cache/lion-serve/venv}/bin/python}"
"$python" -m grpc_tools.protoc -I "$here/../../proto" --python_out="$out" --grpc_python_out="$out" \
  "$here/../../proto/lion/v1/lion.proto"
echo "generated lion/v1/lion_pb2.py and lion_pb2_grpc.py in $out"
