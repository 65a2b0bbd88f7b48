"""lion-client end to end against the fake lion.v1 server (tests/client):
every subcommand, --json parsed back, .npy output, exit codes, bench JSON.
Runs without the real server; test_client_cli.py does the same against lion-serve."""

import numpy as np
import pytest

from lion_client_helpers import (FAILED_PRECONDITION, INVALID_ARGUMENT, LION_CLIENT, NOT_FOUND, OK, UNAVAILABLE, USAGE,
                                 Cli, free_port, require, start_fake_server, stop_fake_server)


@pytest.fixture(scope="module")
def cli():
    require(LION_CLIENT, "lion-client")
    proc, address = start_fake_server(delay_us=1000, fail_every=0)
    yield Cli(address)
    stop_fake_server(proc)


def test_help_lists_commands_and_exit_codes():
    require(LION_CLIENT, "lion-client")
    rc, out, _ = Cli("unused").run("--help")
    assert rc == OK
    for word in ("models", "classify", "embed", "fill-mask", "tokenize", "health", "bench", "UNAVAILABLE"):
        assert word in out
    rc, out, _ = Cli("unused").run("bench", "--help")
    assert rc == OK and "--concurrency" in out and "--rate" in out


def test_usage_errors_exit_64(cli):
    assert cli.run("frobnicate")[0] == USAGE
    assert cli.run("models", "--no_such_flag")[0] == USAGE
    assert cli.run("health", "--text=x")[0] == USAGE  # --text does not apply to health


def test_models(cli):
    listed = cli.json("models")
    assert [m["name"] for m in listed["models"]] == ["fake"]
    assert cli.json("models", "--model=fake")["name"] == "fake"
    err = cli.json("models", "--model=nope", expect=NOT_FOUND)
    assert err["error"] == {"code": NOT_FOUND, "name": "NOT_FOUND", "message": "model 'nope' not found"}


def test_classify_fill_mask_tokenize(cli):
    out = cli.json("classify", "--text=hello")
    assert out["predictions"][0]["label"] == "cat"
    assert out["usage"]["total_us"] == "1000"  # uint64 is a string in proto JSON
    assert cli.json("fill-mask", "--text=a [MASK]")["masks"][0]["candidates"][0]["token"] == "paris"
    assert cli.json("tokenize", "--text=hi")["tokens"] == ["[CLS]"]
    rc, out, _ = cli.run("classify", "--ids=1,2,3")
    assert rc == OK and "cat" in out


def test_embed_outputs(cli, tmp_path):
    assert cli.json("embed", "--text=hi")["embedding"] == [0.5, -1.0, 2.0]
    rc, out, _ = cli.run("embed", "--text=hi")
    assert rc == OK and out.split() == ["0.5", "-1", "2"]
    npy = tmp_path / "v.npy"
    assert cli.run("embed", "--text=hi", f"--out={npy}")[0] == OK
    v = np.load(npy)
    assert v.dtype == np.float32 and v.tolist() == [0.5, -1.0, 2.0]


def test_local_errors_use_grpc_codes(cli, tmp_path):
    assert cli.json("embed", expect=INVALID_ARGUMENT)["error"]["code"] == INVALID_ARGUMENT  # no input
    assert cli.run("embed", "--text=x", "--form=sideways")[0] == INVALID_ARGUMENT
    assert cli.run("classify", f"--image={tmp_path / 'missing.png'}")[0] == NOT_FOUND
    assert cli.run("embed", "--text=x", "--model=other")[0] == NOT_FOUND


def test_health(cli):
    assert cli.json("health") == {"service": "", "status": "SERVING"}
    assert cli.run("health", "--service=no.such.Service")[0] == NOT_FOUND


def test_server_down_is_unavailable():
    require(LION_CLIENT, "lion-client")
    down = Cli(f"127.0.0.1:{free_port()}")
    rc, _, err = down.run("models", "--retries=1")
    assert rc == UNAVAILABLE, err
    assert down.json("health", "--retries=1", expect=UNAVAILABLE)["error"]["name"] == "UNAVAILABLE"


def test_bench_sweep_json(cli):
    out = cli.json("bench", "--concurrency=1,4", "--requests=100", "--warmup_s=0.1", "--duration_s=10",
                   "--length=uniform:4:32", "--progress=false")
    assert [r["level"] for r in out["results"]] == [1, 4]
    for r in out["results"]:
        assert r["mode"] == "concurrency"
        assert r["sent"] == r["completed"] == 100
        assert r["codes"] == {"OK": 100}
        lat = r["latency_ms"]
        assert 1.0 <= lat["p50"] <= lat["p90"] <= lat["p95"] <= lat["p99"] <= lat["max"]
        assert r["server_us"] == {"responses": 100, "queue": 500.0, "compute": 500.0, "total": 1000.0}


def test_bench_rate_counts_error_codes():
    require(LION_CLIENT, "lion-client")
    proc, address = start_fake_server(delay_us=2000, fail_every=4)
    try:
        out = Cli(address).json("bench", "--rate=100", "--requests=80", "--warmup_s=0", "--method=classify",
                                "--progress=false")
    finally:
        stop_fake_server(proc)
    (r,) = out["results"]
    assert r["mode"] == "rate" and r["sent"] == 80
    assert r["codes"] == {"OK": 60, "RESOURCE_EXHAUSTED": 20}
    assert r["throughput_rps"] == pytest.approx(100, rel=0.1)


def test_bench_table_and_progress(cli):
    rc, out, err = cli.run("bench", "--concurrency=2", "--requests=0", "--duration_s=1.2", "--warmup_s=0")
    assert rc == OK
    assert "p99 ms" in out and "conc=2" in out
    assert "[bench]" in err and "rate=" in err  # at least one progress line
    rc, _, err = cli.run("bench", "--concurrency=2", "--rate=5")
    assert rc == INVALID_ARGUMENT, err


def test_exit_code_constants_match_grpc():
    import grpc
    assert INVALID_ARGUMENT == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert NOT_FOUND == grpc.StatusCode.NOT_FOUND.value[0]
    assert FAILED_PRECONDITION == grpc.StatusCode.FAILED_PRECONDITION.value[0]
    assert UNAVAILABLE == grpc.StatusCode.UNAVAILABLE.value[0]
