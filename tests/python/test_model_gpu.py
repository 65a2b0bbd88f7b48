"""The C++ model on a GPU (lion-model-run ... DEVICE DTYPE) against the same
model on the CPU: both architectures x LIT/D/S x full/chunk/RNN, the two-order
vision variant and a padded text batch, in float32 (rel 1e-4: the CUDA kernels
and cuBLAS add their own float32 rounding to the CPU's), and in bfloat16 (rel
3e-2) through the chunk form (the kernel tests cover every form in bfloat16;
each GPU process pays the CUDA start-up). Skips without a GPU."""

import subprocess

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from conftest import gpu_count
from lionserve.golden import make_random_model_dir
from test_model_parity import RUNNER, RUNNER_BUILT, bert_inputs, rel_err

FORMS = [("full", 64), ("chunk", 3), ("rnn", 64)]
CASES = [
    ("lion_bert", "lit", {"use_position_embeddings": True}),
    ("lion_bert", "d", {}),
    ("lion_bert", "s", {}),
    ("lion_bert", "d", {"task": "classification", "has_pooler": True, "has_mlm_head": False}),
    ("lion_vit", "lit", {}),
    ("lion_vit", "d", {}),
    ("lion_vit", "s", {}),
    ("lion_vit", "s", {"order": "natural"}),
]


pytestmark = [
    RUNNER_BUILT,
    pytest.mark.skipif(gpu_count() == 0, reason="no GPU on this machine (nvidia-smi lists none)"),
]


def run(model_dir, inputs, form, chunk, device, dtype, tmp_path):
    src, dst = tmp_path / "in.safetensors", tmp_path / f"out-{device}-{dtype}.safetensors"
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in inputs.items()}, str(src))
    proc = subprocess.run([str(RUNNER), str(model_dir), str(src), str(dst), form, str(chunk), device, dtype],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return load_file(str(dst))


RUNS = [(form, chunk, "float32", 1e-4) for form, chunk in FORMS] + [("chunk", 3, "bfloat16", 3e-2)]


@pytest.mark.parametrize("arch,variant,overrides", CASES)
def test_gpu_model_equals_cpu_model(tmp_path, arch, variant, overrides):
    model_dir = tmp_path / "m"
    cfg = make_random_model_dir(model_dir, arch, variant, seed=3, **overrides)
    if arch == "lion_bert":
        lengths = [13, 7, 1]
        ids, _ = bert_inputs(cfg["vocab_size"], lengths, seed=5)
        inputs = {"input_ids": ids, "lengths": np.array(lengths)}
    else:
        rng = np.random.default_rng(9)
        side = cfg["image_size"]
        inputs = {"pixel_values": rng.standard_normal((2, cfg["num_channels"], side, side))}
    for form, chunk, dtype, tol in RUNS:
        cpu = run(model_dir, inputs, form, chunk, "cpu", "float32", tmp_path)
        gpu = run(model_dir, inputs, form, chunk, "cuda:0", dtype, tmp_path)
        assert sorted(cpu) == sorted(gpu)
        for name in cpu:
            err = rel_err(gpu[name], cpu[name])
            assert err <= tol, f"{arch} {variant} {form} {dtype} {name}: rel err {err:.2e}"
