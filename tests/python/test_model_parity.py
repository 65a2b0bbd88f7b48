"""The C++ models (server/model, run through lion-model-run) against our PyTorch
reference (python/lionserve) on random-weight model directories: both
architectures x LIT/D/S x full/chunk/RNN, the two-order vision variant,
positions, pooler/classifier heads, padded batches. Tolerance: rel 1e-5 (fp32)."""

import subprocess

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file, save_file

from conftest import BUILD_DIR, tool_mark
from lionserve.golden import forward_outputs, make_random_model_dir

RUNNER = BUILD_DIR / "server" / "model" / "lion-model-run"
FORMS = [("full", 64), ("chunk", 3), ("rnn", 64)]
RUNNER_BUILT = tool_mark(f"lion-model-run ({RUNNER})", RUNNER.exists(),
                         "build it (cmake --build build), or set LION_BUILD_DIR")

pytestmark = RUNNER_BUILT


def rel_err(a, b):
    scale = max(np.abs(a).max(), np.abs(b).max(), 1e-30)
    return float(np.abs(a - b).max() / scale)


def run_cpp(model_dir, inputs, form, chunk, tmp_path):
    src, dst = tmp_path / "in.safetensors", tmp_path / "out.safetensors"
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in inputs.items()}, str(src))
    proc = subprocess.run([str(RUNNER), str(model_dir), str(src), str(dst), form, str(chunk)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return load_file(str(dst))


def bert_inputs(vocab, lengths, seed):
    rng = np.random.default_rng(seed)
    L = max(lengths)
    ids = rng.integers(5, vocab, size=(len(lengths), L))
    mask = (np.arange(L)[None, :] < np.array(lengths)[:, None]).astype(np.int64)
    ids = ids * mask                                   # padding id 0
    return ids, mask


def compare(cpp, ref, names):
    for name in names:
        assert name in cpp, f"C++ output lacks {name}"
        err = rel_err(cpp[name], ref[name].astype(np.float32))
        assert err <= 1e-5, f"{name}: rel err {err:.2e}"


BERT_CASES = [
    ("lit", {"use_position_embeddings": True}),
    ("d", {}),
    ("s", {}),
    ("s", {"selective_log_eps": 0.0}),
    ("d", {"task": "classification", "has_pooler": True, "has_mlm_head": False}),
    ("lit", {"task": "classification", "has_pooler": False, "has_mlm_head": True, "pooling": "mean"}),
]


@pytest.mark.parametrize("variant,overrides", BERT_CASES)
def test_bert_matches_reference(tmp_path, variant, overrides):
    model_dir = tmp_path / "m"
    cfg = make_random_model_dir(model_dir, "lion_bert", variant, seed=3, **overrides)
    lengths = [13, 7, 1]
    ids, mask = bert_inputs(cfg["vocab_size"], lengths, seed=5)
    names = ["hidden_states", "pooled"] + (["logits"] if cfg["task"] == "classification" else [])
    names += ["mlm_logits"] if cfg["has_mlm_head"] else []
    for form, chunk in FORMS:
        ref = forward_outputs(model_dir, {"input_ids": ids, "attention_mask": mask}, form, chunk)
        cpp = run_cpp(model_dir, {"input_ids": ids, "lengths": np.array(lengths)}, form, chunk, tmp_path)
        compare(cpp, ref, names)


VIT_CASES = [
    ("lit", {}),
    ("d", {}),
    ("s", {}),
    ("d", {"order": "natural"}),
    ("s", {"order": "natural"}),
    ("s", {"use_position_embeddings": True, "pooling": "cls"}),
]


@pytest.mark.parametrize("variant,overrides", VIT_CASES)
def test_vit_matches_reference(tmp_path, variant, overrides):
    model_dir = tmp_path / "m"
    cfg = make_random_model_dir(model_dir, "lion_vit", variant, seed=4, **overrides)
    side = cfg["image_size"]
    # Non-square images too, where no position table pins the size.
    sizes = [(side, side)] if cfg["use_position_embeddings"] else [(side, side), (8, 20)]
    rng = np.random.default_rng(9)
    for h, w in sizes:
        px = rng.standard_normal((2, cfg["num_channels"], h, w)).astype(np.float32)
        for form, chunk in FORMS:
            ref = forward_outputs(model_dir, {"pixel_values": px}, form, chunk)
            cpp = run_cpp(model_dir, {"pixel_values": px}, form, chunk, tmp_path)
            compare(cpp, ref, ["hidden_states", "pooled", "logits"])


def test_padded_batch_equals_each_sequence_alone(tmp_path):
    model_dir = tmp_path / "m"
    cfg = make_random_model_dir(model_dir, "lion_bert", "s", seed=8)
    lengths = [21, 4, 9]
    ids, _ = bert_inputs(cfg["vocab_size"], lengths, seed=2)
    batch = run_cpp(model_dir, {"input_ids": ids, "lengths": np.array(lengths)}, "chunk", 8, tmp_path)
    for b, n in enumerate(lengths):
        alone = run_cpp(model_dir, {"input_ids": ids[b:b + 1, :n], "lengths": np.array([n])},
                        "rnn", 64, tmp_path)
        assert rel_err(batch["hidden_states"][b, :n], alone["hidden_states"][0]) <= 1e-5
        assert np.all(batch["hidden_states"][b, n:] == 0.0)


def test_bad_inputs_are_clear_errors(tmp_path):
    model_dir = tmp_path / "m"
    cfg = make_random_model_dir(model_dir, "lion_bert", "d", seed=1)
    src, dst = tmp_path / "in.safetensors", tmp_path / "out.safetensors"
    ids = np.full((1, 4), cfg["vocab_size"] + 3, dtype=np.float32)   # out of the vocabulary
    save_file({"input_ids": ids, "lengths": np.array([4], dtype=np.float32)}, str(src))
    proc = subprocess.run([str(RUNNER), str(model_dir), str(src), str(dst)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1
    assert "token ids must lie in [0, 64)" in proc.stderr
