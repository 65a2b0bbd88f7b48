"""Shared pytest setup: makes python/lionserve importable and names the repo root."""

import pathlib
import sys

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(REPO_ROOT / "python") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "python"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402


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
