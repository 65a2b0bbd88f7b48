"""The LION attention core in PyTorch (docs/lion-math.md sections 2-4 and 7).

Shapes: q, k [B, H, L, dk] (feature map already applied), v [B, H, L, dv],
g [B, H, L] per-token log-decays (g = log lambda <= 0, key convention of
docs/lion-math.md section 2.1).
Optional `lengths` [B] (int): sequence b is right-padded and computed at its
true length; its keys and values at or past lengths[b] are treated as zero and
its output rows there are zero.

Options follow kernels/include/lion/kernels/attention_options.h:
  A = scale * (Q K^T) o M,  num = A V,  den = A 1
  normalize=True  -> y = num / (den + eps)   (vision; scale = c = dh^-1/2, or /2 for two orders)
  normalize=False -> y = num                 (MLM)
Every form computes the same y up to rounding; the float64 oracle (oracle.py)
is the reference the tests compare against.
"""

from __future__ import annotations

from typing import Sequence

import torch

FORMS = ("full", "chunk", "rnn")


def _prepare(k, v, g, lengths):
    """Zero keys, values and log-decays at padded positions."""
    if lengths is None:
        return k, v, g
    L = k.shape[2]
    lengths = torch.as_tensor(lengths, device=k.device).reshape(-1)
    if lengths.shape[0] != k.shape[0]:
        raise ValueError(f"lengths has {lengths.shape[0]} entries for batch {k.shape[0]}")
    valid = torch.arange(L, device=k.device)[None, :] < lengths[:, None]  # [B, L]
    vk = valid[:, None, :, None].to(k.dtype)
    return k * vk, v * vk, g * valid[:, None, :].to(g.dtype)


def _full(q, k, v, g, scale):
    """Full form (docs/lion-math.md section 2.2). The mask exponents are formed in float64 from
    inclusive/exclusive prefix sums, so long fp32 inputs lose no precision."""
    L = q.shape[2]
    g64 = g.to(torch.float64)
    inc = torch.cumsum(g64, dim=-1)           # sum_{u<=t} g_u
    exc = inc - g64                           # sum_{u<t} g_u
    i = torch.arange(L, device=q.device)[:, None]
    j = torch.arange(L, device=q.device)[None, :]
    lower = exc[..., :, None] - exc[..., None, :]   # G_i - G_j            (i > j)
    upper = inc[..., None, :] - inc[..., :, None]   # G_{j+1} - G_{i+1}    (i < j)
    logm = torch.where(i > j, lower, torch.where(i < j, upper, torch.zeros_like(lower)))
    mask = torch.exp(torch.clamp(logm, max=0.0)).to(q.dtype)
    a = scale * (q @ k.transpose(-1, -2)) * mask
    return a @ v, a.sum(dim=-1)


def _chunk(q, k, v, g, scale, chunk_size):
    """State-passing chunkwise form (docs/lion-math.md section 4.1); every exponent is <= 0."""
    B, H, L, dk = q.shape
    dv = v.shape[-1]
    bounds = [(s, min(s + chunk_size, L)) for s in range(0, L, chunk_size)]
    num = torch.zeros(B, H, L, dv, dtype=q.dtype, device=q.device)
    den = torch.zeros(B, H, L, dtype=q.dtype, device=q.device)
    prefixes = []
    for s, e in bounds:
        n = e - s
        p = torch.cat([torch.zeros_like(g[..., :1]), torch.cumsum(g[..., s:e], dim=-1)], dim=-1)
        prefixes.append(p)                                       # P_0 .. P_n
        a = torch.arange(n, device=q.device)[:, None]
        b = torch.arange(n, device=q.device)[None, :]
        lower = p[..., :n, None] - p[..., None, :n]              # P_a - P_b
        upper = p[..., None, 1:] - p[..., 1:, None]              # P_{b+1} - P_{a+1}
        logm = torch.where(a > b, lower, torch.where(a < b, upper, torch.zeros_like(lower)))
        aloc = scale * (q[..., s:e, :] @ k[..., s:e, :].transpose(-1, -2)) * torch.exp(
            torch.clamp(logm, max=0.0))
        num[..., s:e, :] += aloc @ v[..., s:e, :]
        den[..., s:e] += aloc.sum(dim=-1)
    # forward carries, left to right
    tf = torch.zeros(B, H, dk, dv, dtype=q.dtype, device=q.device)
    zf = torch.zeros(B, H, dk, dtype=q.dtype, device=q.device)
    for (s, e), p in zip(bounds, prefixes):
        n = e - s
        w = scale * torch.exp(p[..., :n])                        # exp(P_a)
        qc = q[..., s:e, :]
        num[..., s:e, :] += w[..., None] * (qc @ tf)
        den[..., s:e] += w * (qc @ zf[..., None])[..., 0]
        wk = torch.exp(p[..., n:n + 1] - p[..., :n])[..., None] * k[..., s:e, :]
        tot = torch.exp(p[..., n])[..., None]
        tf = tot[..., None] * tf + wk.transpose(-1, -2) @ v[..., s:e, :]
        zf = tot * zf + wk.sum(dim=-2)
    # backward carries, right to left
    tb = torch.zeros_like(tf)
    zb = torch.zeros_like(zf)
    for (s, e), p in reversed(list(zip(bounds, prefixes))):
        n = e - s
        w = scale * torch.exp(p[..., n:n + 1] - p[..., 1:])      # exp(P_n - P_{a+1})
        qc = q[..., s:e, :]
        num[..., s:e, :] += w[..., None] * (qc @ tb)
        den[..., s:e] += w * (qc @ zb[..., None])[..., 0]
        wk = torch.exp(p[..., 1:])[..., None] * k[..., s:e, :]   # exp(P_{b+1})
        tot = torch.exp(p[..., n])[..., None]
        tb = tot[..., None] * tb + wk.transpose(-1, -2) @ v[..., s:e, :]
        zb = tot * zb + wk.sum(dim=-2)
    return num, den


