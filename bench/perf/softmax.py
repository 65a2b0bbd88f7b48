"""Comparison 2: a LION model against a softmax Transformer of the same width
and depth. LION: a LION-D BERT in lion-serve's C++ model (lion_forward_bench,
chunk form), random weights written as a model directory; softmax: Hugging
Face BertModel with SDPA attention, and with eager attention (the L x L
scores materialised), random weights from a config. Competitors alternate
round by round; each length keeps its best round."""

import json
import shutil

from . import common

SHAPES = {
    # the shipped lion-mlm-mini's shape (the checkpoint of comparisons 3 and 4)
    "mini": {"hidden": 128, "layers": 2, "heads": 4, "intermediate": 512},
    # BERT-base width and heads, two layers
    "base": {"hidden": 768, "layers": 2, "heads": 12, "intermediate": 3072},
}
VOCAB = 6000


def make_lion_dir(shape, path):
    """A LION-D BERT model directory of `shape` with random weights."""
    import sys
    sys.path.insert(0, str(common.REPO / "python"))
    import torch
    from lionserve.config import make_config
    from lionserve.models import build_model, read_vocab, save_model_dir

    s = SHAPES[shape]
    cfg = make_config("lion_bert", "d", hidden_size=s["hidden"], num_layers=s["layers"],
                      num_heads=s["heads"], intermediate_size=s["intermediate"],
                      vocab_size=VOCAB, pooling="mean")
    torch.manual_seed(0)
    model = build_model(cfg)
    model.init_weights()
    if path.exists():
        shutil.rmtree(path)
    save_model_dir(model, cfg, str(path), vocab=read_vocab(str(common.MODELS / common.MLM)))
    return path


def _lion(model_dir, lengths, cfg):
    rows = common.run_json_lines([common.FORWARD_BENCH, f"--model_dir={model_dir}",
                                  "--lengths=" + ",".join(map(str, lengths)), "--form=chunk",
                                  "--runs=3", "--max_seconds=1.5"])
    return [r for r in rows if r["event"] == "length"]


def _softmax(impl, shape, lengths, cfg):
    # several runs only where one is short: long ones are repeated by the rounds
    spec = {"impl": impl, "vocab": VOCAB, "lengths": lengths, "runs": 3, "threads": cfg.threads,
            "max_seconds": 1.5, "cap_s": cfg.softmax_cap_s,
            "mem_limit": 16 << 30, **SHAPES[shape]}
    rows = common.run_json_lines([common.PY, "-m", "perf.softmax_worker", json.dumps(spec)],
                                 env={"PYTHONPATH": str(common.REPO / "bench")})
    return [r for r in rows if r["event"] in ("length", "skip")]


def run(cfg, out_dir, log):
    results = {}
    for shape in cfg.softmax_shapes:
        model_dir = make_lion_dir(shape, out_dir / f"lion-{shape}")
        best = {"lion": {}, "sdpa": {}, "eager": {}}
        for r in range(cfg.rounds):
            for who in best:
                log(f"softmax: {shape} shape, round {r + 1}/{cfg.rounds}, {who}")
                rows = (_lion(model_dir, cfg.lion_lengths_for(shape), cfg) if who == "lion"
                        else _softmax(who, shape, cfg.softmax_lengths, cfg))
                for row in rows:
                    old = best[who].get(row["length"])
                    if old is None or old.get("event") == "skip" or (
                            row["event"] == "length" and row["best_s"] < old["best_s"]):
                        best[who][row["length"]] = row
        results[shape] = {"shape": SHAPES[shape],
                          "rows": {who: [best[who][k] for k in sorted(best[who])] for who in best}}
    return results
