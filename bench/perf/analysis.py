"""The numbers the report states, derived from results.json: per-round ratios
(each from one round of one run), their medians, and each target of
BENCHMARKS.md checked against them (met True/False, or None when the run did
not measure it)."""

import math
import statistics

GIB = 2 ** 30


def median(xs):
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    return statistics.median(xs) if xs else float("nan")


def slope(rows, key_x, key_y):
    """log-log slope between the two largest x of rows (growth exponent)."""
    pts = sorted((r[key_x], r[key_y]) for r in rows if r[key_y] > 0)
    if len(pts) < 2:
        return float("nan")
    (x0, y0), (x1, y1) = pts[-2], pts[-1]
    return math.log(y1 / y0) / math.log(x1 / x0)


def extra_mb(row):
    return max(row["peak_rss"] - row["rss_before"], 0) / 2 ** 20


def softmax_table(shape_result):
    """Per length: LION, SDPA and eager seconds and peak extra MB, ratios."""
    rows = shape_result["rows"]
    by = {who: {r["length"]: r for r in rows[who]} for who in rows}
    table = []
    for length in sorted(set().union(*[set(v) for v in by.values()])):
        cell = {"length": length}
        for who in ("lion", "sdpa", "eager"):
            r = by[who].get(length)
            if r is None or r.get("event") == "skip":
                cell[who] = None
                cell[who + "_why"] = r["why"] if r else "not run"
            else:
                cell[who] = r["best_s"]
                cell[who + "_mb"] = extra_mb(r)
        for who in ("sdpa", "eager"):
            cell[who + "_ratio"] = (cell[who] / cell["lion"] if cell["lion"] and cell[who]
                                    else None)
        table.append(cell)
    return table


def serving_rows(serving):
    """Per level: medians over rounds and the per-round ratios."""
    out = []
    for level in sorted({int(k.split("/")[1]) for k in serving["rounds"][0]["serve"]}):
        lion = [r["serve"][f"lion-serve/{level}"] for r in serving["rounds"]]
        py = [r["serve"][f"python/{level}"] for r in serving["rounds"]]
        ratios = [a["ok_throughput_rps"] / max(b["ok_throughput_rps"], 1e-9) for a, b in zip(lion, py)]
        out.append({
            "level": level,
            "lion_rps": median([a["ok_throughput_rps"] for a in lion]),
            "py_rps": median([b["ok_throughput_rps"] for b in py]),
            "lion_p50": median([a["latency_ms"]["p50"] for a in lion]),
            "lion_p99": median([a["latency_ms"]["p99"] for a in lion]),
            "py_p50": median([b["latency_ms"]["p50"] for b in py]),
            "py_p99": median([b["latency_ms"]["p99"] for b in py]),
            "p99_lower_every_round": all(a["latency_ms"]["p99"] < b["latency_ms"]["p99"]
                                         for a, b in zip(lion, py)),
            "ratios": ratios, "ratio": median(ratios),
            "errors": sum(a["completed"] - a["codes"].get("OK", 0) for a in lion + py)})
    return out


def ceiling_rows(serving):
    """Per round: served tokens/s at concurrency 64 over the best in-process batch."""
    out = []
    tokens = serving["tokens"]
    for r in serving["rounds"]:
        served = r["serve"]["lion-serve/64"]["ok_throughput_rps"] * tokens
        ceiling = {int(k): v for k, v in r["ceiling"].items()}
        best_batch = max(ceiling, key=ceiling.get)
        out.append({"served": served, "ceiling": ceiling[best_batch], "best_batch": best_batch,
                    "ceiling_all": ceiling, "fraction": served / ceiling[best_batch]})
    return out


def digits_rows(serving):
    return [{"batching": r["digits"]["batching"]["ok_throughput_rps"],
             "single": r["digits"]["batch=1"]["ok_throughput_rps"],
             "ratio": r["digits"]["batching"]["ok_throughput_rps"]
             / max(r["digits"]["batch=1"]["ok_throughput_rps"], 1e-9)} for r in serving["rounds"]]


def kernel_targets(core):
    chunk = [c for c in core if c["form"] == "chunk" and c["variant"] in ("d", "s") and c["L"] >= 2048]
    full128 = [c for c in core if c["form"] == "full" and c["L"] == 128]
    pct = lambda c: 100 * c["GFLOPS"] / c["sgemm"]  # noqa: E731
    return {"chunk": chunk, "chunk_min": min(map(pct, chunk)) if chunk else float("nan"),
            "chunk_below": [c for c in chunk if pct(c) < 50],
            "full128": full128, "full128_pcts": [pct(c) for c in full128]}


