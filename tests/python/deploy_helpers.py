"""Shared by the deploy tests (test_deploy_*.py): the tools they run and the
deploy files they read.

A tool that scripts/setup installs (docker-compose, kubectl, promtool,
prometheus; hadolint and kubernetes-validate from requirements.txt) must be
there: `tool` and `python_module` go through conftest.require_tool, so with
LION_REQUIRE_TOOLS=1 (scripts/test sets it) a missing one fails the test, and
otherwise it skips with the reason.
"""

import pathlib
import re
import subprocess

from conftest import REPO_ROOT
from conftest import require_command as tool  # noqa: F401 (the deploy tests' name for it)
from conftest import require_module as python_module

DEPLOY = REPO_ROOT / "deploy"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"


def run(args, **kw):
    """Runs a command; returns CompletedProcess (text), never raises on exit status."""
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120, **kw)


def load_yaml_all(path_or_text):
    yaml = python_module("yaml")
    text = path_or_text.read_text() if isinstance(path_or_text, pathlib.Path) else path_or_text
    return [d for d in yaml.safe_load_all(text) if d is not None]


# ---- Dockerfile --------------------------------------------------------------

def dockerfile_instructions(path=DOCKERFILE):
    """[(INSTRUCTION, argument text)] with continuation lines joined, comments dropped."""
    out, cur = [], ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not cur and (not stripped or stripped.startswith("#")):
            continue
        if cur and stripped.startswith("#"):
            continue
        cur += (" " if cur else "") + stripped
        if cur.endswith("\\"):
            cur = cur[:-1].rstrip()
            continue
        word, _, rest = cur.partition(" ")
        out.append((word.upper(), rest.strip()))
        cur = ""
    return out


def runtime_stage(instructions):
    """The instructions of the last stage (what the image runs)."""
    starts = [i for i, (w, _) in enumerate(instructions) if w == "FROM"]
    return instructions[starts[-1]:]


def parse_env(argument: str) -> dict:
    """ENV a=b c="d e" (the key=value form)."""
    import shlex
    env = {}
    for item in shlex.split(argument):
        key, eq, value = item.partition("=")
        assert eq, f"ENV in the legacy 'ENV key value' form: {argument}"
        env[key] = value
    return env


def image_config(path=DOCKERFILE):
    """ENTRYPOINT, CMD (lists), ENV (dict), HEALTHCHECK CMD (list), USER of the runtime stage."""
    import json
    config = {"entrypoint": [], "cmd": [], "env": {}, "healthcheck": None, "user": None}
    for word, arg in runtime_stage(dockerfile_instructions(path)):
        if word == "ENTRYPOINT":
            config["entrypoint"] = json.loads(arg)
        elif word == "CMD":
            config["cmd"] = json.loads(arg)
        elif word == "ENV":
            config["env"].update(parse_env(arg))
        elif word == "USER":
            config["user"] = arg
        elif word == "HEALTHCHECK":
            cmd = re.search(r"\bCMD\s+(\[.*\])\s*$", arg)
            assert cmd, f"HEALTHCHECK without an exec-form CMD: {arg}"
            config["healthcheck"] = json.loads(cmd.group(1))
    return config


# ---- lion-serve flags --------------------------------------------------------

def server_flags(lion_serve: pathlib.Path) -> set:
    """The flag names lion-serve --help lists (each is also env LION_<NAME>)."""
    help_text = run([lion_serve, "--help"]).stdout + run([lion_serve, "--help"]).stderr
    flags = set(re.findall(r"^\s+--([a-z_]+)\s", help_text, re.M))
    assert "model_repository" in flags, f"cannot read flags from lion-serve --help:\n{help_text}"
    return flags


def unknown_lion_env(env: dict, flags: set) -> list:
    """LION_* names in env that are no lion-serve flag (a typo is silently ignored)."""
    return sorted(k for k in env if k.startswith("LION_") and k[len("LION_"):].lower() not in flags)
