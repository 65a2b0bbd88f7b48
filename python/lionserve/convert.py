"""Official LION checkpoints -> lion-serve model directory (scripts/convert_checkpoint).

Reads the layouts of docs/checkpoints.md: a Hugging Face folder
(config.json + pytorch_model.bin or model.safetensors), a Composer .pt, a vision
checkpoint (model / model_ema + args) or a bare state dict, maps every official
key to ours (docs/model-format.md), and refuses with ConversionError listing
every missing, unexpected and mis-shaped key before anything is written.
"""

from __future__ import annotations

import argparse
import json
import os
import re

import torch

from .checkpoint_io import is_tensor_dict, load_container
from .config import IMAGENET_MEAN, IMAGENET_STD, make_config
from .models import build_model, save_model_dir


class ConversionError(Exception):
    """The checkpoint cannot be converted; the message says why."""


ARCH_TYPES = {"lion-lit": "lit", "linear_attention": "lit", "lion-d": "d", "nova": "d",
              "lion-s": "s", "nova-inputdep": "s"}
VIT_MASK_TYPES = {"lit": "lit", "decay": "d", "selective": "s"}
VIT_HEADS = {"tiny": 3, "small": 6, "base": 12}


def _state_from_hf_folder(src):
    cfg_file = os.path.join(src, "config.json")
    if not os.path.exists(cfg_file):
        raise ConversionError(f"{src}: no config.json (a Hugging Face folder needs one)")
    with open(cfg_file, encoding="utf-8") as f:
        hf_cfg = json.load(f)
    for name in ("model.safetensors", "pytorch_model.bin"):
        if os.path.exists(os.path.join(src, name)):
            state = load_container(os.path.join(src, name))
            break
    else:
        raise ConversionError(f"{src}: neither model.safetensors nor pytorch_model.bin")
    vocab = None
    if os.path.exists(os.path.join(src, "vocab.txt")):
        with open(os.path.join(src, "vocab.txt"), encoding="utf-8") as f:
            vocab = [line.rstrip("\n") for line in f]
    return {"kind": "bert", "state": state, "hf_config": hf_cfg, "vocab": vocab}


def _composer_vocab(hf_state):
    tok = (hf_state or {}).get("tokenizer") or {}
    entry = tok.get("vocab.txt") if isinstance(tok, dict) else None
    if not isinstance(entry, dict) or "content" not in entry:
        return None
    content = entry["content"]
    lines = content.splitlines() if isinstance(content, str) else list(content)
    return [line.rstrip("\n") for line in lines]


def read_source(src, use_ema=False):
    """{kind: bert|vit|unknown, state, hf_config?, args?, vocab?} from any supported SRC."""
    if os.path.isdir(src):
        return _state_from_hf_folder(src)
    if not os.path.exists(src):
        raise ConversionError(f"{src}: no such file or folder")
    obj = load_container(src)
    if isinstance(obj, dict) and isinstance(obj.get("state"), dict) and "model" in obj["state"]:
        hf = obj["state"].get("integrations", {}).get("huggingface", {})
        try:
            hf_cfg = hf["model"]["config"]["content"]
        except (KeyError, TypeError):
            hf_cfg = None
        return {"kind": "bert", "state": obj["state"]["model"], "hf_config": hf_cfg,
                "vocab": _composer_vocab(hf)}
    if isinstance(obj, dict) and "model" in obj and isinstance(obj["model"], dict):
        key = "model_ema" if use_ema else "model"
        if key not in obj or not isinstance(obj[key], dict):
            raise ConversionError(f"{src}: --use_ema given but the checkpoint has no model_ema")
        return {"kind": "vit", "state": obj[key], "args": obj.get("args")}
    if use_ema:
        raise ConversionError(f"{src}: --use_ema given but the checkpoint has no model_ema")
    if is_tensor_dict(obj):
        kind = "vit" if "cls_token" in obj or any(k.startswith("blocks.") for k in obj) else "bert"
        return {"kind": kind, "state": obj, "hf_config": None}
    raise ConversionError(f"{src}: not a recognised checkpoint (expected a Composer 'state', a "
                          "vision 'model' dict, or a state dict)")


def _tensors_only(state):
    return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}


