"""LionBert and LionVit: the PyTorch reference models (docs/lion-math.md section 8).

Parameter names equal the model.safetensors keys of docs/model-format.md, so
`state_dict()` is the file content. Every forward takes `form` ("full", "chunk",
"rnn") and `chunk_size`; the outputs agree across forms up to rounding.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .attention import lion_attention, lion_attention_multi_order, snake_orders
from .config import validate_config


def _log_decay(variant, x, decay, decay_proj, heads, log_eps=0.0):
    """Per-token log-decays g [B, H, L] from the attention input x [B, L, D]."""
    B, L, _ = x.shape
    if variant == "lit":
        return x.new_zeros(B, heads, L)
    if variant == "d":
        return F.logsigmoid(decay).to(x.dtype)[None, :, None].expand(B, heads, L)
    z = decay_proj(x).transpose(1, 2)                        # [B, H, L]
    if log_eps > 0.0:
        return torch.log(torch.sigmoid(-z) + log_eps)        # MLM code: log(1 - sigmoid(z) + 1e-7)
    return -F.softplus(z)                                    # lambda = 1 - sigmoid(z), stable


def _split_heads(t, heads):
    B, L, D = t.shape
    return t.view(B, L, heads, D // heads).transpose(1, 2)  # [B, H, L, dh]


def _merge_heads(t):
    B, H, L, dh = t.shape
    return t.transpose(1, 2).reshape(B, L, H * dh)


def _init_linear_std(module, std=0.02):
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.normal_(m.weight, std=std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=std)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


# ------------------------------------------------------------------ BERT


class BertAttention(nn.Module):
    """LION self-attention of the MLM family: raw q, k, scale dh^-1/2, no
    normalisation, padded keys zeroed; LIT adds a LayerNorm over the heads."""

    def __init__(self, cfg):
        super().__init__()
        D, H = cfg["hidden_size"], cfg["num_heads"]
        self.variant, self.heads = cfg["variant"], H
        self.log_eps = float(cfg["selective_log_eps"])
        self.query, self.key, self.value = nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D)
        if self.variant == "d":
            self.decay = nn.Parameter(torch.randn(H))
        if self.variant == "s":
            self.decay_proj = nn.Linear(D, H)
        if cfg["layer_norm_after"]:
            self.layer_norm = nn.LayerNorm(D, eps=cfg["attention_layer_norm_eps"])
        self.output = nn.Linear(D, D)

    def forward(self, x, lengths, form, chunk_size):
        q, k, v = (_split_heads(f(x), self.heads) for f in (self.query, self.key, self.value))
        g = _log_decay(self.variant, x, getattr(self, "decay", None),
                       getattr(self, "decay_proj", None), self.heads, self.log_eps)
        y = lion_attention(q, k, v, g, form=form, chunk_size=chunk_size,
                           scale=q.shape[-1] ** -0.5, normalize=False, lengths=lengths)
        y = _merge_heads(y)
        if hasattr(self, "layer_norm"):
            y = self.layer_norm(y)
        return self.output(y)


class BertFfn(nn.Module):
    def __init__(self, D, F_):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(D, F_), nn.Linear(F_, D)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class BertLayer(nn.Module):
    """Post-norm: a = LN(attn(x) + x); out = LN(ffn(a) + a)."""

    def __init__(self, cfg):
        super().__init__()
        D, eps = cfg["hidden_size"], cfg["layer_norm_eps"]
        self.attention = BertAttention(cfg)
        self.attention_norm = nn.LayerNorm(D, eps=eps)
        self.ffn = BertFfn(D, cfg["intermediate_size"])
        self.ffn_norm = nn.LayerNorm(D, eps=eps)

    def forward(self, x, lengths, form, chunk_size):
        a = self.attention_norm(self.attention(x, lengths, form, chunk_size) + x)
        return self.ffn_norm(self.ffn(a) + a)


class BertEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D = cfg["hidden_size"]
        self.word_embeddings = nn.Embedding(cfg["vocab_size"], D)
        if cfg["use_position_embeddings"]:
            self.position_embeddings = nn.Embedding(cfg["max_position_embeddings"], D)
        self.token_type_embeddings = nn.Embedding(cfg["type_vocab_size"], D)
        self.layer_norm = nn.LayerNorm(D, eps=cfg["layer_norm_eps"])

    def forward(self, input_ids, token_type_ids):
        e = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        if hasattr(self, "position_embeddings"):
            L = input_ids.shape[1]
            if L > self.position_embeddings.num_embeddings:
                raise ValueError(f"input of {L} tokens exceeds max_position_embeddings "
                                 f"{self.position_embeddings.num_embeddings}")
            e = e + self.position_embeddings.weight[:L][None]
        return self.layer_norm(e)


class MlmHead(nn.Module):
    """dense, GELU, LayerNorm, decoder tied to the word embeddings, plus bias."""

    def __init__(self, cfg):
        super().__init__()
        D = cfg["hidden_size"]
        self.transform = nn.Linear(D, D)
        self.layer_norm = nn.LayerNorm(D, eps=cfg["layer_norm_eps"])
        self.bias = nn.Parameter(torch.zeros(cfg["vocab_size"]))

    def forward(self, h, word_embeddings):
        return self.layer_norm(F.gelu(self.transform(h))) @ word_embeddings.t() + self.bias


def lengths_from_mask(attention_mask):
    """Lengths [B] of a right-padded 0/1 mask [B, L]; raises on any other mask."""
    m = attention_mask.to(torch.long)
    lengths = m.sum(dim=1)
    expect = (torch.arange(m.shape[1], device=m.device)[None, :] < lengths[:, None]).to(torch.long)
    if not torch.equal(m, expect):
        raise ValueError("attention_mask must be right padding (ones, then zeros)")
    return lengths


class LionBert(nn.Module):
    """Post-norm BERT with LION self-attention (docs/lion-math.md section 8.2)."""

    def __init__(self, cfg):
        super().__init__()
        validate_config(cfg)
        if cfg["architecture"] != "lion_bert":
            raise ValueError("LionBert needs architecture lion_bert")
        self.config = cfg
        D = cfg["hidden_size"]
        self.embeddings = BertEmbeddings(cfg)
        self.layers = nn.ModuleList(BertLayer(cfg) for _ in range(cfg["num_layers"]))
        if cfg["has_mlm_head"]:
            self.mlm = MlmHead(cfg)
        if cfg["has_pooler"]:
            self.pooler = nn.Linear(D, D)
        if cfg["task"] == "classification":
            self.classifier = nn.Linear(D, len(cfg["labels"]))

    def init_weights(self, std=0.02):
        _init_linear_std(self, std)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, form="full",
                chunk_size=64, mlm_logits=True):
        """Returns hidden_states [B, L, D] (rows past a sequence's length are zero),
        pooled [B, D] (config pooling over the real tokens), and when present
        pooler_output [B, D], logits [B, N], mlm_logits [B, L, V] (unless mlm_logits=False)."""
        B, L = input_ids.shape
        lengths = None if attention_mask is None else lengths_from_mask(attention_mask)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        h = self.embeddings(input_ids, token_type_ids)
        for layer in self.layers:
            h = layer(h, lengths, form, chunk_size)
        valid = torch.ones(B, L, dtype=h.dtype, device=h.device) if lengths is None else (
            torch.arange(L, device=h.device)[None, :] < lengths[:, None]).to(h.dtype)
        h = h * valid[..., None]
        out = {"hidden_states": h}
        if self.config["pooling"] == "cls":
            out["pooled"] = h[:, 0]
        else:
            out["pooled"] = h.sum(dim=1) / valid.sum(dim=1, keepdim=True).clamp(min=1)
        if hasattr(self, "pooler"):
            out["pooler_output"] = torch.tanh(self.pooler(h[:, 0]))
        if hasattr(self, "classifier"):
            out["logits"] = self.classifier(out.get("pooler_output", out["pooled"]))
        if hasattr(self, "mlm") and mlm_logits:
            logits = self.mlm(h, self.embeddings.word_embeddings.weight)
            out["mlm_logits"] = logits * valid[..., None]
        return out


# ------------------------------------------------------------------ ViT


class VitAttention(nn.Module):
    """LION attention of the vision family (normalised, eps 1e-6, docs/lion-math.md section 2.2)."""

    def __init__(self, cfg):
        super().__init__()
        D, H = cfg["hidden_size"], cfg["num_heads"]
        self.variant, self.heads = cfg["variant"], H
        self.natural = cfg["order"] == "natural"
        self.qkv = nn.Linear(D, 3 * D)
        for suffix in ("", "2") if self.natural else ("",):
            if self.variant == "d":
                setattr(self, f"decay{suffix}", nn.Parameter(torch.randn(H)))
            if self.variant == "s":
                setattr(self, f"decay{suffix}_proj", nn.Linear(D, H))
        self.proj = nn.Linear(D, D)
        self._orders = {}

    def _phi(self, t):
        if self.variant == "lit":
            return F.elu(t) + 1.0
        t = F.silu(t) + 0.5
        return t / torch.linalg.vector_norm(t, dim=-1, keepdim=True)

    def _g(self, x, suffix):
        g = _log_decay(self.variant, x, getattr(self, f"decay{suffix}", None),
                       getattr(self, f"decay{suffix}_proj", None), self.heads)
        return g

    def forward(self, x, grid, form, chunk_size):
        B, N, D = x.shape
        qkv = self.qkv(x).view(B, N, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = self._phi(qkv[0]), self._phi(qkv[1]), qkv[2]
        scale = (D // self.heads) ** -0.5
        if not self.natural:
            g = self._g(x, "")
            if self.variant == "s":
                g = torch.cat([torch.zeros_like(g[..., :1]), g[..., 1:]], dim=-1)  # CLS: lambda = 1
            y = lion_attention(q, k, v, g, form=form, chunk_size=chunk_size, scale=scale,
                               normalize=True, eps=1e-6)
        else:
            if grid not in self._orders:
                self._orders[grid] = snake_orders(*grid)
            orders = self._orders[grid]
            gs = []
            for suffix, order in zip(("", "2"), orders):
                g = self._g(x, suffix)[..., order.to(x.device)]    # into curve order
                if self.variant == "s":  # CLS decay = 1 (docs/lion-math.md section 7)
                    g = torch.cat([torch.zeros_like(g[..., :1]), g[..., 1:]], dim=-1)
                gs.append(g)
            y = lion_attention_multi_order(q, k, v, gs, orders, form=form, chunk_size=chunk_size,
                                           scale=scale / 2, normalize=True, eps=1e-6)
        return self.proj(_merge_heads(y))


class VitMlp(BertFfn):
    pass


class VitBlock(nn.Module):
    """Pre-norm: x += attn(LN1 x); x += mlp(LN2 x)."""

    def __init__(self, cfg):
        super().__init__()
        D, eps = cfg["hidden_size"], cfg["layer_norm_eps"]
        self.norm1 = nn.LayerNorm(D, eps=eps)
        self.attn = VitAttention(cfg)
        self.norm2 = nn.LayerNorm(D, eps=eps)
        self.mlp = VitMlp(D, cfg["intermediate_size"])

    def forward(self, x, grid, form, chunk_size):
        x = x + self.attn(self.norm1(x), grid, form, chunk_size)
        return x + self.mlp(self.norm2(x))


class LionVit(nn.Module):
    """Pre-norm LION ViT with a CLS token (docs/lion-math.md section 8.1)."""

    def __init__(self, cfg):
        super().__init__()
        validate_config(cfg)
        if cfg["architecture"] != "lion_vit":
            raise ValueError("LionVit needs architecture lion_vit")
        self.config = cfg
        D, p = cfg["hidden_size"], cfg["patch_size"]
        self.patch_embed = nn.Conv2d(cfg["num_channels"], D, kernel_size=p, stride=p)
        self.cls_token = nn.Parameter(torch.zeros(D))
        if cfg["use_position_embeddings"]:
            side = cfg["image_size"] // p
            self.pos_embed = nn.Parameter(torch.zeros(1 + side * side, D))
        self.blocks = nn.ModuleList(VitBlock(cfg) for _ in range(cfg["num_layers"]))
        self.norm = nn.LayerNorm(D, eps=cfg["layer_norm_eps"])
        self.head = nn.Linear(D, len(cfg["labels"]))

    def init_weights(self, std=0.02):
        _init_linear_std(self, std)
        nn.init.normal_(self.cls_token, std=std)
        if hasattr(self, "pos_embed"):
            nn.init.normal_(self.pos_embed, std=std)

    def forward(self, pixel_values, form="full", chunk_size=64):
        """pixel_values [B, C, H, W], already normalised. Returns hidden_states
        [B, 1+P, D] (after the final LayerNorm), pooled [B, D] and logits [B, N]."""
        p = self.config["patch_size"]
        B, C, Hh, Ww = pixel_values.shape
        if Hh % p or Ww % p or C != self.config["num_channels"]:
            raise ValueError(f"image {C}x{Hh}x{Ww} does not fit patch {p}, "
                             f"channels {self.config['num_channels']}")
        x = self.patch_embed(pixel_values).flatten(2).transpose(1, 2)   # raster order
        x = torch.cat([self.cls_token.expand(B, 1, -1).to(x.dtype), x], dim=1)
        if hasattr(self, "pos_embed"):
            if x.shape[1] != self.pos_embed.shape[0]:
                raise ValueError(f"image size {Hh}x{Ww} does not match the position table "
                                 f"({self.pos_embed.shape[0]} tokens)")
            x = x + self.pos_embed[None]
        grid = (Hh // p, Ww // p)
        for block in self.blocks:
            x = block(x, grid, form, chunk_size)
        h = self.norm(x)
        pooled = h[:, 0] if self.config["pooling"] == "cls" else h.mean(dim=1)
        return {"hidden_states": h, "pooled": pooled, "logits": self.head(pooled)}


def build_model(cfg) -> nn.Module:
    """LionBert or LionVit for a config (weights uninitialised: load or init them)."""
    if cfg.get("architecture") == "lion_bert":
        return LionBert(cfg)
    if cfg.get("architecture") == "lion_vit":
        return LionVit(cfg)
    raise ValueError(f"unknown architecture {cfg.get('architecture')!r}")


def count_parameters(model) -> int:
    return sum(math.prod(p.shape) for p in model.parameters())


# ------------------------------------------------------------------ model directory

CONFIG_FILE, WEIGHTS_FILE, VOCAB_FILE = "config.json", "model.safetensors", "vocab.txt"


def save_model_dir(model, config, path, vocab=None, dtype=torch.float32):
    """Writes config.json, model.safetensors (every parameter once, `dtype`) and,
    when `vocab` (list of tokens) is given, vocab.txt into the folder `path`."""
    import json
    import os

    from safetensors.torch import save_file

    validate_config(config)
    os.makedirs(path, exist_ok=True)
    tensors = {k: v.detach().to(dtype).contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(tensors, os.path.join(path, WEIGHTS_FILE), metadata={"format": "pt"})
    os.chmod(os.path.join(path, WEIGHTS_FILE), 0o644)          # safetensors writes 0600
    with open(os.path.join(path, CONFIG_FILE), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    if vocab is not None:
        with open(os.path.join(path, VOCAB_FILE), "w", encoding="utf-8") as f:
            f.writelines(t + "\n" for t in vocab)


def read_config(path) -> dict:
    import json
    import os

    with open(os.path.join(path, CONFIG_FILE), encoding="utf-8") as f:
        cfg = json.load(f)
    validate_config(cfg)
    return cfg


def read_vocab(path):
    """Tokens of vocab.txt (one a line), or None when the folder has none."""
    import os

    file = os.path.join(path, VOCAB_FILE)
    if not os.path.exists(file):
        return None
    with open(file, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def load_model_dir(path, dtype=torch.float32):
    """The model of a model directory, in eval mode. Raises ValueError naming every
    missing, unexpected or mis-shaped tensor."""
    import os

    from safetensors.torch import load_file

    cfg = read_config(path)
    model = build_model(cfg)
    tensors = load_file(os.path.join(path, WEIGHTS_FILE))
    expected = model.state_dict()
    problems = [f"missing {k} {list(v.shape)}" for k, v in expected.items() if k not in tensors]
    problems += [f"unexpected {k}" for k in tensors if k not in expected]
    problems += [f"shape of {k}: file {list(tensors[k].shape)}, config {list(v.shape)}"
                 for k, v in expected.items() if k in tensors and tensors[k].shape != v.shape]
    if problems:
        raise ValueError(f"{path}: weights do not match config.json: " + "; ".join(problems))
    model.load_state_dict({k: v.to(torch.float32) for k, v in tensors.items()})
    return model.to(dtype).eval()
