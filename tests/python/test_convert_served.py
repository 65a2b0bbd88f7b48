"""Converted official-layout checkpoints served by the C++ model code: the output
of lion-model-run on a directory written by scripts/convert_checkpoint equals an
independent float64 evaluation of the official weights (rel 1e-5, fp32)."""

import numpy as np
import pytest

from lionserve import oracle as O
from test_convert import H, V, hf_config, official_bert, official_bert_forward, run_cli, save_hf_bin
from test_convert_vit import C, IMG, official_vit, official_vit_forward, vision_checkpoint
from test_model_parity import RUNNER_BUILT, run_cpp

pytestmark = RUNNER_BUILT


@pytest.mark.parametrize("variant", ["lit", "d", "s"])
def test_converted_mlm_checkpoint_served_equals_official_math(tmp_path, variant):
    sd = official_bert(variant, seed=21)
    save_hf_bin(tmp_path / "hf", sd, hf_config(variant))
    proc = run_cli(tmp_path / "hf", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    lengths = [9, 5]
    ids = np.zeros((2, 9), np.int64)
    rng = np.random.default_rng(4)
    for b, n in enumerate(lengths):
        ids[b, :n] = rng.integers(0, V, n)
    for form, chunk in (("full", 64), ("chunk", 4), ("rnn", 64)):
        out = run_cpp(tmp_path / "out", {"input_ids": ids, "lengths": np.array(lengths)}, form, chunk,
                      tmp_path)
        for b, n in enumerate(lengths):
            want = official_bert_forward(sd, variant, ids[b], n)
            for key in ("hidden_states", "mlm_logits"):
                assert O.rel_err(out[key][b][:n], want[key][:n]) < 1e-5, (form, key)


@pytest.mark.parametrize("variant", ["d", "s"])
def test_converted_vision_checkpoint_served_equals_official_math(tmp_path, variant):
    sd = official_vit(variant, False, False, seed=12)
    mask_type = {"d": "Decay", "s": "Selective"}[variant]
    vision_checkpoint(tmp_path / "checkpoint.pth", sd, mask_type=mask_type, order="Normal",
                      pos_emb=False, cls_tok=False)
    proc = run_cli(tmp_path / "checkpoint.pth", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    images = np.random.default_rng(6).standard_normal((2, C, IMG, IMG)).astype(np.float32)
    for form, chunk in (("full", 64), ("chunk", 5), ("rnn", 64)):
        out = run_cpp(tmp_path / "out", {"pixel_values": images}, form, chunk, tmp_path)
        for b in range(2):
            want = official_vit_forward(sd, variant, False, images[b].astype(np.float64), False, None)
            for key, value in want.items():
                assert O.rel_err(out[key][b], value) < 1e-5, (form, key)
