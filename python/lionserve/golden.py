"""Golden outputs for parity tests of other implementations (the C++ server).

  forward_outputs(model_dir, inputs, form, chunk_size) -> {name: numpy array}
  make_random_model_dir(path, architecture, variant, seed, **overrides) -> config

A random model directory has every tensor drawn at a scale where each part of
the model matters (LayerNorm gains away from 1, decays spread over (0, 1)),
so a parity test that passes on it exercises the whole forward.
"""

from __future__ import annotations

import numpy as np
import torch

from .config import make_config
from .models import build_model, load_model_dir, save_model_dir

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

_SMALL = {
    "hidden_size": 32, "num_layers": 2, "num_heads": 4, "intermediate_size": 64,
}
_SMALL_BERT = {"vocab_size": 64, "max_position_embeddings": 64}
_SMALL_VIT = {"image_size": 16, "patch_size": 4, "num_channels": 3,
              "labels": [f"class{i}" for i in range(5)]}


def forward_outputs(model_dir, inputs, form="full", chunk_size=64, dtype=torch.float32):
    """Runs the model of `model_dir` once. `inputs`: {"input_ids" [B, L] (right-padded),
    optional "attention_mask", "token_type_ids"} for lion_bert, or {"pixel_values"
    [B, C, H, W] normalised} for lion_vit (array-likes). Returns the model's outputs
    (hidden_states, pooled, and pooler_output / logits / mlm_logits when present)
    as numpy arrays of `dtype`."""
    model = load_model_dir(model_dir, dtype=dtype)
    with torch.no_grad():
        if model.config["architecture"] == "lion_bert":
            ids = torch.as_tensor(np.asarray(inputs["input_ids"]), dtype=torch.long)
            kw = {k: torch.as_tensor(np.asarray(inputs[k]), dtype=torch.long)
                  for k in ("attention_mask", "token_type_ids") if inputs.get(k) is not None}
            out = model(ids, form=form, chunk_size=chunk_size, **kw)
        else:
            px = torch.as_tensor(np.asarray(inputs["pixel_values"]), dtype=dtype)
            out = model(px, form=form, chunk_size=chunk_size)
    return {k: v.numpy() for k, v in out.items()}


def randomize_(model, seed):
    """Draws every parameter in place (deterministic for a seed)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if "norm" in name and leaf == "weight":
                p.copy_(1.0 + 0.3 * torch.randn(p.shape, generator=gen))
            elif name.endswith("decay") or name.endswith("decay2"):
                p.copy_(1.5 * torch.randn(p.shape, generator=gen))       # lambda spread over (0, 1)
            elif "decay" in name and leaf == "weight":                 # decay_proj: z ~ N(-1, 1.5)
                p.copy_(1.5 * torch.randn(p.shape, generator=gen) / p.shape[-1] ** 0.5)
            elif "decay" in name and leaf == "bias":
                p.copy_(torch.randn(p.shape, generator=gen) - 1.0)
            elif leaf == "bias" or p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else p.numel()
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in ** 0.5)
    return model


def make_random_model_dir(path, architecture, variant, seed=0, vocab_lines=None, **overrides):
    """Writes a small random-weight model directory and returns its config.

    overrides: any config field (sizes, task, labels, order, use_position_embeddings,
    has_pooler, ...); small sizes by default. vocab_lines (lion_bert): lines written
    to vocab.txt, default vocab_size (fewer leaves padding rows, like 30522 vs 30528)."""
    sizes = dict(_SMALL)
    sizes.update(_SMALL_BERT if architecture == "lion_bert" else _SMALL_VIT)
    if architecture == "lion_bert" and overrides.get("task") == "classification":
        sizes["labels"] = ["negative", "positive"]
    sizes.update(overrides)
    if (architecture == "lion_bert" and "max_position_embeddings" not in overrides
            and not sizes.get("use_position_embeddings", variant == "lit")):
        sizes.pop("max_position_embeddings")                        # no table: make_config sets 0
    cfg = make_config(architecture, variant, description=f"random weights, seed {seed}", **sizes)
    model = randomize_(build_model(cfg), seed)
    vocab = None
    if architecture == "lion_bert":
        n = cfg["vocab_size"] if vocab_lines is None else vocab_lines
        vocab = (SPECIAL_TOKENS + [f"tok{i}" for i in range(n)])[:n]
    save_model_dir(model, cfg, path, vocab=vocab)
    return cfg
