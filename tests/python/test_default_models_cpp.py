"""The embedded default models evaluated through the C++ model code
(lion-model-run): held-out quality as documented in their config, in every form."""

import os
import re

import numpy as np
import pytest

from conftest import REPO_ROOT
from lionserve import training_data as T
from lionserve.models import read_vocab
from conftest import tool_mark
from test_model_parity import RUNNER_BUILT, run_cpp

MODELS = REPO_ROOT / "models"
pytestmark = RUNNER_BUILT


def recorded(description, label):
    return float(re.search(label + r" ([0-9.]+)", description).group(1).rstrip("."))


@pytest.mark.parametrize("form,chunk", [("full", 64), ("chunk", 8), ("rnn", 64)])
def test_lion_digits_accuracy_through_cpp(tmp_path, form, chunk):
    import json
    cfg = json.load(open(MODELS / "lion-digits" / "config.json"))
    _, _, x_te, y_te = T.digits_split()
    x = T.normalize_images(x_te, cfg["image_mean"], cfg["image_std"])
    logits = run_cpp(MODELS / "lion-digits", {"pixel_values": np.asarray(x)}, form, chunk, tmp_path)["logits"]
    acc = float((logits.argmax(-1) == np.asarray(y_te)).mean())
    assert acc >= 0.95
    # One held-out image of 360 may flip on a float32 near-tie; no more.
    assert acc == pytest.approx(recorded(cfg["description"], "Held-out accuracy"), abs=1.5 / len(y_te))


@tool_mark(f"Debian package fortunes ({T.FORTUNES_DIR})", os.path.isdir(T.FORTUNES_DIR),
           "scripts/setup installs it")
@pytest.mark.parametrize("form", ["full", "chunk", "rnn"])
def test_lion_mlm_mini_masked_accuracy_through_cpp(tmp_path, form):
    import json
    cfg = json.load(open(MODELS / "lion-mlm-mini" / "config.json"))
    vocab = read_vocab(MODELS / "lion-mlm-mini")
    tok = T.wordpiece_tokenizer(str(MODELS / "lion-mlm-mini" / "vocab.txt"))
    train_texts, held_texts = T.fortunes_split()
    batches = T.mlm_eval_batches(T.encode(tok, held_texts), len(vocab), vocab.index("[MASK]"))
    correct = total = 0
    for ids, att, labels in batches:
        out = run_cpp(MODELS / "lion-mlm-mini", {"input_ids": ids, "lengths": att.sum(1)}, form, 16, tmp_path)
        pred = out["mlm_logits"][..., :len(vocab)].argmax(-1)
        sel = labels >= 0
        correct += int((pred[sel] == labels[sel]).sum())
        total += int(sel.sum())
    acc = correct / total
    baseline = T.unigram_accuracy(T.encode(tok, train_texts), batches)
    assert acc >= 2 * baseline
    assert acc == pytest.approx(recorded(cfg["description"], "accuracy"), abs=2.0 / total)