def _rnn(q, k, v, g, scale):
    """Bidirectional RNN form (docs/lion-math.md section 3): two scans, half the
    diagonal in each."""
    B, H, L, dk = q.shape
    dv = v.shape[-1]
    num = torch.zeros(B, H, L, dv, dtype=q.dtype, device=q.device)
    den = torch.zeros(B, H, L, dtype=q.dtype, device=q.device)
    lam = torch.exp(g)
    qk = (q * k).sum(dim=-1)                                     # [B, H, L]
    for direction in (1, -1):
        s = torch.zeros(B, H, dk, dv, dtype=q.dtype, device=q.device)
        z = torch.zeros(B, H, dk, dtype=q.dtype, device=q.device)
        steps = range(L) if direction == 1 else range(L - 1, -1, -1)
        prev = None
        for i in steps:
            if prev is not None:                                 # decay of the token just left
                s = lam[..., prev, None, None] * s
                z = lam[..., prev, None] * z
            ki, vi, qi = k[..., i, :], v[..., i, :], q[..., i, :]
            s = s + ki[..., :, None] * vi[..., None, :]
            z = z + ki
            num[..., i, :] += (qi[..., None, :] @ s)[..., 0, :] - 0.5 * qk[..., i, None] * vi
            den[..., i] += (qi * z).sum(dim=-1) - 0.5 * qk[..., i]
            prev = i
    return scale * num, scale * den


def lion_num_den(q, k, v, g, *, form="full", chunk_size=64, scale=1.0, lengths=None):
    """Scaled (num [B,H,L,dv], den [B,H,L]) of one form; padded rows are zero."""
    if form not in FORMS:
        raise ValueError(f"unknown form {form!r}; expected one of {FORMS}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if q.dim() != 4 or k.shape != q.shape or v.shape[:3] != q.shape[:3] or g.shape != q.shape[:3]:
        raise ValueError(f"bad shapes q {tuple(q.shape)} k {tuple(k.shape)} v {tuple(v.shape)} "
                         f"g {tuple(g.shape)}")
    k, v, g = _prepare(k, v, g, lengths)
    if form == "full":
        num, den = _full(q, k, v, g, scale)
    elif form == "chunk":
        num, den = _chunk(q, k, v, g, scale, chunk_size)
    else:
        num, den = _rnn(q, k, v, g, scale)
    if lengths is not None:
        valid = (torch.arange(q.shape[2], device=q.device)[None, :]
                 < torch.as_tensor(lengths, device=q.device).reshape(-1)[:, None])
        num = num * valid[:, None, :, None].to(num.dtype)
        den = den * valid[:, None, :].to(den.dtype)
    return num, den


def finalize(num, den, normalize, eps):
    """y = num / (den + eps) when normalising, else num."""
    if not normalize:
        return num
    return num / (den + eps)[..., None]


def lion_attention(q, k, v, g, *, form="full", chunk_size=64, scale=1.0, normalize=False,
                   eps=1e-6, lengths=None):
    """LION attention output y [B, H, L, dv] (see the module docstring)."""
    num, den = lion_num_den(q, k, v, g, form=form, chunk_size=chunk_size, scale=scale,
                            lengths=lengths)
    return finalize(num, den, normalize, eps)  # padded rows: num = den = 0, so y = 0


def lion_attention_multi_order(q, k, v, gs: Sequence[torch.Tensor],
                               orders: Sequence[torch.Tensor], *, form="full", chunk_size=64,
                               scale=1.0, normalize=True, eps=1e-6):
    """Two-order ("natural") attention (docs/lion-math.md section 7).

    orders[m] [L]: token index at position p of order m; gs[m] [B, H, L]: log-decays
    indexed by position in order m. Numerators and denominators of the orders are
    summed in token order before the division (scale = dh^-1/2 / 2 for two orders)."""
    num = torch.zeros(*q.shape[:3], v.shape[-1], dtype=q.dtype, device=q.device)
    den = torch.zeros(q.shape[:3], dtype=q.dtype, device=q.device)
    for perm, g in zip(orders, gs):
        perm = torch.as_tensor(perm, device=q.device, dtype=torch.long)
        n_p, d_p = lion_num_den(q[..., perm, :], k[..., perm, :], v[..., perm, :], g,
                                form=form, chunk_size=chunk_size, scale=scale)
        num[..., perm, :] += n_p
        den[..., perm] += d_p
    return finalize(num, den, normalize, eps)


def snake_orders(rows: int, cols: int, with_cls: bool = True):
    """Row snake and column snake over a rows x cols patch grid (raster patch ids),
    with the CLS token first in both when with_cls (docs/lion-math.md section 7).
    Returns two LongTensors."""
    row_snake = []
    for r in range(rows):
        cs = range(cols) if r % 2 == 0 else reversed(range(cols))
        row_snake.extend(r * cols + c for c in cs)
    col_snake = []
    for c in range(cols):
        rs = range(rows) if c % 2 == 0 else reversed(range(rows))
        col_snake.extend(r * cols + c for r in rs)
    off = 1 if with_cls else 0
    head = [0] if with_cls else []
    return (torch.tensor(head + [p + off for p in row_snake], dtype=torch.long),
            torch.tensor(head + [p + off for p in col_snake], dtype=torch.long))
