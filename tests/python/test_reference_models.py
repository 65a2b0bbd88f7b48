"""LionBert / LionVit (lionserve.models) against the float64 oracle's layer wrappers,
across forms, under padding and batching, and through the model-directory format."""

import json

import numpy as np
import pytest
import torch

from lionserve import oracle as O
from lionserve.config import make_config
from lionserve.golden import forward_outputs, make_random_model_dir, randomize_
from lionserve.models import (LionBert, LionVit, build_model, load_model_dir, read_vocab,
                              save_model_dir)

FORMS = [("full", 64), ("chunk", 3), ("chunk", 16), ("rnn", 1)]
SMALL = dict(hidden_size=32, num_layers=2, num_heads=4, intermediate_size=48)


def bert(variant, seed=0, **kw):
    cfg = make_config("lion_bert", variant, vocab_size=50, **{**SMALL, **kw})
    return randomize_(LionBert(cfg), seed).double().eval()


def vit(variant, seed=0, **kw):
    base = dict(image_size=12, patch_size=3, num_channels=2, image_mean=[0.5, 0.5],
                image_std=[0.2, 0.2], labels=["a", "b", "c"])
    cfg = make_config("lion_vit", variant, **{**SMALL, **base, **kw})
    return randomize_(LionVit(cfg), seed).double().eval()


def np_(x):
    return x.detach().double().numpy()


