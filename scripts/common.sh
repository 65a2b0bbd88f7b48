# Sourced by the scripts: where things live. Override with the environment.
LION_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The venv lives outside the clone so every clone (and CI) shares the ~6 GB torch wheel.
LION_VENV="${LION_VENV:-$HOME/.cache/lion-serve/venv}"
LION_PY="$LION_VENV/bin/python"
LION_BUILD_DIR="${LION_BUILD_DIR:-$LION_ROOT/build}"
LION_JOBS="${LION_JOBS:-$(nproc)}"
export LION_VENV LION_PY LION_ROOT LION_BUILD_DIR
step() { printf '\n==> %s\n' "$*"; }
