"""The embedded default models (models/), re-evaluated from the saved directories:
the held-out quality must meet its bar and equal the number their config records."""

import os
import re

import numpy as np
import pytest
import torch

from conftest import REPO_ROOT, tool_mark
from lionserve import training_data as T
from lionserve.models import load_model_dir, read_vocab

MODELS = REPO_ROOT / "models"


def recorded(description, label):
    m = re.search(label + r" ([0-9.]+)", description)
    assert m, f"description lacks '{label}': {description}"
    return float(m.group(1).rstrip("."))


def test_default_models_are_small():
    total = sum(os.path.getsize(MODELS / name / "model.safetensors")
                for name in ("lion-digits", "lion-mlm-mini"))
    assert total <= 15 * 2 ** 20


def test_lion_digits_held_out_accuracy():
    model = load_model_dir(MODELS / "lion-digits")
    cfg = model.config
    assert (cfg["architecture"], cfg["variant"], cfg["num_channels"]) == ("lion_vit", "s", 1)
    assert cfg["labels"] == [str(i) for i in range(10)]
    _, _, x_te, y_te = T.digits_split()
    x = T.normalize_images(x_te, cfg["image_mean"], cfg["image_std"])
    acc = T.classification_accuracy(model, x, y_te)
    assert acc >= 0.95
    assert acc == pytest.approx(recorded(cfg["description"], "Held-out accuracy"), abs=1e-4)
    assert T.classification_accuracy(model, x, y_te, form="rnn") == acc
    assert T.classification_accuracy(model, x, y_te, form="chunk", chunk_size=5) == acc


@tool_mark(f"Debian package fortunes ({T.FORTUNES_DIR}, the MLM's data)", os.path.isdir(T.FORTUNES_DIR),
           "scripts/setup installs it")
def test_lion_mlm_mini_held_out_masked_accuracy():
    model = load_model_dir(MODELS / "lion-mlm-mini")
    cfg = model.config
    assert (cfg["architecture"], cfg["variant"], cfg["task"]) == ("lion_bert", "d", "mlm")
    assert cfg["has_mlm_head"] and not cfg["has_pooler"] and cfg["max_input_tokens"] == 0
    vocab = read_vocab(MODELS / "lion-mlm-mini")
    assert vocab[:5] == T.SPECIAL and len(vocab) <= cfg["vocab_size"] < len(vocab) + 8
    tok = T.wordpiece_tokenizer(str(MODELS / "lion-mlm-mini" / "vocab.txt"))
    train_texts, held_texts = T.fortunes_split()
    held = T.encode(tok, held_texts)
    batches = T.mlm_eval_batches(held, len(vocab), vocab.index("[MASK]"))
    acc = T.mlm_accuracy(model, batches, len(vocab))
    baseline = T.unigram_accuracy(T.encode(tok, train_texts), batches)
    assert acc >= 2 * baseline
    assert acc == pytest.approx(recorded(cfg["description"], "accuracy"), abs=1e-4)
    assert baseline == pytest.approx(recorded(cfg["description"], "unigram baseline"), abs=1e-4)


def test_lion_mlm_mini_fills_an_obvious_mask():
    model = load_model_dir(MODELS / "lion-mlm-mini")
    tok = T.wordpiece_tokenizer(str(MODELS / "lion-mlm-mini" / "vocab.txt"))
    ids = tok.encode("a bug in the code is worth two in the [MASK].").ids
    pos = ids.index(tok.token_to_id("[MASK]"))
    with torch.no_grad():
        logits = model(torch.tensor([ids]))["mlm_logits"][0, pos]
    top = [tok.id_to_token(int(i)) for i in torch.topk(logits, 20).indices]
    assert all(not t.startswith("[") for t in top[:3]), top
    assert np.isfinite(logits.numpy()).all()
