"""What every comparison of bench/run_all shares: paths, the machine, the
processes it starts (lion-serve, the Python baseline server, the benches) and
the load generator. Every process started here is stopped by whoever started
it; servers bind 127.0.0.1 on ports they pick themselves."""

import importlib
import json
import os
import pathlib
import platform
import signal
import subprocess
import sys
import threading
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("LION_BUILD_DIR", REPO / "build"))
MODELS = REPO / "models"
PY = sys.executable
LION_SERVE = BUILD / "server" / "lion-serve"
LION_CLIENT = BUILD / "client" / "lion-client"
ATTENTION_BENCH = BUILD / "bench" / "lion_attention_bench"
MODEL_BENCH = BUILD / "bench" / "lion_model_bench"
FORWARD_BENCH = BUILD / "bench" / "lion_forward_bench"
PYSERVE = REPO / "bench" / "pyserve" / "lion_pyserve.py"
MLM, DIGITS = "lion-mlm-mini", "lion-digits"


def load_average():
    return float(pathlib.Path("/proc/loadavg").read_text().split()[0])


def machine():
    """CPU model, AVX-512, cores, memory and software of this run."""
    cpu = {}
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        key, _, value = line.partition(":")
        cpu.setdefault(key.strip(), value.strip())
    mem_kb = next(int(line.split()[1]) for line in pathlib.Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    import torch
    try:
        sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        sha = ""
    flags = cpu.get("flags", "").split()
    return {"cpu": cpu.get("model name", platform.processor()), "cores": os.cpu_count(),
            "avx512": "avx512f" in flags, "avx2": "avx2" in flags,
            "mem_gib": round(mem_kb / 2**20, 1), "kernel": platform.release(),
            "torch": torch.__version__, "python": platform.python_version(), "git": sha,
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


def run_json_lines(cmd, env=None, timeout=3600):
    """Runs a bench that prints one JSON object a line; returns them."""
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, **(env or {})})
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def peak_rss(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def rss(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def reset_peak_rss(pid):
    """VmHWM back to the current resident set (needs the rights to ptrace pid)."""
    pathlib.Path(f"/proc/{pid}/clear_refs").write_text("5")


class Process:
    """A server process whose stderr is read until it logs that it serves."""

    def __init__(self, args, ready, log, timeout=600, env=None):
        self.lines = []
        self._ready_text = ready
        self._ready = threading.Event()
        self._line = None
        self.log = log
        self.proc = subprocess.Popen([str(a) for a in args], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(timeout) or self._line is None or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError(f"{args[0]} did not log that it serves:\n" + "\n".join(self.lines[-40:]))

    def _read(self):
        with open(self.log, "w") as log:
            for line in self.proc.stderr:
                log.write(line)
                self.lines.append(line.rstrip())
                if self._line is None and self._ready_text(line):
                    self._line = line
                    self._ready.set()
        self._ready.set()

    @property
    def pid(self):
        return self.proc.pid

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class LionServe(Process):
    def __init__(self, repository, workdir, *flags, name="lion-serve", calibration_dir=None):
        workdir.mkdir(parents=True, exist_ok=True)
        calibration_dir = calibration_dir or workdir / "calibration"
        args = [LION_SERVE, f"--model_repository={repository}", "--grpc_address=127.0.0.1:0",
                "--metrics_address=127.0.0.1:0", "--http_address=",  # HTTP: not measured here
                f"--calibration_dir={calibration_dir}", *flags]
        super().__init__(args, lambda line: " serving " in line or '"msg":"serving"' in line,
                         workdir / f"{name}.log")
        line = self._line
        fields = (json.loads(line) if line.lstrip().startswith("{")
                  else dict(kv.split("=", 1) for kv in line.split() if "=" in kv))
        self.address = f"127.0.0.1:{int(fields['grpc_port'])}"


class PyServe(Process):
    def __init__(self, model_dir, workdir, *flags):
        workdir.mkdir(parents=True, exist_ok=True)
        super().__init__([PY, PYSERVE, f"--model_dir={model_dir}", "--port=0", *flags],
                         lambda line: line.startswith("serving port="), workdir / "pyserve.log")
        self.address = f"127.0.0.1:{int(self._line.split('=')[1])}"
        self.form = next((l.split()[1] for l in self.lines if l.startswith("form ")), "?")


def client_bench(address, model, *flags, method="embed", timeout=900):
    """`lion-client bench --json`: one result per concurrency level."""
    out = subprocess.run([str(LION_CLIENT), "bench", f"--address={address}", f"--model={model}",
                          f"--method={method}", "--json", "--progress=false", *flags],
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"lion-client bench against {address} failed:\n{out.stdout[-2000:]}"
                           f"{out.stderr[-2000:]}")
    return json.loads(out.stdout)["results"]


_STUBS = {}


def stubs(tmp_dir):
    """(lion_pb2, lion_pb2_grpc), generated from proto/ once per process."""
    if "lion" not in _STUBS:
        from grpc_tools import protoc
        out = pathlib.Path(tmp_dir) / "lion_stubs"
        out.mkdir(parents=True, exist_ok=True)
        rc = protoc.main(["protoc", f"-I{REPO / 'proto'}", f"--python_out={out}",
                          f"--grpc_python_out={out}", str(REPO / "proto/lion/v1/lion.proto")])
        if rc != 0:
            raise RuntimeError("protoc failed")
        sys.path.insert(0, str(out))
        _STUBS["lion"] = (importlib.import_module("lion.v1.lion_pb2"),
                          importlib.import_module("lion.v1.lion_pb2_grpc"))
    return _STUBS["lion"]


def channel(address):
    import grpc
    return grpc.insecure_channel(address, options=[("grpc.max_send_message_length", 64 << 20),
                                                   ("grpc.max_receive_message_length", 64 << 20)])


class Log:
    """Progress on stderr, with the load average of the moment."""

    def __init__(self):
        self.t0 = time.monotonic()
        self.loads = []

    def __call__(self, msg):
        load = load_average()
        self.loads.append(load)
        print(f"[run_all {time.monotonic() - self.t0:6.0f}s load {load:4.1f}] {msg}",
              file=sys.stderr, flush=True)
