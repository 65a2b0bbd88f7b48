"""Start-up calibration through the real lion-serve: the attention core is
timed once per cache key and the result is shared. A repository of three
generated models with one head shape (other depths and MLP widths) calibrates
once: one start-up line says calibration=computed, the other two cached, all
three name the same cache file, and lion_model_load_seconds has calibration
time for one model only. Also: --calibrate_only writes the cache and exits 0
without serving; an unreadable cache file is ignored with a warning and
rewritten; without --calibration_dir the cache goes to the user's cache
folder, never into the model directories."""

import os
import re
import subprocess

import pytest

from conftest import require_built
from lion_server_harness import LION_SERVE, Server, metrics_text

# Short climbs keep each calibration to about a second.
FLAGS = ("--max_input_tokens=512",)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    require_built(LION_SERVE, "lion-serve")
    from lionserve.golden import make_random_model_dir
    root = tmp_path_factory.mktemp("three_models")
    for i, (layers, mlp) in enumerate([(1, 64), (3, 96), (2, 128)]):
        make_random_model_dir(root / f"m{i}", "lion_bert", "d", seed=i, hidden_size=32,
                              num_heads=4, num_layers=layers, intermediate_size=mlp)
    return root


def fields(line):
    return dict(kv.split("=", 1) for kv in line.split() if "=" in kv)


def startup_lines(lines, message="model started"):
    found = [fields(l) for l in lines if f" INFO {message} " in l]
    return {f["model"]: f for f in found}


def load_seconds(text, phase):
    pattern = re.compile(r'^lion_model_load_seconds\{model="([^"]+)",phase="' + phase + r'"\} (\S+)$')
    return {m.group(1): float(m.group(2)) for m in map(pattern.match, text.splitlines()) if m}


def tree(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_three_models_with_one_head_shape_calibrate_once(repo, tmp_path):
    cache = tmp_path / "cache"
    before = tree(repo)
    with Server(repo, cache, *FLAGS) as server:
        started = startup_lines(server.lines)
        text = metrics_text(server.metrics_port)
    assert sorted(started) == ["m0", "m1", "m2"]
    # Models start in name order: the first computes, the others find its file.
    assert [started[m]["calibration"] for m in ("m0", "m1", "m2")] == ["computed", "cached", "cached"]
    assert len({f["cache"] for f in started.values()}) == 1
    assert [p.name for p in cache.iterdir()] == [os.path.basename(started["m0"]["cache"])]
    for f in started.values():  # one line per model with every phase's time
        assert {"load_s", "warmup_s", "calibration_s", "full_max_tokens", "chunk_size"} <= set(f)
    assert float(started["m0"]["calibration_s"]) > 0
    assert started["m1"]["calibration_s"] == started["m2"]["calibration_s"] == "0.000"
    calibration = load_seconds(text, "calibration")
    assert calibration["m0"] > 0 and calibration["m1"] == calibration["m2"] == 0
    assert set(load_seconds(text, "load")) == set(load_seconds(text, "warmup")) == {"m0", "m1", "m2"}
    assert tree(repo) == before  # nothing written next to the models
    # A restart finds every model's limits in the cache.
    with Server(repo, cache, *FLAGS) as server:
        again = startup_lines(server.lines)
    assert {f["calibration"] for f in again.values()} == {"cached"}
    for key in ("full_max_tokens", "rnn_min_tokens", "chunk_size", "single_rnn_min_tokens"):
        assert again["m2"][key] == started["m0"][key]


def test_calibrate_only_writes_the_cache_and_exits_without_serving(repo, tmp_path):
    cache = tmp_path / "baked"
    out = subprocess.run([str(LION_SERVE), f"--model_repository={repo}", "--calibrate_only",
                          f"--calibration_dir={cache}", *FLAGS],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stderr.splitlines()
    calibrated = startup_lines(lines, "model calibrated")
    assert sorted(f["calibration"] for f in calibrated.values()) == ["cached", "cached", "computed"]
    assert any(" calibration done " in l for l in lines)
    assert not any(" listening " in l or " serving " in l for l in lines)
    assert len(list(cache.iterdir())) == 1
    with Server(repo, cache, *FLAGS) as server:
        assert {f["calibration"] for f in startup_lines(server.lines).values()} == {"cached"}


def test_unreadable_cache_is_ignored_with_a_warning_and_rewritten(repo, tmp_path):
    cache = tmp_path / "cache"
    with Server(repo, cache, *FLAGS):
        pass
    (path,) = cache.iterdir()
    path.write_text('{"key": ')
    with Server(repo, cache, *FLAGS) as server:
        started = startup_lines(server.lines)
        warnings = [l for l in server.lines if " WARN " in l]
    assert len(warnings) == 1 and "calibration cache ignored" in warnings[0] and str(path) in warnings[0]
    assert [started[m]["calibration"] for m in ("m0", "m1", "m2")] == ["computed", "cached", "cached"]
    assert '"calibration"' in path.read_text()


def test_default_cache_is_the_users_cache_folder(repo, tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    out = subprocess.run([str(LION_SERVE), f"--model_repository={repo}", "--calibrate_only", *FLAGS],
                         capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    assert len(list((tmp_path / "xdg" / "lion-serve" / "calibration").glob("*.json"))) == 1


def test_help_documents_calibrate_only():
    require_built(LION_SERVE, "lion-serve")
    out = subprocess.run([str(LION_SERVE), "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0
    assert "--calibrate_only" in out.stdout and "LION_CALIBRATE_ONLY" in out.stdout
    assert "--calibration_dir" in out.stdout and ".cache/lion-serve/calibration" in out.stdout
