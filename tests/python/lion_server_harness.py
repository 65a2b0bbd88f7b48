"""Starts the real lion-serve for the test_server_* tests and generates the
lion.v1 Python stubs (grpcio-tools) into a temp dir.

The server binds 127.0.0.1 on ports it picks itself (port 0; the ports are read
from its "serving" log line). Every server is stopped by whoever started it.
"""

import importlib
import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

from conftest import BUILD_DIR, REPO_ROOT, require_built, require_tool

LION_SERVE = BUILD_DIR / "server" / "lion-serve"
MODELS = REPO_ROOT / "models"
DIGITS, MLM = "lion-digits", "lion-mlm-mini"


def require_server_and_models(*names):
    require_built(LION_SERVE, "lion-serve")
    for name in names:
        require_tool(f"default model {name} ({MODELS / name})", (MODELS / name / "config.json").exists(),
                     "the repository holds it; scripts/train_default_models remakes it")


_STUBS = {}


def stubs(tmp_root: pathlib.Path):
    """(lion_pb2, lion_pb2_grpc), generated once per process."""
    if "lion" not in _STUBS:
        from grpc_tools import protoc
        out = tmp_root / "lion_stubs"
        out.mkdir(parents=True, exist_ok=True)
        rc = protoc.main(["protoc", f"-I{REPO_ROOT / 'proto'}", f"--python_out={out}",
                          f"--grpc_python_out={out}", str(REPO_ROOT / "proto/lion/v1/lion.proto")])
        assert rc == 0, "protoc failed"
        sys.path.insert(0, str(out))
        _STUBS["lion"] = (importlib.import_module("lion.v1.lion_pb2"),
                          importlib.import_module("lion.v1.lion_pb2_grpc"))
    return _STUBS["lion"]


class Server:
    """One lion-serve process. Use as a context manager or call stop()."""

    def __init__(self, repository, calibration_dir, *flags, env=None, timeout=180, wait_for="serving"):
        """wait_for: the log message to wait for, "serving" (models ready) or
        "listening" (ports bound, models still loading)."""
        args = [str(LION_SERVE), f"--model_repository={repository}",
                "--grpc_address=127.0.0.1:0", "--metrics_address=127.0.0.1:0",
                "--http_address=127.0.0.1:0",
                f"--calibration_dir={calibration_dir}", *flags]
        self.lines = []
        self._serving = None
        self._wait_for = wait_for
        self._ready = threading.Event()
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, env={**os.environ, **(env or {})})
        threading.Thread(target=self._read, daemon=True).start()
        # The reader also wakes us when the process ends (its stderr closed).
        if not self._ready.wait(timeout) or self._serving is None or self.proc.poll() is not None:
            self.proc.kill()
            self.proc.wait(30)
            raise AssertionError(f"lion-serve did not log {wait_for}:\n" + "\n".join(self.lines))
        if self._serving.startswith("{"):
            fields = json.loads(self._serving)
        else:
            fields = dict(kv.split("=", 1) for kv in self._serving.split() if "=" in kv)
        self.grpc_port = int(fields["grpc_port"])
        self.metrics_port = int(fields["metrics_port"])
        self.http_port = int(fields["http_port"]) if fields.get("http_port", "off") != "off" else None
        self.address = f"127.0.0.1:{self.grpc_port}"

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line.rstrip())
            if f" {self._wait_for} " in line or f'"msg":"{self._wait_for}"' in line:
                self._serving = line
                self._ready.set()
        self._ready.set()

    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def metrics_text(port: int) -> str:
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return r.read().decode()


def digits_pixels(count: int):
    """sklearn's 8x8 digits, normalised as lion-digits' config says: (value/16 - mean)/std."""
    import json
    import numpy as np
    from sklearn.datasets import load_digits
    config = json.loads((MODELS / DIGITS / "config.json").read_text())
    data = load_digits()
    x = data.images[-count:].astype(np.float32) / 16.0
    x = (x - config["image_mean"][0]) / config["image_std"][0]
    return x.reshape(count, 1, 8, 8), data.target[-count:]


def wait_until(predicate, timeout=30.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()
