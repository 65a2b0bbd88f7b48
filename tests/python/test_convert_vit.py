"""scripts/convert_checkpoint on synthetic vision checkpoints in the official DeiT-style
container (model / model_ema / args): converted model == an independent float64
evaluation from the official key names (oracle's vit_lion_attention for the attention)."""

import argparse
import collections

import numpy as np
import pytest
import torch

from lionserve import oracle as O
from lionserve.convert import ConversionError, convert
from test_convert import Draw, gelu, ln, opts

D, H, DEPTH, C, PATCH, IMG, CLASSES = 32, 4, 2, 3, 4, 16, 5
SIDE = IMG // PATCH


def official_vit(variant, natural=False, pos=False, seed=0):
    r, sd = Draw(seed), collections.OrderedDict()
    sd["cls_token"] = r(1, 1, D, scale=0.5)
    if pos:
        sd["pos_embed"] = r(1, 1 + SIDE * SIDE, D, scale=0.5)
    r.linear(sd, "patch_embed.proj", D, C * PATCH * PATCH)
    sd["patch_embed.proj.weight"] = sd["patch_embed.proj.weight"].reshape(D, C, PATCH, PATCH)
    for i in range(DEPTH):
        p = f"blocks.{i}."
        r.norm(sd, p + "norm1")
        r.linear(sd, p + "attn.qkv", 3 * D, D)
        for name in ("a_i", "a2_i") if natural else ("a_i",):
            if variant == "d":
                sd[p + "attn." + name] = r(H, scale=1.5)
            if variant == "s":
                r.linear(sd, p + "attn." + name, H, D, bias_shift=-1.0)
        r.linear(sd, p + "attn.proj", D, D)
        r.norm(sd, p + "norm2")
        r.linear(sd, p + "mlp.fc1", 4 * D, D)
        r.linear(sd, p + "mlp.fc2", D, 4 * D)
    r.norm(sd, "norm")
    r.linear(sd, "head", CLASSES, D)
    return sd


def official_vit_forward(sd, variant, natural, image, cls_tok, natural_oracle):
    """Independent float64 evaluation of one image [C, IMG, IMG] from official keys."""
    W = {k: v.double().numpy() for k, v in sd.items()}
    patches = image.reshape(C, SIDE, PATCH, SIDE, PATCH).transpose(1, 3, 0, 2, 4)
    patches = patches.reshape(SIDE * SIDE, C * PATCH * PATCH)          # raster, (c, y, x)
    x = patches @ W["patch_embed.proj.weight"].reshape(D, -1).T + W["patch_embed.proj.bias"]
    x = np.concatenate([W["cls_token"][0], x])
    if "pos_embed" in W:
        x = x + W["pos_embed"][0]
    for i in range(DEPTH):
        p = f"blocks.{i}."
        a = ln(x, W[p + "norm1.weight"], W[p + "norm1.bias"], 1e-6)
        prm = {"Wqkv": W[p + "attn.qkv.weight"], "bqkv": W[p + "attn.qkv.bias"],
               "Wproj": W[p + "attn.proj.weight"], "bproj": W[p + "attn.proj.bias"]}
        for ours, theirs in (("", "a_i"), ("2", "a2_i")) if natural else (("", "a_i"),):
            if variant == "d":
                prm["a" + ours] = W[p + "attn." + theirs]
            if variant == "s":
                prm["Wa" + ours] = W[p + f"attn.{theirs}.weight"]
                prm["ba" + ours] = W[p + f"attn.{theirs}.bias"]
        if natural:
            x = x + natural_oracle(a, prm, variant, H, SIDE)
        else:
            x = x + O.vit_lion_attention(a, prm, variant, H, eps=1e-6)
        m = ln(x, W[p + "norm2.weight"], W[p + "norm2.bias"], 1e-6)
        x = x + gelu(m @ W[p + "mlp.fc1.weight"].T + W[p + "mlp.fc1.bias"]) @ \
            W[p + "mlp.fc2.weight"].T + W[p + "mlp.fc2.bias"]
    h = ln(x, W["norm.weight"], W["norm.bias"], 1e-6)
    pooled = h[0] if cls_tok else h.mean(0)
    return {"hidden_states": h, "pooled": pooled, "logits": pooled @ W["head.weight"].T + W["head.bias"]}


def vision_checkpoint(path, model, ema=None, **args):
    ckpt = {"model": model, "optimizer": {"state": {}, "param_groups": [{"lr": 5e-4}]},
            "lr_scheduler": {"last_epoch": 3}, "epoch": 3, "scaler": {},
            "args": argparse.Namespace(**{"model": "lion_custom", "input_size": IMG,
                                          "nb_classes": CLASSES, "chunk_size": 32,
                                          "format": "Attention", **args})}
    if ema is not None:
        ckpt["model_ema"] = ema
    torch.save(ckpt, path)


