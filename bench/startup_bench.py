"""Start-up time of lion-serve per model and phase (load, warm-up, calibration)
and to SERVING, for two builds on one model repository: BEFORE (a lion-serve
built from an older commit, optional) with an empty calibration folder, then
AFTER with an empty folder (cold) and again with the folder it filled (warm).
Prints markdown tables with the limits each start chose.

  python bench/startup_bench.py REPOSITORY OUT_DIR [--before PATH] [--after PATH]
      [--threads N]

Phase times of AFTER come from its "model started" lines; BEFORE logged one
line per phase ("model loaded", "model warmed up", "calibrated"), so its phase
times are the gaps between the arrival times of those lines.
"""

import argparse
import pathlib
import shutil
import signal
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
LIMITS = ("full_max_tokens", "chunk_size", "rnn_min_tokens", "single_full_max_tokens",
          "single_rnn_min_tokens")


def fields(line):
    return dict(kv.split("=", 1) for kv in line.split() if "=" in kv)


def run(binary, repository, cache, threads):
    """Starts lion-serve, returns [(seconds since start, line)] up to "serving"."""
    args = [str(binary), f"--model_repository={repository}", "--grpc_address=127.0.0.1:0",
            "--metrics_address=127.0.0.1:0", f"--calibration_dir={cache}"]
    if threads:
        args.append(f"--threads={threads}")
    start = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stderr:
        lines.append((time.monotonic() - start, line.rstrip()))
        if " serving " in line or " ERROR " in line:
            break
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=120)
    return lines


def phases(lines):
    """{model: {phase seconds, calibration source, limits}} and the time to serving."""
    models, last = {}, 0.0
    serving = None
    for t, line in lines:
        f = fields(line)
        if " model started " in line:  # one line with every phase
            models[f["model"]] = {"load": float(f["load_s"]), "warmup": float(f["warmup_s"]),
                                  "calibration": float(f["calibration_s"]),
                                  "source": f["calibration"], **{k: f[k] for k in LIMITS}}
        elif " model loaded " in line:
            models[f["model"]] = {"load": t - last}
        elif " model warmed up " in line:
            models[f["model"]]["warmup"] = t - last
        elif " calibrated " in line or " calibration loaded " in line:
            m = models[f["model"]]
            m["calibration"] = t - last
            m["source"] = "computed" if " calibrated " in line else "cached"
            m.update({k: f[k] for k in LIMITS if k in f})
        elif " serving " in line:
            serving = t
        elif " ERROR " in line:
            raise RuntimeError(line)
        last = t
    return models, serving


def table(title, models, serving):
    print(f"\n### {title}: SERVING after {serving:.1f} s\n")
    print("| model | load s | warm-up s | calibration s | calibration | full_max | chunk | rnn_min |"
          " single full_max | single rnn_min |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, m in sorted(models.items()):
        limits = " | ".join(str(m.get(k, "-")) for k in LIMITS)
        print(f"| {name} | {m['load']:.2f} | {m['warmup']:.2f} | {m['calibration']:.2f} |"
              f" {m['source']} | {limits} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repository", type=pathlib.Path)
    parser.add_argument("out", type=pathlib.Path)
    parser.add_argument("--before", type=pathlib.Path)
    parser.add_argument("--after", type=pathlib.Path, default=ROOT / "build/server/lion-serve")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    runs = []
    if args.before:
        runs.append(("before (whole-model calibration, empty cache)", args.before, "before"))
    runs += [("after (attention-core calibration, empty cache)", args.after, "after"),
             ("after, cache filled by the run above", args.after, "after")]
    fresh = set()
    for title, binary, cache_name in runs:
        cache = args.out / cache_name
        if cache_name not in fresh:
            shutil.rmtree(cache, ignore_errors=True)
            fresh.add(cache_name)
        models, serving = phases(run(binary, args.repository, cache, args.threads))
        table(title, models, serving)


if __name__ == "__main__":
    main()
