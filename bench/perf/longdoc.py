"""Comparison 5: one long document embedded exactly (no truncation, no
windows) through lion-serve: 10k, 100k and 1,000,000 tokens of lion-mlm-mini,
the lengths alternating round by round. Per request: wall time at the client,
the server's compute time and form (Usage), and the server's peak resident
set during the request (VmHWM, reset just before). The same lengths through
the model alone (lion_forward_bench, in the form lion-serve chose) show what
the server adds."""

import time

from . import common


def _one(server, stub, pb2, length, rng):
    ids = [2] + rng.integers(5, 6000, length - 2).tolist() + [3]
    request = pb2.EmbedRequest(model=common.MLM, id=f"doc{length}", token_ids=pb2.TokenIds(ids=ids))
    common.reset_peak_rss(server.pid)
    before = common.rss(server.pid)
    t0 = time.perf_counter()
    r = stub.Embed(request, timeout=1800)
    wall = time.perf_counter() - t0
    names = {pb2.FORM_FULL: "full", pb2.FORM_CHUNK: "chunk", pb2.FORM_RNN: "rnn"}
    assert r.usage.input_tokens == length and len(r.embedding) == 128
    return {"length": length, "wall_s": wall, "compute_s": r.usage.compute_us / 1e6,
            "form": names.get(r.usage.form, str(r.usage.form)), "rss_before": before,
            "peak_rss": common.peak_rss(server.pid)}


def run(cfg, server, tmp_dir, log):
    import numpy as np
    pb2, pb2_grpc = common.stubs(tmp_dir)
    stub = pb2_grpc.InferenceStub(common.channel(server.address))
    rng = np.random.default_rng(5)
    served, alone = {}, {}
    for r in range(cfg.rounds):
        for length in cfg.doc_lengths:
            log(f"long: round {r + 1}/{cfg.rounds}, {length} tokens through lion-serve")
            row = _one(server, stub, pb2, length, rng)
            if length not in served or row["wall_s"] < served[length]["wall_s"]:
                served[length] = row
        for length in cfg.doc_lengths:  # the form lion-serve chose for that length
            form = served[length]["form"]
            log(f"long: round {r + 1}, {length} tokens, the model alone ({form} form)")
            for row in common.run_json_lines([common.FORWARD_BENCH,
                                              f"--model_dir={common.MODELS / common.MLM}",
                                              f"--lengths={length}", f"--form={form}", "--runs=1"]):
                if row["event"] == "length" and (length not in alone or
                                                 row["best_s"] < alone[length]["best_s"]):
                    alone[length] = row
    return {"served": [served[k] for k in sorted(served)],
            "alone": [alone[k] for k in sorted(alone)]}