@pytest.mark.parametrize("variant", ["lit", "d", "s"])
@pytest.mark.parametrize("form,chunk", FORMS)
def test_bert_attention_matches_oracle(variant, form, chunk):
    m = bert(variant, seed=1)
    att = m.layers[0].attention
    x = torch.randn(2, 9, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    lengths = torch.tensor([9, 6])
    with torch.no_grad():
        got = att(x, lengths, form, chunk)
    p = {n: np_(getattr(att, l).weight) for n, l in (("Wq", "query"), ("Wk", "key"), ("Wv", "value"))}
    p.update({n: np_(getattr(att, l).bias) for n, l in (("bq", "query"), ("bk", "key"), ("bv", "value"))})
    if variant == "d":
        p["ai"] = np_(att.decay)
    if variant == "s":
        p["Wa"], p["ba"] = np_(att.decay_proj.weight), np_(att.decay_proj.bias)
    if variant == "lit":
        p["ln_w"], p["ln_b"] = np_(att.layer_norm.weight), np_(att.layer_norm.bias)
    for b, n in enumerate(lengths.tolist()):
        valid = np.arange(9) < n
        y = O.bert_lion_self_attention(np_(x[b]), p, variant, 4, key_valid=valid)
        ref = y @ np_(att.output.weight).T + np_(att.output.bias)
        assert O.rel_err(np_(got[b, :n]), ref[:n]) < 1e-10


@pytest.mark.parametrize("variant,order", [("lit", "normal"), ("d", "normal"), ("s", "normal"),
                                           ("d", "natural"), ("s", "natural")])
@pytest.mark.parametrize("form,chunk", FORMS)
def test_vit_attention_matches_oracle(variant, order, form, chunk, natural_oracle):
    m = vit(variant, seed=3, order=order)
    att = m.blocks[1].attn
    x = torch.randn(2, 17, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        got = att(x, (4, 4), form, chunk)
    p = {"Wqkv": np_(att.qkv.weight), "bqkv": np_(att.qkv.bias), "Wproj": np_(att.proj.weight),
         "bproj": np_(att.proj.bias)}
    for suffix in ("", "2") if order == "natural" else ("",):
        if variant == "d":
            p["a" + suffix] = np_(getattr(att, "decay" + suffix))
        if variant == "s":
            proj = getattr(att, f"decay{suffix}_proj")
            p["Wa" + suffix], p["ba" + suffix] = np_(proj.weight), np_(proj.bias)
    for b in range(2):
        if order == "normal":
            ref = O.vit_lion_attention(np_(x[b]), p, variant, 4, eps=1e-6)
        else:
            ref = natural_oracle(np_(x[b]), p, variant, 4, 4)
        assert O.rel_err(np_(got[b]), ref) < 1e-10


def model_cases():
    yield "bert-lit", lambda: bert("lit", 5)
    yield "bert-d", lambda: bert("d", 6, pooling="mean")
    yield "bert-s-cls", lambda: bert("s", 7, task="classification", labels=["x", "y"],
                                     has_pooler=True)
    yield "bert-s-softplus", lambda: bert("s", 8, selective_log_eps=0.0)
    yield "vit-lit", lambda: vit("lit", 9, pooling="cls")
    yield "vit-d-pos", lambda: vit("d", 10, use_position_embeddings=True)
    yield "vit-s", lambda: vit("s", 11)
    yield "vit-d-natural", lambda: vit("d", 12, order="natural")
    yield "vit-s-natural", lambda: vit("s", 13, order="natural")


def run(m, form, chunk, dtype=torch.float64, batch=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    m = m.to(dtype)
    with torch.no_grad():
        if isinstance(m, LionBert):
            ids = torch.randint(0, 50, (batch, 21), generator=g)
            mask = torch.ones(batch, 21, dtype=torch.long)
            mask[-1, 13:] = 0
            return m(ids, attention_mask=mask, form=form, chunk_size=chunk)
        return m(torch.randn(batch, 2, 12, 12, generator=g, dtype=dtype), form=form,
                 chunk_size=chunk)


@pytest.mark.parametrize("name,make", list(model_cases()))
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_whole_model_forms_agree(name, make, dtype, tol):
    m = make()
    ref = run(m, "full", 64, dtype)
    for form, chunk in FORMS[1:]:
        out = run(m, form, chunk, dtype)
        assert out.keys() == ref.keys()
        for key in ref:
            assert O.rel_err(np_(out[key]), np_(ref[key])) < tol, (name, form, chunk, key)


@pytest.mark.parametrize("variant", ["lit", "d", "s"])
@pytest.mark.parametrize("form,chunk", FORMS)
def test_bert_outputs_independent_of_padding_and_batch(variant, form, chunk):
    m = bert(variant, 14, task="classification", labels=["x", "y"], has_pooler=True,
             pooling="mean")
    g = torch.Generator().manual_seed(15)
    seqs = [torch.randint(0, 50, (n,), generator=g) for n in (17, 5, 11)]
    L = 20
    ids = torch.zeros(3, L, dtype=torch.long)
    mask = torch.zeros(3, L, dtype=torch.long)
    for b, s in enumerate(seqs):
        ids[b, :len(s)], mask[b, :len(s)] = s, 1
    with torch.no_grad():
        batched = m(ids, attention_mask=mask, form=form, chunk_size=chunk)
        for b, s in enumerate(seqs):
            alone = m(s[None], form=form, chunk_size=chunk)
            n = len(s)
            for key in ("hidden_states", "mlm_logits"):
                assert O.rel_err(np_(batched[key][b, :n]), np_(alone[key][0])) < 1e-10
                assert torch.all(batched[key][b, n:] == 0)
            for key in ("pooled", "pooler_output", "logits"):
                assert O.rel_err(np_(batched[key][b]), np_(alone[key][0])) < 1e-10


def test_vit_outputs_independent_of_batch():
    m = vit("s", 16, order="natural")
    x = torch.randn(3, 2, 12, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(17))
    with torch.no_grad():
        batched = m(x, form="chunk", chunk_size=4)
        for b in range(3):
            alone = m(x[b:b + 1], form="chunk", chunk_size=4)
            for key in batched:
                assert O.rel_err(np_(batched[key][b]), np_(alone[key][0])) < 1e-10


def test_vit_serves_other_sizes_without_positions_only():
    m = vit("d", 18)
    with torch.no_grad():
        assert m(torch.randn(1, 2, 6, 9, dtype=torch.float64))["hidden_states"].shape == (1, 7, 32)
    with pytest.raises(ValueError, match="position table"):
        vit("d", 18, use_position_embeddings=True)(torch.randn(1, 2, 6, 9, dtype=torch.float64))


@pytest.mark.parametrize("arch,variant,kw", [
    ("lion_bert", "lit", {}), ("lion_bert", "d", {"has_pooler": True}),
    ("lion_bert", "s", {"task": "classification"}),
    ("lion_vit", "lit", {}), ("lion_vit", "d", {"order": "natural"}),
    ("lion_vit", "s", {"use_position_embeddings": True, "order": "natural"})])
def test_model_dir_round_trip(tmp_path, arch, variant, kw):
    cfg = make_random_model_dir(tmp_path / "m", arch, variant, seed=19, **kw)
    m = load_model_dir(tmp_path / "m")
    assert m.config == cfg
    with open(tmp_path / "m" / "config.json") as f:
        assert json.load(f) == cfg
    save_model_dir(m, cfg, tmp_path / "again", vocab=read_vocab(tmp_path / "m"))
    assert (tmp_path / "m" / "model.safetensors").read_bytes() == \
        (tmp_path / "again" / "model.safetensors").read_bytes()
    if arch == "lion_bert":
        inputs = {"input_ids": [[2, 7, 9, 3, 0], [2, 5, 3, 0, 0]],
                  "attention_mask": [[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]]}
        assert len(read_vocab(tmp_path / "m")) == cfg["vocab_size"]
    else:
        inputs = {"pixel_values": np.random.default_rng(0).standard_normal((2, 3, 16, 16))}
    a = forward_outputs(tmp_path / "m", inputs, "full")
    b = forward_outputs(tmp_path / "again", inputs, "rnn")
    for key in a:
        assert a[key].dtype == np.float32
        assert O.rel_err(a[key], b[key]) < 1e-5


def test_fp16_weights_load_as_float32(tmp_path):
    cfg = make_random_model_dir(tmp_path / "m", "lion_vit", "d", seed=20)
    m = load_model_dir(tmp_path / "m")
    save_model_dir(m, cfg, tmp_path / "h", dtype=torch.float16)
    h = load_model_dir(tmp_path / "h")
    for (k, a), (_, b) in zip(m.state_dict().items(), h.state_dict().items()):
        assert b.dtype == torch.float32
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-3)


def test_load_reports_missing_and_misshaped_tensors(tmp_path):
    from safetensors.torch import load_file, save_file
    make_random_model_dir(tmp_path / "m", "lion_bert", "s", seed=21)
    file = tmp_path / "m" / "model.safetensors"
    t = load_file(file)
    del t["layers.1.attention.decay_proj.bias"]
    t["mlm.bias"] = t["mlm.bias"][:-1].clone()
    t["extra.weight"] = torch.zeros(2)
    save_file(t, file)
    with pytest.raises(ValueError) as e:
        load_model_dir(tmp_path / "m")
    msg = str(e.value)
    assert "missing layers.1.attention.decay_proj.bias" in msg
    assert "unexpected extra.weight" in msg
    assert "shape of mlm.bias" in msg


def test_config_validation_names_the_field():
    with pytest.raises(ValueError, match="num_heads"):
        make_config("lion_bert", "d", hidden_size=30, num_heads=4)
    with pytest.raises(ValueError, match="natural"):
        make_config("lion_vit", "lit", order="natural", labels=["a"])
    with pytest.raises(ValueError, match="labels"):
        make_config("lion_vit", "d")
    cfg = make_config("lion_bert", "lit")
    assert cfg["use_position_embeddings"] and cfg["layer_norm_after"]
    assert cfg["max_input_tokens"] == 512
    cfg = make_config("lion_bert", "s")
    assert not cfg["use_position_embeddings"] and cfg["max_input_tokens"] == 0
    assert build_model(cfg).layers[0].attention.decay_proj.weight.shape == (12, 768)
