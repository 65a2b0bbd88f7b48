"""Helpers for the lion-client tests: find binaries, run the CLI, start servers.

Binaries come from $LION_BUILD_DIR (default <repo>/build). Every server binds
127.0.0.1 on a free port and is stopped by the fixture that started it.
"""

import json
import pathlib
import socket
import subprocess
import time

from conftest import BUILD_DIR, REPO_ROOT, require_built

LION_CLIENT = BUILD_DIR / "client" / "lion-client"
LION_SERVE = BUILD_DIR / "server" / "lion-serve"
FAKE_SERVER = BUILD_DIR / "tests" / "client" / "fake_lion_server"

# Exit statuses of lion-client (gRPC codes, and 64 for a bad command line).
OK, INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, UNAVAILABLE, USAGE = 0, 3, 5, 9, 14, 64


def require(binary: pathlib.Path, what: str) -> None:
    require_built(binary, what)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cli:
    """Runs lion-client against one address."""

    def __init__(self, address: str):
        self.address = address

    def run(self, *args: str, timeout: float = 60):
        """Returns (exit status, stdout, stderr)."""
        cmd = [str(LION_CLIENT), *args[:1], f"--address={self.address}", *args[1:]]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        return proc.returncode, proc.stdout, proc.stderr

    def json(self, *args: str, expect: int = OK, timeout: float = 60):
        """Runs with --json, checks the exit status and parses stdout."""
        rc, out, err = self.run(*args, "--json", timeout=timeout)
        assert rc == expect, f"lion-client {' '.join(args)} exited {rc}, wanted {expect}\nstdout: {out}\nstderr: {err}"
        return json.loads(out)


def start_fake_server(delay_us: int = 0, fail_every: int = 0):
    """Starts tests/client/fake_lion_server; returns (process, address)."""
    require(FAKE_SERVER, "fake_lion_server")
    proc = subprocess.Popen([str(FAKE_SERVER), str(delay_us), str(fail_every)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    address = proc.stdout.readline().strip()
    assert address.startswith("127.0.0.1:"), f"fake server printed {address!r}"
    return proc, address


def stop_fake_server(proc) -> None:
    proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start_lion_serve(model_repository: pathlib.Path, log_path: pathlib.Path, ready_timeout_s: float = 300):
    """Starts the real server on free loopback ports and waits until its health
    check says SERVING (bounded); returns (process, address)."""
    require(LION_SERVE, "lion-serve")
    require(LION_CLIENT, "lion-client")
    address = f"127.0.0.1:{free_port()}"
    log = open(log_path, "w")
    proc = subprocess.Popen([str(LION_SERVE), f"--model_repository={model_repository}", f"--grpc_address={address}",
                             f"--metrics_address=127.0.0.1:{free_port()}", "--http_address="],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    cli = Cli(address)
    deadline = time.monotonic() + ready_timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"lion-serve exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        if cli.run("health", "--retries=1", "--deadline_ms=2000")[0] == OK:
            return proc, address
        time.sleep(0.5)
    proc.kill()
    raise AssertionError(f"lion-serve not SERVING after {ready_timeout_s}s:\n{log_path.read_text()[-4000:]}")


def stop_lion_serve(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
