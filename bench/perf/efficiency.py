"""Comparison 6: whole-model efficiency. FLOPs of one forward counted from
the layer shapes (config.json: the q, k, v, output and FFN GEMMs, the S decay
projection, plus the attention core's count from docs/lion-math.md section 5,
the least of the three forms, as lion_forward_bench reports it) over the measured time, as a fraction of the
sgemm rate measured in the same process around each length. lion-mlm-mini
and a LION-D BERT of BERT-base width (random weights), full and chunk
forms, alternating round by round."""

import json

from . import common


def forward_flops(config, row):
    """FLOPs of one forward of `row`'s batch (embedding lookups and pooling,
    a few FLOPs per element, are left out)."""
    D, F, H = config["hidden_size"], config["intermediate_size"], config["num_heads"]
    tokens = row["tokens"]
    per_token = 2 * (4 * D * D + 2 * D * F) + (2 * D * H if config["variant"] == "s" else 0)
    # the least work of the three forms: a form that spends more (the full
    # form's L^2 at long L) does not count as more efficient
    attention = H * row["attention_flops_min_per_head"] * row["batch"]
    return config["num_layers"] * (tokens * per_token + attention)


def run(cfg, model_dirs, log):
    best = {}
    for r in range(cfg.rounds):
        for name, model_dir in model_dirs.items():
            config = json.loads((model_dir / "config.json").read_text())
            for form in ("full", "chunk"):
                log(f"efficiency: round {r + 1}/{cfg.rounds}, {name}, {form} form")
                rows = common.run_json_lines([common.FORWARD_BENCH, f"--model_dir={model_dir}",
                                              "--lengths=" + ",".join(map(str, cfg.eff_lengths)),
                                              f"--form={form}", f"--runs={cfg.eff_runs}",
                                              "--max_seconds=20"])
                for row in rows:
                    if row["event"] != "length":
                        continue
                    flops = forward_flops(config, row)
                    row.update(model=name, flops=flops, GFLOPS=flops / row["best_s"] * 1e-9)
                    row["fraction"] = row["GFLOPS"] / row["sgemm_GFLOPS"]
                    key = (name, form, row["length"])
                    if key not in best or row["fraction"] > best[key]["fraction"]:
                        best[key] = row
    return sorted(best.values(), key=lambda x: (x["model"], x["length"], x["form"]))
