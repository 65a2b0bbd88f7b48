"""conftest.require_tool, the one place where a test that lacks a tool skips or
fails: a pytest run of its own (in a subprocess) over tests that lack a fake
tool fails them under LION_REQUIRE_TOOLS=1 and skips them otherwise, while a
GPU skip stays a skip either way."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent

PROBE = '''
import pytest
from conftest import require_built, require_command, require_module, require_tool, tool_mark

MISSING = "lion-test-no-such-tool"


def test_a_missing_command():
    require_command(MISSING, "a fake tool")


def test_a_missing_binary(tmp_path):
    require_built(tmp_path / MISSING, "a fake binary")


def test_a_missing_module():
    require_module("lion_test_no_such_module")


@tool_mark(MISSING, False, "a fake tool")
def test_a_missing_tool_by_mark():
    pass


def test_a_present_tool_passes():
    require_tool("python", True, "always there")
    require_command("python3")


@pytest.mark.skipif(True, reason="no GPU on this machine")
@tool_mark(MISSING, False, "a fake tool")
def test_a_gpu_skip_stays_a_skip():
    pass
'''


def run_probe(tmp_path, require):
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if k != "LION_REQUIRE_TOOLS"}
    if require:
        env["LION_REQUIRE_TOOLS"] = "1"
    # conftest.py of this folder loaded as a plugin: its hooks and helpers.
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider",
                          "-rfEs", "-q", "--rootdir", str(tmp_path), str(probe)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|skipped|errors?)", out.stdout)}
    return out.returncode, counts, out.stdout


def test_missing_tools_fail_when_required(tmp_path):
    code, counts, out = run_probe(tmp_path, require=True)
    assert code == 1, out
    # The mark's check runs at set-up: its failure is reported as an error.
    assert counts == {"failed": 3, "error": 1, "passed": 1, "skipped": 1}, out
    assert out.count("LION_REQUIRE_TOOLS=1") >= 4, out
    assert "lion-test-no-such-tool" in out and "lion_test_no_such_module" in out, out


def test_missing_tools_skip_with_their_reason_otherwise(tmp_path):
    code, counts, out = run_probe(tmp_path, require=False)
    assert code == 0, out
    assert counts == {"passed": 1, "skipped": 5}, out
    assert "command lion-test-no-such-tool is missing: a fake tool" in out, out
    assert "no GPU on this machine" in out, out


def test_the_suite_has_no_skip_outside_the_helper():
    """Every skip in tests/python goes through require_tool, except GPU ones."""
    allowed = {"conftest.py", "test_require_tool.py", "test_model_gpu.py", "test_server_gpu.py"}
    offenders = []
    for path in sorted(HERE.glob("*.py")):
        if path.name in allowed:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"pytest\.(skip|importorskip)\(|mark\.skipif|mark\.skip\b", line):
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert not offenders, "skips that bypass conftest.require_tool:\n" + "\n".join(offenders)
