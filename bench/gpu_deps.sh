#!/usr/bin/env bash
# Run on a machine with Debian's package archive (a developer machine), before
# bench/gpu_check.sh goes to a GPU machine that cannot download anything:
# fetches Debian's packages of the GPU build's libraries (abseil, GoogleTest,
# nlohmann_json) into .gpudeps/ (git-ignored) for the device tool to carry.
#   bench/gpu_deps.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .gpudeps
cd .gpudeps
apt-get download libabsl-dev libabsl20220623 libgtest-dev libgmock-dev nlohmann-json3-dev
ls -l
