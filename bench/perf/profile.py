"""Where the time goes, for a target the run missed: `perf record` with the
software cpu-clock event (this VM exposes no hardware counters: `perf stat -e
instructions` says "not supported"), summarised as the top symbols with their
shared object. Returns None where perf is missing or refused."""

import shutil
import subprocess


def _report(data, top):
    out = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--no-children",
                          "--sort", "dso,sym", "--percent-limit", "0.5"],
                         capture_output=True, text=True, timeout=600)
    rows = []
    for line in out.stdout.splitlines():
        parts = line.split()
        if not parts or line.startswith("#") or not parts[0].endswith("%"):
            continue
        pct = float(parts[0].rstrip("%"))
        dso = parts[1]
        sym = " ".join(p for p in parts[2:] if p not in ("[.]", "[k]"))
        rows.append({"pct": pct, "dso": dso, "symbol": sym[:90]})
    return rows[:top] or None


def profile_command(cmd, data, top=15, env=None):
    """Profiles a whole command (its children too)."""
    if shutil.which("perf") is None:
        return None
    done = subprocess.run(["perf", "record", "-e", "cpu-clock", "-F", "499", "-q", "-o", str(data),
                           "--", *map(str, cmd)], capture_output=True, text=True, timeout=1800,
                          env=env)
    return _report(data, top) if done.returncode == 0 else None


def profile_pid(pid, seconds, data, top=15):
    """Profiles a running process for `seconds` (start its load first)."""
    if shutil.which("perf") is None:
        return None
    done = subprocess.run(["perf", "record", "-e", "cpu-clock", "-F", "499", "-q", "-o", str(data),
                           "-p", str(pid), "--", "sleep", str(seconds)],
                          capture_output=True, text=True, timeout=seconds + 600)
    return _report(data, top) if done.returncode == 0 else None