def check_vit(dst, sd, variant, natural, cls_tok, natural_oracle):
    from lionserve.models import load_model_dir

    model = load_model_dir(dst, dtype=torch.float64)
    images = np.random.default_rng(5).standard_normal((2, C, IMG, IMG))
    for form, chunk in (("full", 64), ("chunk", 5), ("rnn", 1)):
        with torch.no_grad():
            got = model(torch.as_tensor(images), form=form, chunk_size=chunk)
        for b in range(2):
            ref = official_vit_forward(sd, variant, natural, images[b], cls_tok, natural_oracle)
            for key, want in ref.items():
                assert O.rel_err(got[key][b].numpy(), want) < 1e-10, (form, key)


@pytest.mark.parametrize("variant,natural,pos,cls_tok", [
    ("lit", False, True, True), ("d", False, False, False), ("s", False, True, False),
    ("d", True, False, False), ("s", True, False, True)])
def test_vision_checkpoint(tmp_path, variant, natural, pos, cls_tok, natural_oracle):
    sd = official_vit(variant, natural, pos, seed=11)
    mask_type = {"lit": "Lit", "d": "Decay", "s": "Selective"}[variant]
    vision_checkpoint(tmp_path / "checkpoint.pth", sd, mask_type=mask_type,
                      order="S" if natural else "Normal", pos_emb=pos, cls_tok=cls_tok)
    flags = ["--num_heads", str(H)] if variant == "lit" else []
    cfg = convert(str(tmp_path / "checkpoint.pth"), str(tmp_path / "out"), opts(*flags))
    assert (cfg["variant"], cfg["order"], cfg["use_position_embeddings"], cfg["pooling"]) == \
        (variant, "natural" if natural else "normal", pos, "cls" if cls_tok else "mean")
    assert (cfg["num_heads"], cfg["image_size"], cfg["patch_size"]) == (H, IMG, PATCH)
    assert cfg["labels"] == [str(i) for i in range(CLASSES)]
    check_vit(tmp_path / "out", sd, variant, natural, cls_tok, natural_oracle)


def test_use_ema_selects_the_ema_weights(tmp_path, natural_oracle):
    model, ema = official_vit("d", seed=12), official_vit("d", seed=13)
    vision_checkpoint(tmp_path / "c.pth", model, ema, mask_type="Decay", order="Normal",
                      pos_emb=False, cls_tok=False)
    convert(str(tmp_path / "c.pth"), str(tmp_path / "model"), opts())
    convert(str(tmp_path / "c.pth"), str(tmp_path / "ema"), opts("--use_ema"))
    check_vit(tmp_path / "model", model, "d", False, False, natural_oracle)
    check_vit(tmp_path / "ema", ema, "d", False, False, natural_oracle)
    vision_checkpoint(tmp_path / "no_ema.pth", model, mask_type="Decay")
    with pytest.raises(ConversionError, match="model_ema"):
        convert(str(tmp_path / "no_ema.pth"), str(tmp_path / "x"), opts("--use_ema"))


@pytest.mark.parametrize("case,message", [
    ("lit_heads", "--num_heads"), ("mask_type", "args.mask_type"), ("order", "args.order"),
    ("classes", "--num_classes 7"), ("pos_flag", "--pos_emb"), ("pos_rows", "mis-shaped key pos_embed"),
    ("extra", "unexpected key head_dist.weight"), ("missing", "missing key blocks.1.mlp.fc2.bias")])
def test_vision_refusals(tmp_path, case, message):
    variant = "lit" if case == "lit_heads" else "d"
    sd = official_vit(variant, pos=case == "pos_rows", seed=14)
    args = {"mask_type": {"lit": "Lit", "d": "Decay"}[variant], "order": "Normal"}
    flags = []
    if case == "mask_type":
        args["mask_type"] = "Selective"
    elif case == "order":
        args["order"] = "S"
    elif case == "classes":
        flags = ["--num_classes", "7"]
    elif case == "pos_flag":
        flags = ["--pos_emb", "true"]
    elif case == "pos_rows":
        sd["pos_embed"] = sd["pos_embed"][:, :-1]
    elif case == "extra":
        sd["head_dist.weight"] = torch.zeros(CLASSES, D)
    elif case == "missing":
        del sd["blocks.1.mlp.fc2.bias"]
    vision_checkpoint(tmp_path / "c.pth", sd, **args)
    with pytest.raises(ConversionError, match=message):
        convert(str(tmp_path / "c.pth"), str(tmp_path / "out"), opts(*flags))
