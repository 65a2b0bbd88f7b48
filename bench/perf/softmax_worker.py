"""One softmax Transformer (Hugging Face `transformers` BertModel, random
weights built from a config: nothing is downloaded) timed at each length in
this process; one JSON object a line on stdout. Run by bench/perf/softmax.py:

  python -m perf.softmax_worker '{"impl": "sdpa", "hidden": 128, ...}'

Per length: best seconds of `runs` forwards (stopping once `max_seconds`
passed), the resident set before the first forward and its peak during it
(VmHWM, reset first: the same measure as lion_forward_bench). A length whose
estimated attention memory exceeds `mem_limit` is skipped and says so, and
so is one whose time, extrapolated from the previous length (quadratically
from 2048 tokens on, linearly below), would exceed `cap_s` per forward."""

import json
import os
import pathlib
import sys
import time


def _status(field):
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def main(spec):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import BertConfig, BertModel

    torch.set_num_threads(spec["threads"])
    torch.manual_seed(0)
    config = BertConfig(vocab_size=spec["vocab"], hidden_size=spec["hidden"],
                        num_hidden_layers=spec["layers"], num_attention_heads=spec["heads"],
                        intermediate_size=spec["intermediate"],
                        max_position_embeddings=max(spec["lengths"]) + 2,
                        attn_implementation=spec["impl"])
    model = BertModel(config, add_pooling_layer=False).eval()
    with torch.inference_mode():
        model(torch.full((1, 64), 5, dtype=torch.long))          # warm-up
    print(json.dumps({"event": "start", "impl": model.config._attn_implementation,
                      "threads": torch.get_num_threads()}), flush=True)
    stop_reason = None
    prev = None
    for length in spec["lengths"]:
        if stop_reason is None and prev is not None:
            # below a few thousand tokens the dense layers and per-op costs
            # dominate, so only from there is the growth taken as quadratic
            predicted = prev[1] * (length / prev[0]) ** (2 if prev[0] >= 2048 else 1)
            if predicted > spec["cap_s"]:
                stop_reason = (f"about {predicted:.0f} s per forward extrapolated from L = {prev[0]} "
                               f"(over the {spec['cap_s']:g} s cap of this run)")
        # eager materialises scores, their softmax and the mask sum per layer call
        attn_bytes = (3 if spec["impl"] == "eager" else 0) * spec["heads"] * length * length * 4
        if stop_reason is None and attn_bytes > spec["mem_limit"]:
            stop_reason = f"estimated attention memory {attn_bytes / 2**30:.0f} GiB over the limit"
        if stop_reason is not None:
            print(json.dumps({"event": "skip", "length": length, "why": stop_reason}), flush=True)
            continue
        ids = torch.randint(5, spec["vocab"], (1, length))
        mask = torch.ones(1, length, dtype=torch.long)
        seconds = []
        pathlib.Path("/proc/self/clear_refs").write_text("5")
        before = _status("VmRSS")
        start = time.perf_counter()
        for r in range(spec["runs"]):
            t0 = time.perf_counter()
            with torch.inference_mode():
                out = model(input_ids=ids, attention_mask=mask).last_hidden_state
                out.mean(dim=1)
            seconds.append(time.perf_counter() - t0)
            if r == 0:
                peak = _status("VmHWM")
            del out
            if time.perf_counter() - start > spec["max_seconds"]:
                break
        best = min(seconds)
        print(json.dumps({"event": "length", "length": length, "best_s": best, "seconds": seconds,
                          "tokens_per_s": length / best, "rss_before": before, "peak_rss": peak}),
              flush=True)
        prev = (length, best)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
