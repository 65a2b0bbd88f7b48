"""lion-serve against changes to its model files, with the default models:

- weights are copied into the process at load, so truncating model.safetensors
  while serving (which killed a server holding a mapping of it with SIGBUS) or
  rewriting it in place as `cp` does (which changed what a mapping served)
  changes no answer and crashes nothing;
- config values out of bounds (image_size 100000 used to abort startup with an
  uncaught std::bad_alloc) and NaN weights stop startup with an error naming
  the field or tensor.
"""

import json
import os
import shutil
import subprocess

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from lion_server_harness import (DIGITS, LION_SERVE, MLM, MODELS, Server, digits_pixels,
                                 require_server_and_models, stubs)


@pytest.fixture(scope="module")
def pb(tmp_path_factory):
    require_server_and_models(DIGITS, MLM)
    return stubs(tmp_path_factory.mktemp("model_files"))


def copy_models(dest, *names):
    for name in names:
        shutil.copytree(MODELS / name, dest / name)
    return dest


def answers(pb, channel):
    """Every output kind of both models, as arrays (one request each)."""
    lion_pb2, lion_grpc = pb
    stub = lion_grpc.InferenceStub(channel)
    x, _ = digits_pixels(3)
    out = {}
    for i in range(3):
        image = lion_pb2.Image(pixels=lion_pb2.Tensor(shape=[1, 8, 8], data=x[i].ravel().tolist()))
        r = stub.Classify(lion_pb2.ClassifyRequest(model=DIGITS, image=image, raw_scores=True), timeout=60)
        out[f"digits{i}"] = np.array(sorted((p.index, p.score) for p in r.predictions))
    for text in ("a penny saved is a penny earned", "the early bird catches the worm"):
        r = stub.Embed(lion_pb2.EmbedRequest(model=MLM, text=text), timeout=60)
        out[f"embed {text}"] = np.array(r.embedding)
    r = stub.FillMask(lion_pb2.FillMaskRequest(model=MLM, text="the [MASK] of the story", top_k=5), timeout=60)
    out["fillmask"] = np.array([(c.id, c.score) for m in r.masks for c in m.candidates])
    return out


def assert_same(before, after):
    assert before.keys() == after.keys()
    for key in before:
        np.testing.assert_array_equal(after[key], before[key], err_msg=key)


def rewrite_in_place(path, data):
    """What `cp other path` does: open with O_TRUNC (same inode), then write."""
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def test_truncating_and_rewriting_weights_while_serving_changes_nothing(pb, tmp_path):
    repo = copy_models(tmp_path / "repo", DIGITS, MLM)
    weights = {name: repo / name / "model.safetensors" for name in (DIGITS, MLM)}
    originals = {name: path.read_bytes() for name, path in weights.items()}
    inodes = {name: path.stat().st_ino for name, path in weights.items()}
    with Server(repo, tmp_path / "calibration") as server:
        channel = grpc.insecure_channel(server.address)
        before = answers(pb, channel)

        for path in weights.values():
            os.truncate(path, 0)
        assert_same(before, answers(pb, channel))

        # Same header, every weight byte replaced: a mapping would now serve
        # zeros (the "embeddings became zeros").
        for name, path in weights.items():
            header_end = 8 + int.from_bytes(originals[name][:8], "little")
            rewrite_in_place(path, originals[name][:header_end] + bytes(len(originals[name]) - header_end))
        # And the other model's bytes, of another size.
        rewrite_in_place(weights[DIGITS], originals[MLM])
        assert {name: path.stat().st_ino for name, path in weights.items()} == inodes
        assert_same(before, answers(pb, channel))

        health = health_pb2_grpc.HealthStub(channel)
        assert health.Check(health_pb2.HealthCheckRequest(), timeout=10).status == \
            health_pb2.HealthCheckResponse.SERVING
        assert server.proc.poll() is None
        assert server.stop() == 0


def start_failing(repo, cal_dir):
    """Runs lion-serve on `repo`; returns (exit status, stderr) once it exits."""
    proc = subprocess.run([str(LION_SERVE), f"--model_repository={repo}", "--grpc_address=127.0.0.1:0",
                           "--metrics_address=127.0.0.1:0", f"--calibration_dir={cal_dir}"],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stderr


def test_image_size_out_of_bounds_is_a_clear_startup_error(pb, tmp_path):
    repo = copy_models(tmp_path / "repo", DIGITS)
    config_path = repo / DIGITS / "config.json"
    config = json.loads(config_path.read_text())
    config["image_size"] = 100000
    config_path.write_text(json.dumps(config))
    rc, err = start_failing(repo, tmp_path / "calibration")
    assert rc == 1, err
    assert '"image_size" is 100000, above the limit of 4096' in err
    assert "bad_alloc" not in err


def test_nan_weight_is_a_clear_startup_error(pb, tmp_path):
    repo = copy_models(tmp_path / "repo", MLM)
    path = repo / MLM / "model.safetensors"
    data = bytearray(path.read_bytes())
    header_len = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + header_len])
    name = "layers.1.ffn.fc2.weight"
    begin = 8 + header_len + header[name]["data_offsets"][0] + 4 * 17
    data[begin:begin + 4] = np.array([np.nan], np.float32).tobytes()
    path.write_bytes(bytes(data))
    rc, err = start_failing(repo, tmp_path / "calibration")
    assert rc == 1, err
    assert f"tensor '{name}' has 1 non-finite values" in err and "flat index 17: nan" in err
    assert "disagrees" not in err