def targets(results):
    """Every target of the issue, checked."""
    t = []

    def add(id_, name, value, met):
        t.append({"id": id_, "name": name, "value": value, "met": met})

    if "core" in results:
        k = kernel_targets(results["core"])
        if k["chunk"]:
            add("kernel_chunk", "chunk form, LION-D and LION-S, >= 50% of sgemm at every L >= 2048",
                f"lowest {k['chunk_min']:.0f}% ({len(k['chunk_below'])} of {len(k['chunk'])} cases "
                "below 50%)", not k["chunk_below"])
        if k["full128"]:
            lo, hi = min(k["full128_pcts"]), max(k["full128_pcts"])
            add("kernel_full128", "full form at L = 128 (>= 40% of sgemm, the bar set for L = 512)",
                f"{lo:.0f}-{hi:.0f}% of sgemm", lo >= 40)
    for shape, res in results.get("softmax", {}).items():
        tab = softmax_table(res)
        both = [c for c in tab if c["length"] >= 2048 and c["lion"] and c["sdpa"]]
        if both:
            add(f"softmax_2048_{shape}", f"[{shape}] LION faster than softmax (SDPA) at every L >= 2048",
                ", ".join("%.1fx at %d" % (c["sdpa_ratio"], c["length"]) for c in both),
                all(c["sdpa_ratio"] > 1 for c in both))
        at = next((c for c in tab if c["length"] == 8192 and c["lion"] and c["sdpa"]), None)
        if at:
            add(f"softmax_8192_{shape}", f"[{shape}] LION >= 5x faster than softmax (SDPA) at L = 8192",
                f"{at['sdpa_ratio']:.1f}x (eager: "
                f"{(str(round(at['eager_ratio'], 1)) + 'x') if at['eager_ratio'] else 'not run'})",
                at["sdpa_ratio"] >= 5)
        rows = res["rows"]
        meas = lambda who: [r for r in rows[who] if r.get("event") != "skip"]  # noqa: E731
        lion_s = slope([dict(r, mb=extra_mb(r)) for r in meas("lion")], "length", "mb")
        eager_s = slope([dict(r, mb=extra_mb(r)) for r in meas("eager")], "length", "mb")
        sdpa_s = slope([dict(r, mb=extra_mb(r)) for r in meas("sdpa")], "length", "mb")
        add(f"softmax_mem_{shape}", f"[{shape}] softmax memory quadratic beside LION's linear "
            "(log-log slope of peak extra memory over the two longest L)",
            f"eager {eager_s:.2f}, SDPA {sdpa_s:.2f}, LION {lion_s:.2f}",
            None if math.isnan(eager_s) or math.isnan(lion_s) else (eager_s > 1.6 and lion_s < 1.3))
    if "serving" in results:
        rows = serving_rows(results["serving"])
        at64 = next(r for r in rows if r["level"] == 64)
        add("serve_tput", "lion-serve >= 2x the Python server's throughput at concurrency 64",
            f"{at64['ratio']:.2f}x (rounds: {', '.join(f'{x:.2f}' for x in at64['ratios'])})",
            at64["ratio"] >= 2)
        add("serve_p99", "lion-serve's p99 lower at every concurrency",
            ", ".join("c=%d: %.1f vs %.1f ms" % (r["level"], r["lion_p99"], r["py_p99"]) for r in rows),
            all(r["p99_lower_every_round"] for r in rows))
        ceil = ceiling_rows(results["serving"])
        add("ceiling", "served tokens/s at concurrency 64 >= 85% of the in-process ceiling",
            f"{100 * median([c['fraction'] for c in ceil]):.0f}% (rounds: "
            + ", ".join("%.0f%%" % (100 * c["fraction"]) for c in ceil) + ")",
            median([c["fraction"] for c in ceil]) >= 0.85)
        dig = digits_rows(results["serving"])
        add("digits", "lion-digits: batching >= 2x --max_batch_size=1 at concurrency 64",
            f"{median([d['ratio'] for d in dig]):.2f}x (rounds: "
            + ", ".join("%.2f" % d["ratio"] for d in dig) + ")",
            median([d["ratio"] for d in dig]) >= 2)
    if "long" in results:
        served = {r["length"]: r for r in results["long"]["served"]}
        lo, hi = min(served), max(served)
        tps = lambda r: r["length"] / r["wall_s"]  # noqa: E731
        add("long_linear", f"tokens/s at {hi:,} tokens within 20% of {lo:,}",
            f"{tps(served[hi]):,.0f} vs {tps(served[lo]):,.0f} tokens/s "
            f"({tps(served[hi]) / tps(served[lo]):.2f}x)", tps(served[hi]) >= 0.8 * tps(served[lo]))
        if 1_000_000 in served:
            r = served[1_000_000]
            add("long_time", "1M tokens in under 2 minutes", f"{r['wall_s']:.1f} s", r["wall_s"] < 120)
            add("long_mem", "1M tokens under 2 GB peak resident memory (lion-serve's whole process)",
                f"{r['peak_rss'] / 1e9:.2f} GB", r["peak_rss"] < 2e9)
    for model in sorted({r["model"] for r in results.get("efficiency", [])}):
        rows = [r for r in results["efficiency"] if r["model"] == model and r["length"] >= 512]
        best = {}
        for r in rows:
            if r["length"] not in best or r["fraction"] > best[r["length"]]["fraction"]:
                best[r["length"]] = r
        add(f"eff_{model}", f"[{model}] forward FLOP rate >= 60% of sgemm from L = 512",
            ", ".join("%.0f%% at %d (%s)" % (100 * b["fraction"], n, b["form"])
                      for n, b in sorted(best.items())),
            all(b["fraction"] >= 0.6 for b in best.values()) if best else None)
    return t
