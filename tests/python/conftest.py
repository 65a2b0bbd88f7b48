"""Shared pytest setup: makes python/lionserve importable, names the repo root
and the build directory, and holds require_tool, the one place where a test
that lacks a tool skips or fails.

Every path here derives from this file's location (or LION_BUILD_DIR), never
from one machine's checkout.
"""

import os
import pathlib
import shutil
import subprocess
import sys

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD_DIR = pathlib.Path(os.environ.get("LION_BUILD_DIR", REPO_ROOT / "build")).resolve()
if str(REPO_ROOT / "python") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "python"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402


# ---- tools a test needs ------------------------------------------------------

def tools_required() -> bool:
    """True under LION_REQUIRE_TOOLS=1 (scripts/test sets it): there every tool
    that scripts/setup installs, every binary the build makes and the default
    models must be present, so a missing one is a failure, not a skip."""
    return os.environ.get("LION_REQUIRE_TOOLS") == "1"


def require_tool(name: str, present, why: str) -> None:
    """Skips the calling test (call it in a test or a fixture; for a whole
    module use tool_mark) if `present` is false, or fails it under
    LION_REQUIRE_TOOLS=1. `name` says what is missing, `why` how to get it.
    Only GPU tests skip any other way: a machine without a GPU is no missing
    tool (test_require_tool.py checks that no other skip is left)."""
    if present:
        return
    message = f"{name} is missing: {why}"
    if tools_required():
        pytest.fail(f"{message} (LION_REQUIRE_TOOLS=1: scripts/setup and the build provide it)",
                    pytrace=False)
    pytest.skip(message, allow_module_level=True)


def require_command(name: str, why: str = "scripts/setup installs it") -> str:
    """The path of a command (PATH first, then the venv's bin, where pip puts
    tools), or require_tool's skip/failure."""
    found = shutil.which(name) or shutil.which(name, path=str(pathlib.Path(sys.executable).parent))
    require_tool(f"command {name}", found, why)
    return found


def require_built(path, what: str) -> pathlib.Path:
    """A binary of the build (under BUILD_DIR, or LION_BUILD_DIR)."""
    path = pathlib.Path(path)
    require_tool(f"{what} ({path})", path.exists(),
                 "build it (cmake --build build), or set LION_BUILD_DIR to the build directory")
    return path


def require_module(name: str, why: str = "pip install -r requirements.txt (scripts/setup)"):
    """Imports a Python module, or require_tool's skip/failure."""
    try:
        return __import__(name)
    except ImportError:
        pass
    require_tool(f"Python module {name}", False, why)


def tool_mark(name: str, present, why: str):
    """A mark for a whole module or test (`pytestmark = tool_mark(...)`): the
    require_tool check when each test is set up, before its fixtures (after
    skipif marks, so a GPU skip stays a skip). Unlike a call at import, whose
    failure would stop the whole run at collection, a failure there is an
    error of each test and the rest of the run goes on."""
    return pytest.mark.lion_requires_tool(name=name, present=bool(present), why=why)


def gpu_count() -> int:
    """CUDA devices, as nvidia-smi lists them (0 without a driver). GPU tests
    skip with a reason where this is 0; they are the only tests that may."""
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(1 for line in out.stdout.splitlines() if line.startswith("GPU "))


def pytest_configure(config):
    config.addinivalue_line("markers", "lion_requires_tool(name, present, why): see tool_mark")


def pytest_runtest_setup(item):
    for mark in item.iter_markers("lion_requires_tool"):
        require_tool(mark.kwargs["name"], mark.kwargs["present"], mark.kwargs["why"])


def _natural_vit_attention(x, p, variant, heads, side):
    """Two-order ("natural") vision attention for one sequence x [N, dim] from the
    oracle's primitives (docs/lion-math.md section 7): p holds Wqkv, bqkv, Wproj,
    bproj and a/a2 (LION-D) or Wa/ba, Wa2/ba2 (LION-S)."""
    from lionserve import oracle as O

    N, dim = x.shape
    dh = dim // heads
    qkv = x @ p["Wqkv"].T + p["bqkv"]
    q, k, v = (qkv[:, i * dim:(i + 1) * dim].reshape(N, heads, dh) for i in range(3))
    q, k = O.phi_shifted_silu(q), O.phi_shifted_silu(k)
    orders = O.snake_orders(side)
    out = np.zeros((N, heads, dh))
    for h in range(heads):
        gs = []
        for suffix, order in zip(("", "2"), orders):
            if variant == "d":
                g = np.full(N, np.log(O.fixed_decay(p["a" + suffix][h])))
            else:                                 # LION-S only: CLS decay forced to 1
                g = O.selective_log_decay(x @ p["Wa" + suffix][h] + p["ba" + suffix][h])[order]
                g[0] = 0.0
            gs.append(g)
        num, den = O.lion_multi_order(O.lion_full, q[:, h], k[:, h], v[:, h], orders, gs,
                                      scale=dh ** -0.5 / 2)
        out[:, h] = num / (den + 1e-6)[:, None]
    return out.reshape(N, dim) @ p["Wproj"].T + p["bproj"]


@pytest.fixture
def natural_oracle():
    """The float64 two-order vision attention (see _natural_vit_attention)."""
    return _natural_vit_attention