def normalize_bert_keys(state):
    """Strips Composer's `model.` and HF's `bert.` prefixes."""
    state = _tensors_only(state)
    if state and all(k.startswith("model.") for k in state):
        state = {k[len("model."):]: v for k, v in state.items()}
    return {(k[len("bert."):] if k.startswith("bert.") else k): v for k, v in state.items()}


# (our name, official name) per layer; {i} is the layer index
_BERT_LAYER = [
    ("attention.query", "attention.self.query"), ("attention.key", "attention.self.key"),
    ("attention.value", "attention.self.value"), ("attention.decay_proj", "attention.self.Wa_i"),
    ("attention.layer_norm", "attention.self.layer_norm"),
    ("attention.output", "attention.output.dense"),
    ("attention_norm", "attention.output.LayerNorm"), ("ffn.fc1", "intermediate.dense"),
    ("ffn.fc2", "output.dense"), ("ffn_norm", "output.LayerNorm"),
]
_BERT_TOP = [
    ("embeddings.word_embeddings", "embeddings.word_embeddings"),
    ("embeddings.position_embeddings", "embeddings.position_embeddings"),
    ("embeddings.token_type_embeddings", "embeddings.token_type_embeddings"),
    ("embeddings.layer_norm", "embeddings.LayerNorm"),
    ("mlm.transform", "cls.predictions.transform.dense"),
    ("mlm.layer_norm", "cls.predictions.transform.LayerNorm"), ("mlm.bias", "cls.predictions.bias"),
    ("pooler", "pooler.dense"), ("classifier", "classifier"),
]


def bert_official_name(ours):
    m = re.match(r"layers\.(\d+)\.(.+)$", ours)
    if m:
        i, rest = m.groups()
        if rest == "attention.decay":
            return f"encoder.layer.{i}.attention.self.ai"
        for a, b in _BERT_LAYER:
            if rest.startswith(a + "."):
                return f"encoder.layer.{i}.{b}{rest[len(a):]}"
    for a, b in _BERT_TOP:
        if ours == a or ours.startswith(a + "."):
            return b + ours[len(a):]
    raise AssertionError(f"no official name for {ours}")


def vit_official_name(ours):
    rules = [(r"patch_embed\.(weight|bias)$", r"patch_embed.proj.\1"),
             (r"blocks\.(\d+)\.attn\.decay$", r"blocks.\1.attn.a_i"),
             (r"blocks\.(\d+)\.attn\.decay2$", r"blocks.\1.attn.a2_i"),
             (r"blocks\.(\d+)\.attn\.decay_proj\.", r"blocks.\1.attn.a_i."),
             (r"blocks\.(\d+)\.attn\.decay2_proj\.", r"blocks.\1.attn.a2_i.")]
    for pat, rep in rules:
        if re.match(pat, ours):
            return re.sub(pat, rep, ours)
    return ours


def map_state(cfg, official, name_of, reshape=None, ignore=()):
    """Our state dict for `cfg` from `official`; ConversionError lists every problem."""
    expected = build_model(cfg).state_dict()
    out, used, problems = {}, set(), []
    for ours, want in expected.items():
        src = name_of(ours)
        if src not in official:
            problems.append(f"missing key {src} (shape {list(want.shape)})")
            continue
        t = official[src]
        used.add(src)
        if reshape and ours in reshape and t.dim() != want.dim():
            t = t.reshape(want.shape) if t.numel() == want.numel() else t
        if t.shape != want.shape:
            problems.append(f"mis-shaped key {src}: {list(t.shape)}, expected {list(want.shape)}")
            continue
        if not t.is_floating_point():
            problems.append(f"key {src} has dtype {t.dtype}, expected floating point")
            continue
        out[ours] = t.to(torch.float32)
    for k in sorted(official):
        if k not in used and not any(re.fullmatch(p, k) for p in ignore):
            problems.append(f"unexpected key {k} {list(official[k].shape)}")
    if problems:
        raise ConversionError("checkpoint does not match the expected layout:\n  " +
                              "\n  ".join(problems))
    return out


# ------------------------------------------------------------------ BERT family


