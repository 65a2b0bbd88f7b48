"""config.json of a lion-serve model directory (docs/model-format.md, version 1).

`make_config` fills every field with the defaults of the official families;
`validate_config` checks one read from disk and raises ValueError naming the field.
"""

from __future__ import annotations

import copy

FORMAT_VERSION = 1
ARCHITECTURES = ("lion_bert", "lion_vit")
VARIANTS = ("lit", "d", "s")
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]

_COMMON = {
    "format_version": FORMAT_VERSION,
    "task": "mlm",
    "hidden_size": 768,
    "num_layers": 12,
    "num_heads": 12,
    "intermediate_size": 3072,
    "labels": [],
    "max_input_tokens": 0,
    "description": "",
}

_BERT = {
    "layer_norm_eps": 1e-12,
    "vocab_size": 30528,
    "type_vocab_size": 2,
    "max_position_embeddings": 512,
    "attention_layer_norm_eps": 1e-5,
    "selective_log_eps": 1e-7,
    "pad_token_id": 0,
    "lowercase": True,
    "has_mlm_head": True,
    "has_pooler": False,
    "pooling": "cls",
}

_VIT = {
    "task": "classification",
    "layer_norm_eps": 1e-6,
    "image_size": 224,
    "patch_size": 16,
    "num_channels": 3,
    "use_position_embeddings": False,
    "pooling": "mean",
    "order": "normal",
    "image_mean": IMAGENET_MEAN,
    "image_std": IMAGENET_STD,
}


def make_config(architecture: str, variant: str, **overrides) -> dict:
    """A complete config for `architecture`/`variant`; overrides win. Derived fields
    (LIT BERT positions and attention LayerNorm, max_input_tokens) follow the
    variant unless overridden."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
    cfg = copy.deepcopy(_COMMON)
    cfg.update(copy.deepcopy(_BERT if architecture == "lion_bert" else _VIT))
    cfg["architecture"] = architecture
    cfg["variant"] = variant
    if architecture == "lion_bert":
        cfg["use_position_embeddings"] = variant == "lit"
        cfg["layer_norm_after"] = variant == "lit"
    cfg.update(copy.deepcopy(overrides))
    if "max_input_tokens" not in overrides:
        cfg["max_input_tokens"] = default_max_input_tokens(cfg)
    if architecture == "lion_bert" and not cfg["use_position_embeddings"] \
            and "max_position_embeddings" not in overrides:
        cfg["max_position_embeddings"] = 0
    validate_config(cfg)
    return cfg


def default_max_input_tokens(cfg: dict) -> int:
    """0 (unbounded) without a position table, else the table's length."""
    if not cfg.get("use_position_embeddings"):
        return 0
    if cfg["architecture"] == "lion_bert":
        return int(cfg["max_position_embeddings"])
    side = cfg["image_size"] // cfg["patch_size"]
    return side * side + 1


def _require(cfg, name, kind):
    if name not in cfg:
        raise ValueError(f"config.json: missing field {name!r}")
    if not isinstance(cfg[name], kind) or (kind is int and isinstance(cfg[name], bool)):
        raise ValueError(f"config.json: field {name!r} must be {kind}, got {cfg[name]!r}")


def validate_config(cfg: dict) -> None:
    if cfg.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"config.json: format_version must be {FORMAT_VERSION}, "
                         f"got {cfg.get('format_version')!r}")
    if cfg.get("architecture") not in ARCHITECTURES:
        raise ValueError(f"config.json: architecture must be one of {ARCHITECTURES}")
    if cfg.get("variant") not in VARIANTS:
        raise ValueError(f"config.json: variant must be one of {VARIANTS}")
    if cfg.get("task") not in ("mlm", "classification"):
        raise ValueError("config.json: task must be 'mlm' or 'classification'")
    for name in ("hidden_size", "num_layers", "num_heads", "intermediate_size",
                 "max_input_tokens"):
        _require(cfg, name, int)
    _require(cfg, "layer_norm_eps", float)
    _require(cfg, "labels", list)
    if cfg["hidden_size"] % cfg["num_heads"]:
        raise ValueError(f"config.json: hidden_size {cfg['hidden_size']} is not a multiple "
                         f"of num_heads {cfg['num_heads']}")
    if cfg["task"] == "classification" and not cfg["labels"]:
        raise ValueError("config.json: a classification model needs labels")
    if cfg["architecture"] == "lion_bert":
        for name in ("vocab_size", "type_vocab_size", "max_position_embeddings", "pad_token_id"):
            _require(cfg, name, int)
        for name in ("use_position_embeddings", "layer_norm_after", "lowercase",
                     "has_mlm_head", "has_pooler"):
            _require(cfg, name, bool)
        for name in ("attention_layer_norm_eps", "selective_log_eps"):
            _require(cfg, name, float)
        if cfg["use_position_embeddings"] and cfg["max_position_embeddings"] < 1:
            raise ValueError("config.json: use_position_embeddings needs max_position_embeddings")
        if cfg["pooling"] not in ("cls", "mean"):
            raise ValueError("config.json: pooling must be 'cls' or 'mean'")
    else:
        for name in ("image_size", "patch_size", "num_channels"):
            _require(cfg, name, int)
        _require(cfg, "use_position_embeddings", bool)
        if cfg["image_size"] % cfg["patch_size"]:
            raise ValueError("config.json: image_size must be a multiple of patch_size")
        if cfg["pooling"] not in ("cls", "mean"):
            raise ValueError("config.json: pooling must be 'cls' or 'mean'")
        if cfg["order"] not in ("normal", "natural"):
            raise ValueError("config.json: order must be 'normal' or 'natural'")
        if cfg["order"] == "natural" and cfg["variant"] == "lit":
            raise ValueError("config.json: order 'natural' needs variant 'd' or 's'")
        for name in ("image_mean", "image_std"):
            _require(cfg, name, list)
            if len(cfg[name]) != cfg["num_channels"]:
                raise ValueError(f"config.json: {name} needs num_channels entries")
        if cfg["task"] != "classification":
            raise ValueError("config.json: lion_vit models have task 'classification'")
