"""Comparison 1: the attention core against length, every form and variant
(lion_attention_bench, one process per form and round, forms interleaved
round by round), the kernel targets (chunk form at B = 8, full form at
L = 128), and the AUTO choice of a running lion-serve for a lone request of
each length."""

import json
import re

from . import common

FORMS = {1: "full", 2: "chunk", 3: "rnn"}
VARIANTS = {0: "lit", 1: "d", 2: "s"}
_NAME = re.compile(r"form:(\d)/variant:(\d)/B:(\d+)/L:(\d+)")


def _run_form(out_dir, form, env, filt, tag):
    path = out_dir / f"attention_{tag}_form{form}.json"
    cmd = [common.ATTENTION_BENCH, f"--benchmark_filter={filt}", "--benchmark_format=json",
           f"--benchmark_out={path}", "--benchmark_out_format=json"]
    import os
    import subprocess
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=3600,
                          env={**os.environ, **env})
    if done.returncode != 0:
        raise RuntimeError(f"lion_attention_bench failed:\n{done.stderr[-2000:]}")
    data = json.loads(path.read_text())
    cases = []
    for b in data["benchmarks"]:
        m = _NAME.search(b["name"])
        if m is None or b.get("error_occurred"):
            continue
        f, v, batch, length = map(int, m.groups())
        cases.append({"form": FORMS[f], "variant": VARIANTS[v], "B": batch, "L": length,
                      "ms": b["real_time"], "GFLOPS": b["GFLOPS"], "sgemm": b["sgemm_GFLOPS"],
                      "peak_MB": b["peak_extra_MB"]})
    return cases


def run(cfg, out_dir, log):
    """Best of cfg.rounds per case (highest GFLOP/s, as scripts/bench_report)."""
    lengths = ",".join(map(str, cfg.core_lengths))
    sweep_env = {"LION_BENCH_LENGTHS": lengths, "LION_BENCH_BATCHES": "1",
                 "LION_BENCH_FULL_MAX_L": str(cfg.core_full_max),
                 "LION_BENCH_MIN_TIME": str(cfg.core_min_time)}
    target_env = {**sweep_env, "LION_BENCH_LENGTHS": ",".join(map(str, cfg.target_lengths)),
                  "LION_BENCH_BATCHES": "8", "LION_BENCH_FULL_MAX_L": "128"}
    best = {}
    for r in range(cfg.rounds):
        for form in (1, 2, 3):
            log(f"core: round {r + 1}/{cfg.rounds}, {FORMS[form]} form, L = {lengths}")
            cases = _run_form(out_dir, form, sweep_env, f"BM_LionAttention/form:{form}/", f"r{r}")
            if form in (1, 2):  # the kernel targets: chunk at B = 8, full at L = 128
                log(f"core: round {r + 1}, {FORMS[form]} form at B = 8")
                cases += _run_form(out_dir, form, target_env,
                                   f"BM_LionAttention/form:{form}/variant:./B:8/", f"r{r}_b8")
            for c in cases:
                key = (c["form"], c["variant"], c["B"], c["L"])
                if key not in best or c["GFLOPS"] > best[key]["GFLOPS"]:
                    best[key] = c
    return sorted(best.values(), key=lambda c: (c["B"], c["form"], c["variant"], c["L"]))


def auto_choice(server, tmp_dir, lengths, log):
    """lion-serve's form policy for lion-mlm-mini (GetModel) and the form its
    Usage reports for one request of each length (token ids, AUTO)."""
    import numpy as np
    pb2, pb2_grpc = common.stubs(tmp_dir)
    ch = common.channel(server.address)
    info = pb2_grpc.ModelsStub(ch).GetModel(pb2.GetModelRequest(name=common.MLM), timeout=60)
    stub = pb2_grpc.InferenceStub(ch)
    rng = np.random.default_rng(1)
    names = {pb2.FORM_FULL: "full", pb2.FORM_CHUNK: "chunk", pb2.FORM_RNN: "rnn"}
    chosen = {}
    for length in lengths:
        ids = [2] + rng.integers(5, 6000, length - 2).tolist() + [3]
        r = stub.Embed(pb2.EmbedRequest(model=common.MLM, token_ids=pb2.TokenIds(ids=ids)),
                       timeout=600)
        chosen[length] = names.get(r.usage.form, str(r.usage.form))
    log(f"core: lion-serve AUTO for lion-mlm-mini: {chosen}")
    p = info.form_policy
    return {"policy": {"full_max_tokens": p.full_max_tokens, "chunk_size": p.chunk_size,
                       "rnn_min_tokens": p.rnn_min_tokens,
                       "memory_budget_bytes": p.memory_budget_bytes},
            "chosen": chosen}
