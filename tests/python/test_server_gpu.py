"""lion-serve with --device=cuda.

Without a usable GPU (this build may still have the CUDA kernels), the server
must refuse --device=cuda at startup with a clear message: it exits before it
ever reports serving, instead of failing at the first request.

With a GPU: the same requests to a CUDA server (float32, then bfloat16) and to
a CPU server give the same answers (float32 to 1e-4 relative, bfloat16 to 3e-2),
and the server reports its device and GPU memory."""

import subprocess

import grpc
import numpy as np
import pytest

from conftest import gpu_count
from lion_server_harness import (DIGITS, LION_SERVE, MLM, MODELS, Server, digits_pixels,
                                 metrics_text, require_server_and_models, stubs)


def test_cuda_without_a_usable_gpu_fails_at_startup(tmp_path):
    require_server_and_models(MLM)
    if gpu_count() > 0:
        pytest.skip("this machine has a GPU: the startup refusal needs a machine without one")
    proc = subprocess.run([str(LION_SERVE), f"--model_repository={MODELS}", "--device=cuda",
                           "--grpc_address=127.0.0.1:0", "--metrics_address=127.0.0.1:0",
                           "--http_address=127.0.0.1:0",
                           f"--calibration_dir={tmp_path}"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "--device=cuda:0" in proc.stderr
    assert ("built without CUDA" in proc.stderr) or ("no usable CUDA device" in proc.stderr), proc.stderr
    assert " serving " not in proc.stderr  # refused before it ever served


def _requests(pb, count=24):
    texts = [" ".join(["the cat sat on the mat"] * (1 + i % 9)) for i in range(count)]
    embeds = [pb.EmbedRequest(model=MLM, id=str(i), text=t, return_token_embeddings=True)
              for i, t in enumerate(texts)]
    masks = [pb.FillMaskRequest(model=MLM, text=t + " [MASK] here", top_k=5) for t in texts[:6]]
    pixels, _ = digits_pixels(12)
    images = [pb.ClassifyRequest(model=DIGITS, top_k=10, image=pb.Image(
        pixels=pb.Tensor(shape=[1, 8, 8], data=x.ravel().tolist()))) for x in pixels]
    return embeds, masks, images


def _answers(server, pb, pb_grpc):
    channel = grpc.insecure_channel(server.address)
    inference = pb_grpc.InferenceStub(channel)
    embeds, masks, images = _requests(pb)
    out = {
        "embed": [np.array(inference.Embed(r).embedding) for r in embeds],
        "tokens": [np.array(inference.Embed(r).token_embeddings.data) for r in embeds[:4]],
        "mask": [[c.id for c in inference.FillMask(r).masks[0].candidates[:1]] for r in masks],
        "class": [np.array(sorted((p.index, p.score) for p in inference.Classify(r).predictions))
                  for r in images],
    }
    info = pb_grpc.ModelsStub(channel)
    out["info"] = info
    return out, channel


@pytest.mark.parametrize("dtype,tol", [("float32", 1e-4), ("bfloat16", 3e-2)])
def test_cuda_server_answers_like_the_cpu_server(tmp_path, dtype, tol):
    require_server_and_models(DIGITS, MLM)
    if gpu_count() == 0:
        pytest.skip("no GPU on this machine (nvidia-smi lists none)")
    pb, pb_grpc = stubs(tmp_path)
    with Server(MODELS, tmp_path / "cpu") as cpu_server, \
            Server(MODELS, tmp_path / "gpu", "--device=cuda:0", f"--dtype={dtype}") as gpu_server:
        cpu, c1 = _answers(cpu_server, pb, pb_grpc)
        gpu, c2 = _answers(gpu_server, pb, pb_grpc)
        for a, b in zip(gpu["embed"] + gpu["tokens"], cpu["embed"] + cpu["tokens"]):
            assert a.shape == b.shape
            assert np.abs(a - b).max() <= tol * max(np.abs(b).max(), 1e-30)
        for a, b in zip(gpu["class"], cpu["class"]):
            assert np.abs(a - b).max() <= tol
        if dtype == "float32":
            assert gpu["mask"] == cpu["mask"]
        described = gpu["info"].GetModel(pb.GetModelRequest(name=MLM))
        assert described.device == "cuda:0" and described.dtype == dtype
        metrics = metrics_text(gpu_server.metrics_port)
        assert 'lion_device_memory_bytes{device="cuda:0",kind="used"}' in metrics
        c1.close()
        c2.close()