def _bert_variant(hf_cfg, state, opts):
    arch = opts.arch_type or (hf_cfg or {}).get("arch_type")
    has_ai = any(k.endswith("attention.self.ai") for k in state)
    has_wa = any(".attention.self.Wa_i." in k for k in state)
    if arch is None:
        if has_ai != has_wa:
            return "d" if has_ai else "s"
        raise ConversionError("cannot tell the variant: no arch_type in the config and no decay "
                              "keys (LIT and the softmax baseline look alike); pass --arch_type")
    if arch not in ARCH_TYPES:
        raise ConversionError(f"arch_type {arch!r} is not a LION variant; accepted: "
                              f"{', '.join(ARCH_TYPES)}")
    variant = ARCH_TYPES[arch]
    if has_ai != (variant == "d") or has_wa != (variant == "s"):
        found = "attention.self.ai" if has_ai else "attention.self.Wa_i" if has_wa else "none"
        raise ConversionError(f"arch_type {arch!r} (variant {variant}) conflicts with the decay "
                              f"keys in the weights ({found})")
    return variant


def bert_config(hf_cfg, state, vocab, opts):
    hf = dict(hf_cfg or {})
    variant = _bert_variant(hf, state, opts)
    word = state.get("embeddings.word_embeddings.weight")
    if word is None:
        raise ConversionError("missing key embeddings.word_embeddings.weight")
    V, D = word.shape
    layers = {int(m.group(1)) for k in state if (m := re.match(r"encoder\.layer\.(\d+)\.", k))}
    heads = opts.num_heads or hf.get("num_attention_heads")
    if heads is None:
        if variant == "d":
            heads = state["encoder.layer.0.attention.self.ai"].numel()
        elif variant == "s":
            heads = state["encoder.layer.0.attention.self.Wa_i.weight"].shape[0]
        else:
            raise ConversionError("LIT checkpoints do not record the number of heads: pass "
                                  "--num_heads (or a config.json with num_attention_heads)")
    act = hf.get("hidden_act", "gelu")
    if act != "gelu":
        raise ConversionError(f"hidden_act {act!r} is not supported (exact GELU only)")
    ln_after = hf.get("layer_norm_after")
    has_attn_ln = any(k.endswith("attention.self.layer_norm.weight") for k in state)
    if ln_after is None:
        ln_after = has_attn_ln
    pos_type = opts.position_embedding_type or hf.get(
        "position_embedding_type", "absolute" if variant == "lit" else "relative_key_query")
    use_pos = pos_type == "absolute"
    inter = state.get("encoder.layer.0.intermediate.dense.weight")
    has_mlm = any(k.startswith("cls.predictions.") for k in state)
    classifier = state.get("classifier.weight")
    labels = []
    if classifier is not None:
        id2label = hf.get("id2label") or {}
        labels = opts.labels or [id2label.get(str(i), id2label.get(i, f"LABEL_{i}"))
                                 for i in range(classifier.shape[0])]
    if vocab is None:
        raise ConversionError("no vocab.txt in the source: pass --vocab FILE")
    if len(vocab) > V:
        raise ConversionError(f"vocab.txt has {len(vocab)} lines but the word embeddings only "
                              f"{V} rows")
    pos_rows = state.get("embeddings.position_embeddings.weight")
    return make_config(
        "lion_bert", variant, task="classification" if classifier is not None else "mlm",
        hidden_size=int(D), num_layers=len(layers), num_heads=int(heads),
        intermediate_size=int(inter.shape[0]) if inter is not None else int(
            hf.get("intermediate_size", 4 * D)),
        layer_norm_eps=float(hf.get("layer_norm_eps", 1e-12)), labels=list(labels),
        vocab_size=int(V), type_vocab_size=int(
            state.get("embeddings.token_type_embeddings.weight", torch.zeros(2, 1)).shape[0]),
        max_position_embeddings=int(pos_rows.shape[0]) if use_pos and pos_rows is not None
        else int(hf.get("max_position_embeddings", 512)) if use_pos else 0,
        use_position_embeddings=use_pos, layer_norm_after=bool(ln_after),
        attention_layer_norm_eps=1e-5, selective_log_eps=1e-7,
        pad_token_id=int(hf.get("pad_token_id", 0)), lowercase=not opts.cased,
        has_mlm_head=has_mlm, has_pooler=any(k.startswith("pooler.") for k in state),
        pooling="cls", description=opts.description or "")


