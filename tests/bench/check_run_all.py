#!/usr/bin/env python3
"""CTest `bench_run_all_quick` (label slow): runs `bench/run_all --quick` into a
temporary folder and checks that the report names the machine and the
reproducing commands, has every comparison's section and table, and that each
figure it links is a real PNG of plausible size. Never checks a speed."""

import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[2]
SECTIONS = ["## Targets", "## 1. Attention core vs length", "## 2. LION vs softmax at equal size",
            "## 3. lion-serve vs a Python server", "## 4. Server efficiency", "## 5. Long documents",
            "## 6. Whole-model efficiency"]
FIGURES = {"core.png", "softmax_mini.png", "serving.png", "server_efficiency.png", "long.png",
           "efficiency.png"}


def check(out):
    failures = []
    report = (out / "report.md").read_text()
    for s in SECTIONS:
        if s not in report:
            failures.append(f"report.md has no section {s!r}")
    if not re.search(r"Machine: .*AVX-512 (yes|no)", report):
        failures.append("report.md does not name the machine and AVX-512")
    for part in ("core", "softmax", "serving", "long", "efficiency"):
        if f"Reproduce: `bench/run_all --quick --only {part}`" not in report:
            failures.append(f"no reproducing command for {part}")
    linked = set(re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report))
    if linked != FIGURES:
        failures.append(f"figures linked {sorted(linked)}, expected {sorted(FIGURES)}")
    import matplotlib.image
    for name in linked:
        png = out / name
        if not png.exists() or png.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
            failures.append(f"{name} is not a PNG file")
            continue
        h, w = matplotlib.image.imread(png).shape[:2]
        if w < 600 or h < 300 or png.stat().st_size < 10_000:
            failures.append(f"{name} is {w}x{h}, {png.stat().st_size} bytes: too small to be a plot")
    results = json.loads((out / "results.json").read_text())
    for key in ("machine", "core", "auto", "softmax", "serving", "long", "efficiency"):
        if not results.get(key):
            failures.append(f"results.json has no {key}")
    if results.get("targets_checked", 0) < 8:
        failures.append(f"report checked {results.get('targets_checked')} targets, expected >= 8")
    return failures


def main():
    with tempfile.TemporaryDirectory(prefix="lion-run-all-") as tmp:
        out = pathlib.Path(tmp) / "report"
        run = subprocess.run([str(REPO / "bench" / "run_all"), "--quick", "--no_build",
                              f"--out={out}"], capture_output=True, text=True, timeout=1400,
                             env=os.environ.copy())
        print(run.stderr[-6000:])
        if run.returncode != 0:
            print(f"bench/run_all --quick exited {run.returncode}\n{run.stdout[-3000:]}")
            return 1
        failures = check(out)
    for f in failures:
        print("FAILED:", f)
    print(f"{0 if failures else 1} passed, {1 if failures else 0} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
