"""bench/run_all's driver: runs the six comparisons (sections 1-6 of the report
that report.py writes), keeps every raw result in results.json and writes
report.md with its plots.

  bench/run_all [--quick] [--out DIR] [--only core,softmax,serving,long,efficiency]
  bench/run_all --report_only --out DIR     (re-plot results.json)
"""

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

from . import common, core, efficiency, longdoc, profile, report, serving, softmax

POW2 = [2 ** i for i in range(6, 17)]  # 64 .. 65536
PARTS = ["core", "softmax", "serving", "long", "efficiency"]


class Config:
    def __init__(self, quick):
        self.quick = quick
        self.threads = os.cpu_count()
        self.rounds = 1 if quick else 2
        # 1. attention core
        self.core_lengths = [64, 128, 512, 2048] if quick else POW2
        self.core_full_max = 2048 if quick else 16384
        self.target_lengths = [128, 2048] if quick else [128, 2048, 8192, 32768]
        self.core_min_time = 0.02 if quick else 0.3
        # 2. LION vs softmax
        self.softmax_shapes = ["mini"] if quick else ["mini", "base"]
        self.lion_lengths = [128, 512, 2048] if quick else [128, 512, 2048, 8192, 32768, 131072]
        self.softmax_lengths = [128, 512, 2048] if quick else [128, 512, 2048, 8192, 16384, 32768]
        self.softmax_cap_s = 5 if quick else 15
        # 3, 4. serving
        self.levels = [1, 8, 64]
        self.serve_seconds = 1.0 if quick else 6.0
        self.warmup_s = 0.3 if quick else 1.0
        self.serve_rounds = 1 if quick else 3
        self.pyserve_flags = ["--max_batch_size=32", "--max_delay_ms=2"]
        # 5. long documents
        self.doc_lengths = [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
        # 6. whole-model efficiency
        self.eff_lengths = [128, 512] if quick else [128, 512, 4096]
        self.eff_runs = 2 if quick else 5
        self.eff_models = ["lion-mlm-mini"] if quick else ["lion-mlm-mini", "base"]

    def lion_lengths_for(self, shape):
        # BERT-base width: 131072 tokens would take minutes per forward here
        return [n for n in self.lion_lengths if shape == "mini" or n <= 32768]


def _profiles(results, work, log):
    """perf profiles of the cases behind missed targets (full runs and
    --profile_only): the report shows where their time goes."""
    found = {}
    missed = {t["id"] for t in report.targets(results) if t["met"] is False}
    data = work / "perf"
    data.mkdir(parents=True, exist_ok=True)

    def attention(name, form, variant, length, batch):
        env = {**os.environ, "LION_BENCH_LENGTHS": str(length), "LION_BENCH_BATCHES": str(batch),
               "LION_BENCH_MIN_TIME": "3"}
        log(f"profile: {name}")
        found[name] = profile.profile_command(
            [common.ATTENTION_BENCH, f"--benchmark_filter=BM_LionAttention/form:{form}/"
             f"variant:{variant}/B:{batch}/L:{length}/"], data / f"{form}_{length}.data", env=env)

    if "kernel_chunk" in missed:
        attention("attention core, chunk form, LION-D, B = 1, L = 8192", 2, 1, 8192, 1)
    if "kernel_full128" in missed:
        attention("attention core, full form, LION-D, B = 8, L = 128", 1, 1, 128, 8)
    if any(m.startswith("eff_") for m in missed):
        log("profile: lion_forward_bench, lion-mlm-mini, L = 512, chunk form")
        found["lion-mlm-mini forward, L = 512, chunk form"] = profile.profile_command(
            [common.FORWARD_BENCH, f"--model_dir={common.MODELS / common.MLM}", "--lengths=512",
             "--form=chunk", "--runs=400", "--max_seconds=8"], data / "eff.data")
    if missed & {"long_linear", "long_time", "long_mem"}:
        log("profile: lion_forward_bench, lion-mlm-mini, 1M tokens, rnn form")
        found["lion-mlm-mini forward, 1,000,000 tokens, rnn form"] = profile.profile_command(
            [common.FORWARD_BENCH, f"--model_dir={common.MODELS / common.MLM}",
             "--lengths=1000000", "--form=rnn", "--runs=1"], data / "long.data")
    for shape in ("mini", "base"):
        if not any(m.startswith("softmax_") and m.endswith(f"_{shape}") for m in missed):
            continue
        log(f"profile: lion_forward_bench, {shape} shape, L = 8192, chunk form")
        model_dir = softmax.make_lion_dir(shape, work / f"lion-{shape}-profile")
        found[f"LION {shape} shape forward, L = 8192, chunk form"] = profile.profile_command(
            [common.FORWARD_BENCH, f"--model_dir={model_dir}", "--lengths=8192",
             "--form=chunk", "--runs=20", "--max_seconds=8"], data / f"softmax_{shape}.data")
    if missed & {"ceiling", "serve_tput", "serve_p99"}:
        log("profile: lion-serve under concurrency 64")
        texts = work / "profile-texts.txt"
        texts.write_text("\n".join(" ".join(["word"] * 120) for _ in range(64)) + "\n")
        with common.LionServe(common.MODELS, work / "profile", name="lion-serve-profile") as server:
            load = subprocess.Popen([str(common.LION_CLIENT), "bench", f"--address={server.address}",
                                     f"--model={common.MLM}", "--method=embed", "--concurrency=64",
                                     "--duration_s=8", "--warmup_s=0.5", "--progress=false",
                                     f"--length=file:{texts}"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
            found["lion-serve at concurrency 64"] = profile.profile_pid(
                server.pid, 6, data / "serving.data")
            load.wait(120)
    return found


def main(argv):
    ap = argparse.ArgumentParser(prog="bench/run_all", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short run (about 2 minutes)")
    ap.add_argument("--out", help="default: bench/report, bench/report/quick for --quick, "
                    "bench/report/<parts> for --only")
    ap.add_argument("--only", default=",".join(PARTS))
    ap.add_argument("--report_only", action="store_true")
    ap.add_argument("--profile_only", action="store_true",
                    help="profile the missed targets of DIR/results.json and rewrite the report")
    ap.add_argument("--no_profile", action="store_true")
    ap.add_argument("--keep_work", action="store_true", help="keep logs and raw files")
    args = ap.parse_args(argv)
    parts = [p for p in PARTS if p in args.only.split(",")]
    if not args.out:  # a quick or partial run never replaces the full run's report
        sub = ["quick"] if args.quick else []
        sub += [] if parts == PARTS else ["-".join(parts)]
        args.out = str(common.REPO / "bench" / "report" / "-".join(sub)) if sub else str(
            common.REPO / "bench" / "report")
    out = pathlib.Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    if args.report_only:
        report.write(json.loads(results_path.read_text()), out)
        return 0
    if args.profile_only:
        results = json.loads(results_path.read_text())
        work = pathlib.Path(tempfile.mkdtemp(prefix="lion-run-all-"))
        try:
            results["profiles"] = _profiles(results, work, common.Log())
        finally:
            shutil.rmtree(work, ignore_errors=True)
        results_path.write_text(json.dumps(results, indent=1, default=str))
        report.write(results, out)
        return 0
    cfg = Config(args.quick)
    only = set(args.only.split(","))
    # servers' logs, calibrations, generated model directories, raw bench files
    work = pathlib.Path(tempfile.mkdtemp(prefix="lion-run-all-"))
    try:
        return _run(cfg, only, args, out, work)
    finally:
        if args.keep_work:
            print(f"work files kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def _run(cfg, only, args, out, work):
    results_path = out / "results.json"
    log = common.Log()
    command = "bench/run_all" + (" --quick" if args.quick else "")
    results = {"machine": common.machine(), "command": command, "quick": args.quick,
               "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    log(f"machine: {results['machine']['cpu']}, {results['machine']['cores']} cores, "
        f"AVX-512 {'yes' if results['machine']['avx512'] else 'no'}")
    t0 = time.monotonic()
    if "core" in only:
        results["core"] = core.run(cfg, work, log)
    if only & {"core", "long"}:
        long_server = common.LionServe(common.MODELS, work / "long", "--max_input_tokens=1000002",
                                       "--max_message_bytes=33554432", name="lion-serve-long")
        try:
            if "core" in only:
                results["auto"] = core.auto_choice(long_server, work, cfg.core_lengths, log)
            if "long" in only:
                results["long"] = longdoc.run(cfg, long_server, work, log)
        finally:
            long_server.stop()
    if "softmax" in only:
        results["softmax"] = softmax.run(cfg, work, log)
    if "serving" in only:
        results["serving"] = serving.run(cfg, work, log)
    if "efficiency" in only:
        dirs = {"lion-mlm-mini": common.MODELS / common.MLM}
        if "base" in cfg.eff_models:
            dirs["base"] = softmax.make_lion_dir("base", work / "lion-base")
        results["efficiency"] = efficiency.run(cfg, dirs, log)
    results["seconds"] = time.monotonic() - t0
    results["load"] = {"min": min(log.loads), "max": max(log.loads),
                       "mean": sum(log.loads) / len(log.loads)}
    if not args.quick and not args.no_profile:
        results["profiles"] = _profiles(results, work, log)
    results["targets_checked"] = len(report.targets(results))
    results_path.write_text(json.dumps(results, indent=1, default=str))
    report.write(results, out)
    log(f"report: {out / 'report.md'} ({results['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