def _check_ties(state):
    """The decoder must be the word embeddings (bit for bit); the biases one tensor."""
    dec = state.pop("cls.predictions.decoder.weight", None)
    if dec is not None and not torch.equal(dec, state["embeddings.word_embeddings.weight"]):
        raise ConversionError("cls.predictions.decoder.weight differs from "
                              "embeddings.word_embeddings.weight: the decoder is not tied, which "
                              "our format cannot represent")
    dbias = state.pop("cls.predictions.decoder.bias", None)
    if dbias is not None:
        bias = state.setdefault("cls.predictions.bias", dbias)
        if not torch.equal(bias, dbias):
            raise ConversionError("cls.predictions.decoder.bias differs from cls.predictions.bias")


def convert_bert(src_info, opts):
    state = normalize_bert_keys(src_info["state"])
    vocab = src_info.get("vocab")
    if opts.vocab:
        with open(opts.vocab, encoding="utf-8") as f:
            vocab = [line.rstrip("\n") for line in f]
    cfg = bert_config(src_info.get("hf_config"), state, vocab, opts)
    _check_ties(state)
    ignore = [r"embeddings\.position_ids",
              r"encoder\.layer\.\d+\.attention\.self\.distance_embedding\.weight"]
    if not cfg["use_position_embeddings"]:
        ignore.append(r"embeddings\.position_embeddings\.weight")   # created but never added
    return cfg, map_state(cfg, state, bert_official_name, ignore=ignore), vocab


# ------------------------------------------------------------------ vision family


def _vit_variant(state, args):
    a = state.get("blocks.0.attn.a_i")
    variant = "d" if a is not None else "s" if "blocks.0.attn.a_i.weight" in state else "lit"
    natural = any(".attn.a2_i" in k for k in state)
    mask_type = getattr(args, "mask_type", None)
    if mask_type is not None and VIT_MASK_TYPES.get(str(mask_type).lower()) != variant:
        raise ConversionError(f"args.mask_type {mask_type!r} conflicts with the decay keys "
                              f"(variant {variant})")
    order = getattr(args, "order", None)
    if order is not None and (str(order) == "S") != natural:
        raise ConversionError(f"args.order {order!r} conflicts with the weights "
                              f"({'two' if natural else 'one'} decay order(s))")
    return variant, natural


def vit_config(state, args, opts):
    variant, natural = _vit_variant(state, args)
    if opts.order is not None and (opts.order == "natural") != natural:
        raise ConversionError(f"--order {opts.order} conflicts with the weights")
    if "cls_token" not in state or "patch_embed.proj.weight" not in state:
        raise ConversionError("missing key cls_token or patch_embed.proj.weight")
    D = state["cls_token"].shape[-1]
    _, C, p, _ = state["patch_embed.proj.weight"].shape
    heads = opts.num_heads
    model_name = str(getattr(args, "model", "") or "")
    if heads is None:
        heads = next((h for size, h in VIT_HEADS.items() if f"_{size}_" in model_name), None)
    if heads is None and variant != "lit":
        heads = (state["blocks.0.attn.a_i"].numel() if variant == "d"
                 else state["blocks.0.attn.a_i.weight"].shape[0])
    if heads is None:
        raise ConversionError("LIT checkpoints do not record the number of heads: pass "
                              "--num_heads (or keep args.model = lion_{tiny,small,base}_...)")
    pos = state.get("pos_embed")
    if opts.pos_emb is not None and opts.pos_emb != (pos is not None):
        raise ConversionError(f"--pos_emb {opts.pos_emb} but the checkpoint "
                              f"{'has' if pos is not None else 'has no'} pos_embed")
    image_size = opts.image_size or getattr(args, "input_size", None)
    if image_size is None:
        image_size = int(round((pos.shape[-2] - 1) ** 0.5)) * p if pos is not None else 224
    head = state.get("head.weight")
    n_classes = head.shape[0] if head is not None else opts.num_classes
    for given, what in ((opts.num_classes, "--num_classes"),
                        (getattr(args, "nb_classes", None), "args.nb_classes")):
        if given is not None and head is not None and int(given) != head.shape[0]:
            raise ConversionError(f"{what} {given} but head.weight has {head.shape[0]} rows")
    labels = opts.labels or [str(i) for i in range(int(n_classes or 0))]
    cls_tok = opts.cls_tok or bool(getattr(args, "cls_tok", False))
    fc1 = state.get("blocks.0.mlp.fc1.weight")
    blocks = {int(m.group(1)) for k in state if (m := re.match(r"blocks\.(\d+)\.", k))}
    return make_config(
        "lion_vit", variant, hidden_size=int(D), num_layers=len(blocks), num_heads=int(heads),
        intermediate_size=int(fc1.shape[0]) if fc1 is not None else 4 * int(D),
        labels=list(labels), image_size=int(image_size), patch_size=int(p),
        num_channels=int(C), use_position_embeddings=pos is not None,
        pooling="cls" if cls_tok else "mean", order="natural" if natural else "normal",
        image_mean=opts.image_mean or (IMAGENET_MEAN if C == 3 else [0.5] * C),
        image_std=opts.image_std or (IMAGENET_STD if C == 3 else [0.5] * C),
        description=opts.description or "")


