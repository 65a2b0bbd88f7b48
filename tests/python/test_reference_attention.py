"""The torch attention core (lionserve.attention) against the float64 oracle."""

import numpy as np
import pytest
import torch

from lionserve import attention as A
from lionserve import oracle as O

FORMS = [("full", 64), ("rnn", 1), ("chunk", 1), ("chunk", 3), ("chunk", 8), ("chunk", 64)]


def draw(seed, variant, B=2, H=3, L=23, dk=8, dv=6, positive=True):
    rng = np.random.default_rng(seed)
    if positive:
        phi = O.phi_elu_plus_one if variant == "lit" else O.phi_shifted_silu
        q, k = phi(rng.standard_normal((B, H, L, dk))), phi(rng.standard_normal((B, H, L, dk)))
    else:
        q, k = rng.standard_normal((B, H, L, dk)), rng.standard_normal((B, H, L, dk))
    v = rng.standard_normal((B, H, L, dv))
    if variant == "lit":
        g = np.zeros((B, H, L))
    elif variant == "d":
        g = np.broadcast_to(np.log(O.sigmoid(rng.standard_normal((1, H, 1)) * 2)), (B, H, L)).copy()
    else:
        g = O.selective_log_decay(rng.standard_normal((B, H, L)) * 2.5 - 1.0)
    return q, k, v, g


def oracle(q, k, v, g, scale, normalize, eps):
    out = np.zeros(q.shape[:3] + (v.shape[-1],))
    for b in range(q.shape[0]):
        for h in range(q.shape[1]):
            num, den = O.lion_full(q[b, h], k[b, h], v[b, h], g[b, h], scale=scale)
            out[b, h] = O.finalize(num, den, normalize, eps)
    return out


def t(x, dtype=torch.float64):
    return torch.tensor(np.ascontiguousarray(x), dtype=dtype)


@pytest.mark.parametrize("variant", ["lit", "d", "s"])
@pytest.mark.parametrize("form,chunk", FORMS)
@pytest.mark.parametrize("normalize", [True, False])
def test_forms_match_oracle_float64(variant, form, chunk, normalize):
    q, k, v, g = draw(1, variant, positive=normalize)
    scale = 8 ** -0.5
    ref = oracle(q, k, v, g, scale, normalize, 1e-6)
    got = A.lion_attention(t(q), t(k), t(v), t(g), form=form, chunk_size=chunk, scale=scale,
                           normalize=normalize, eps=1e-6)
    assert O.rel_err(got.numpy(), ref) < 1e-10


@pytest.mark.parametrize("variant", ["lit", "d", "s"])
@pytest.mark.parametrize("form,chunk", FORMS)
def test_forms_match_oracle_float32(variant, form, chunk):
    q, k, v, g = draw(2, variant, L=41)
    ref = oracle(q, k, v, g, 0.25, True, 1e-6)
    f = torch.float32
    got = A.lion_attention(t(q, f), t(k, f), t(v, f), t(g, f), form=form, chunk_size=chunk,
                           scale=0.25, normalize=True, eps=1e-6)
    assert got.dtype == f
    assert O.rel_err(got.double().numpy(), ref) < 1e-5


@pytest.mark.parametrize("L", [1, 2, 5])
@pytest.mark.parametrize("form,chunk", FORMS)
def test_short_sequences(L, form, chunk):
    q, k, v, g = draw(3, "s", L=L)
    ref = oracle(q, k, v, g, 1.0, True, 0.0)
    got = A.lion_attention(t(q), t(k), t(v), t(g), form=form, chunk_size=chunk, normalize=True,
                           eps=0.0)
    assert O.rel_err(got.numpy(), ref) < 1e-10
    if L == 1:
        np.testing.assert_allclose(got.numpy(), v, rtol=1e-12)


def test_long_selective_float32_chunk_stays_accurate():
    q, k, v, _ = draw(4, "s", B=1, H=1, L=2048)
    g = O.selective_log_decay(np.random.default_rng(5).standard_normal((1, 1, 2048)) * 2.0)
    ref = oracle(q, k, v, g, 0.3, True, 1e-6)
    f = torch.float32
    for form in ("full", "chunk"):
        got = A.lion_attention(t(q, f), t(k, f), t(v, f), t(g, f), form=form, chunk_size=64,
                               scale=0.3, normalize=True)
        assert O.rel_err(got.double().numpy(), ref) < 1e-5, form


@pytest.mark.parametrize("variant", ["lit", "d", "s"])
@pytest.mark.parametrize("form,chunk", FORMS)
@pytest.mark.parametrize("normalize", [True, False])
def test_right_padding_equals_each_sequence_alone(variant, form, chunk, normalize):
    B, L = 3, 19
    q, k, v, g = draw(6, variant, B=B, L=L, positive=normalize)
    lengths = [19, 11, 1]
    got = A.lion_attention(t(q), t(k), t(v), t(g), form=form, chunk_size=chunk, scale=0.5,
                           normalize=normalize, lengths=torch.tensor(lengths))
    for b, n in enumerate(lengths):
        alone = oracle(q[b:b + 1, :, :n], k[b:b + 1, :, :n], v[b:b + 1, :, :n], g[b:b + 1, :, :n],
                       0.5, normalize, 1e-6)
        assert O.rel_err(got[b:b + 1, :, :n].numpy(), alone) < 1e-10
        assert torch.all(got[b, :, n:] == 0)


def test_snake_orders_match_oracle_and_cover_grid():
    for side in (1, 2, 4, 5):
        ours = A.snake_orders(side, side)
        ref = O.snake_orders(side)
        for a, b in zip(ours, ref):
            np.testing.assert_array_equal(a.numpy(), b)
    r, c = A.snake_orders(2, 3)
    assert r.tolist() == [0, 1, 2, 3, 6, 5, 4]
    assert c.tolist() == [0, 1, 4, 5, 2, 3, 6]


@pytest.mark.parametrize("form,chunk", FORMS)
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_two_order_matches_oracle(form, chunk, dtype, tol):
    side, L = 4, 17
    q, k, v, _ = draw(7, "s", B=2, H=2, L=L)
    rng = np.random.default_rng(8)
    gs = [O.selective_log_decay(rng.standard_normal((2, 2, L))) for _ in range(2)]
    for g in gs:
        g[..., 0] = 0.0
    orders = O.snake_orders(side)
    ref = np.zeros(v.shape)
    for b in range(2):
        for h in range(2):
            num, den = O.lion_multi_order(O.lion_full, q[b, h], k[b, h], v[b, h], orders,
                                          [gs[0][b, h], gs[1][b, h]], scale=0.125)
            ref[b, h] = O.finalize(num, den, True, 1e-6)
    got = A.lion_attention_multi_order(
        t(q, dtype), t(k, dtype), t(v, dtype), [t(g, dtype) for g in gs],
        [torch.as_tensor(o) for o in orders], form=form, chunk_size=chunk, scale=0.125)
    assert O.rel_err(got.double().numpy(), ref) < tol


def test_rejects_bad_arguments():
    q, k, v, g = (t(x) for x in draw(9, "d"))
    with pytest.raises(ValueError, match="form"):
        A.lion_attention(q, k, v, g, form="parallel")
    with pytest.raises(ValueError, match="chunk_size"):
        A.lion_attention(q, k, v, g, form="chunk", chunk_size=0)
    with pytest.raises(ValueError, match="shapes"):
        A.lion_attention(q, k[:, :, :3], v, g)
