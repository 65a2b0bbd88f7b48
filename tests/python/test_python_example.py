"""client/python/lion_example.py end to end: against the fake lion.v1 server
(always, once the C++ tests are built) and against the real lion-serve with
the default models (conftest.require_tool when lion-serve is not built)."""

import io
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import require_tool
from lion_client_helpers import (FAKE_SERVER, LION_SERVE, REPO_ROOT, UNAVAILABLE, free_port, require, start_fake_server,
                                 start_lion_serve, stop_fake_server, stop_lion_serve)

EXAMPLE = REPO_ROOT / "client" / "python" / "lion_example.py"


def run_example(address, *args, expect=0):
    proc = subprocess.run([sys.executable, str(EXAMPLE), f"--address={address}", "--json", *args],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == expect, proc.stderr
    return json.loads(proc.stdout) if expect == 0 else proc.stderr


def write_png(path, size):
    from PIL import Image
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(buf, format="PNG")
    path.write_bytes(buf.getvalue())


def test_example_against_fake_server(tmp_path):
    require(FAKE_SERVER, "fake_lion_server")
    proc, address = start_fake_server()
    try:
        image = tmp_path / "x.png"
        write_png(image, 8)
        out = run_example(address, f"--image={image}", "--text=hello there")
    finally:
        stop_fake_server(proc)
    assert out["classify"]["predictions"][0]["label"] == "cat"
    assert out["embed"]["embedding"] == [0.5, -1.0, 2.0] and out["embed"]["dim"] == 3


def test_example_server_down():
    err = run_example(f"127.0.0.1:{free_port()}", expect=UNAVAILABLE)
    assert "UNAVAILABLE" in err


def test_example_against_lion_serve(tmp_path):
    require(LION_SERVE, "lion-serve")
    models_dir = REPO_ROOT / "models"
    require_tool(f"default models in {models_dir}", any(models_dir.glob("*/config.json")),
                 "the repository holds them; scripts/train_default_models remakes them")
    proc, address = start_lion_serve(models_dir, tmp_path / "lion-serve.log")
    try:
        image = tmp_path / "x.png"
        write_png(image, 32)
        out = run_example(address, f"--image={image}", "--text=a short sentence")
    finally:
        stop_lion_serve(proc)
    preds = out["classify"]["predictions"]
    assert preds and all(0 <= p["score"] <= 1 for p in preds)
    emb = np.array(out["embed"]["embedding"])
    assert out["embed"]["dim"] == emb.size > 0
    assert np.linalg.norm(emb) == pytest.approx(1.0, abs=1e-4)  # the example asks for normalize