def convert_vit(src_info, opts):
    state = _tensors_only(src_info["state"])
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    cfg = vit_config(state, src_info.get("args"), opts)
    return cfg, map_state(cfg, state, vit_official_name,
                          reshape={"cls_token", "pos_embed"}), None


# ------------------------------------------------------------------ entry point


def convert(src, dst, opts):
    """Converts SRC into the model directory DST; returns the written config."""
    info = read_source(src, use_ema=opts.use_ema)
    if info["kind"] == "bert":
        cfg, tensors, vocab = convert_bert(info, opts)
    else:
        cfg, tensors, vocab = convert_vit(info, opts)
    if not cfg["description"]:
        cfg["description"] = (f"converted by scripts/convert_checkpoint from "
                              f"{os.path.basename(os.path.normpath(src))}"
                              f" (official LION layout, variant {cfg['variant']})")
    model = build_model(cfg)
    model.load_state_dict(tensors)
    dtype = {"float32": torch.float32, "float16": torch.float16,
             "bfloat16": torch.bfloat16}[opts.dtype]
    save_model_dir(model, cfg, dst, vocab=vocab, dtype=dtype)
    return cfg


def add_arguments(ap: argparse.ArgumentParser):
    """The flags that supply what a checkpoint does not record (or override it)."""
    ap.add_argument("--arch_type", choices=sorted(ARCH_TYPES),
                    help="MLM variant when the config lacks arch_type")
    ap.add_argument("--num_heads", type=int, help="heads (LIT records none)")
    ap.add_argument("--position_embedding_type",
                    help="MLM: 'absolute' adds positions (default from the config / variant)")
    ap.add_argument("--vocab", help="vocab.txt to use (MLM), if the source has none")
    ap.add_argument("--cased", action="store_true", help="MLM tokenizer keeps case")
    ap.add_argument("--use_ema", action="store_true", help="vision: convert model_ema")
    ap.add_argument("--image_size", type=int, help="vision: training image size")
    ap.add_argument("--order", choices=["normal", "natural"], help="vision: expected order")
    ap.add_argument("--pos_emb", type=lambda s: s.lower() in ("1", "true", "yes"),
                    help="vision: expect a position table (true/false)")
    ap.add_argument("--cls_tok", action="store_true", help="vision: pool the CLS token")
    ap.add_argument("--num_classes", type=int, help="vision: expected head rows")
    ap.add_argument("--labels", type=lambda s: _read_labels(s),
                    help="labels file (one a line) or a comma-separated list")
    ap.add_argument("--image_mean", type=lambda s: [float(x) for x in s.split(",")])
    ap.add_argument("--image_std", type=lambda s: [float(x) for x in s.split(",")])
    ap.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], default="float32")
    ap.add_argument("--description", help="config.json description")


def _read_labels(s):
    if os.path.exists(s):
        with open(s, encoding="utf-8") as f:
            return [line.rstrip("\n") for line in f if line.strip()]
    return s.split(",")
