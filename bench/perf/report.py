"""report.md from results.json: the targets first, then one section per
comparison with its figure, its table and the command that reproduces it."""

from . import analysis, plots

targets = analysis.targets
MARK = {True: "**met**", False: "**missed**", None: "not measured"}


def _only(results, part):
    return f"{results['command']} --only {part}"


def _core(results, out, md):
    cmd = _only(results, "core")
    md += ["## 1. Attention core vs length", "", f"![attention core]({plots.core(results, out, cmd)})", "",
           f"Reproduce: `{cmd}`. `lion_attention_bench`, one process per form and round, "
           "forms interleaved round by round, best round per case; B = 1, H = 6, d = 64, "
           "chunk C = 64, normalised attention. The full form stops where one call would take "
           "minutes. % of sgemm is against the sgemm rate measured in the same process just "
           "before and after the case.", ""]
    auto = results.get("auto")
    if auto:
        p = auto["policy"]
        md += [f"lion-serve's calibrated form policy for lion-mlm-mini in this run (GetModel): full "
               f"form up to {p['full_max_tokens']} tokens, chunk size {p['chunk_size']}, RNN from "
               f"{p['rnn_min_tokens'] or 'never (memory only)'}, memory budget "
               f"{p['memory_budget_bytes'] / 2**30:.1f} GiB. The form its Usage reported for one "
               "request of each length (AUTO; the strip along the top of the time plot): "
               + ", ".join(f"{k}: {v}" for k, v in auto["chosen"].items())
               + ". Those thresholds are the model's (H = 4, d = 32, whole forwards), "
               "marked here beside the core at d = 64.", ""]
    md += ["| form | variant | B | L | ms | GFLOP/s | sgemm GFLOP/s | % of sgemm | peak extra MB |",
           "|---|---|---|---|---|---|---|---|---|"]
    for c in results["core"]:
        md.append(f"| {c['form']} | {c['variant']} | {c['B']} | {c['L']} | {c['ms']:.3f} | "
                  f"{c['GFLOPS']:.1f} | {c['sgemm']:.1f} | {100 * c['GFLOPS'] / c['sgemm']:.0f}% | "
                  f"{c['peak_MB']:.1f} |")
    md.append("")


def _softmax(results, out, md):
    cmd = _only(results, "softmax")
    md += ["## 2. LION vs softmax at equal size", ""]
    for shape, res in results["softmax"].items():
        s = res["shape"]
        md += [f"### {shape}: D = {s['hidden']}, {s['layers']} layers, {s['heads']} heads, "
               f"FFN {s['intermediate']}", "",
               f"![LION vs softmax, {shape}]({plots.softmax(results, out, cmd, shape)})", "",
               f"Reproduce: `{cmd}`. Time per sequence (batch 1, best of the rounds) and the peak "
               "extra resident memory during the forward. LION: lion-serve's C++ model of a "
               "LION-D BERT with random weights, chunk form. Softmax: `transformers` BertModel "
               "built from a config (random weights, nothing downloaded) with SDPA attention, and "
               "with eager attention. A dash says why a length was not run.", "",
               "| L | LION ms | SDPA ms | eager ms | SDPA / LION | eager / LION | LION MB | SDPA MB | "
               "eager MB |", "|---|---|---|---|---|---|---|---|---|"]
        for c in analysis.softmax_table(res):
            def t(who):
                return f"{c[who] * 1e3:.1f}" if c[who] else "-"

            def m(who):
                return f"{c[who + '_mb']:.0f}" if c[who] else "-"

            def r(who):
                return f"{c[who + '_ratio']:.1f}x" if c[who + "_ratio"] else "-"
            md.append(f"| {c['length']} | {t('lion')} | {t('sdpa')} | {t('eager')} | {r('sdpa')} | "
                      f"{r('eager')} | {m('lion')} | {m('sdpa')} | {m('eager')} |")
        whys = {f"{who} at {c['length']}: {c[who + '_why']}" for c in analysis.softmax_table(res)
                for who in ("lion", "sdpa", "eager") if c[who] is None}
        md += [""] + [f"- not run: {w}" for w in sorted(whys)] + [""]


def _serving(results, out, md):
    sv = results["serving"]
    cmd = _only(results, "serving")
    md += ["## 3. lion-serve vs a Python server of the same checkpoint", "",
           f"![serving]({plots.serving(results, out, cmd)})", "",
           f"Reproduce: `{cmd}`. Embed on lion-mlm-mini; the same `lion-client bench` and the same "
           f"texts ({sv['token_range'][0]}-{sv['token_range'][1]} tokens each) against lion-serve "
           "(default flags) and `bench/pyserve/lion_pyserve.py` (the PyTorch reference model, "
           f"`grpcio`, Hugging Face `tokenizers`, dynamic batching {' '.join(sv['pyserve_flags'])}, "
           f"the reference's {sv.get('pyserve_form', '?')} form: the fastest of the three at "
           "start-up). "
           f"Rounds: {len(sv['rounds'])}, the two servers alternating at each level; medians of "
           "the rounds, and each round's throughput ratio. Client and server share the cores.", "",
           "| concurrency | lion-serve req/s | p50 ms | p99 ms | Python req/s | p50 ms | p99 ms | "
           "ratio (median) | ratio per round |", "|---|---|---|---|---|---|---|---|---|"]
    for r in analysis.serving_rows(sv):
        md.append(f"| {r['level']} | {r['lion_rps']:.1f} | {r['lion_p50']:.1f} | {r['lion_p99']:.1f} | "
                  f"{r['py_rps']:.1f} | {r['py_p50']:.1f} | {r['py_p99']:.1f} | {r['ratio']:.2f}x | "
                  f"{', '.join(f'{x:.2f}' for x in r['ratios'])} |")
    md.append("")
    md += ["## 4. Server efficiency", "",
           f"![server efficiency]({plots.server_efficiency(results, out, cmd)})", "",
           f"Reproduce: `{cmd}`. Ceiling: `lion_model_bench` (whole-model Embed forwards in one "
           f"process, no gRPC, {sv['tokens']}-token inputs) at batch 1, 8, 64, run once per round "
           "between the serving levels; served: lion-serve's OK requests/s at concurrency 64 x "
           "tokens per request, with the load generator on the same cores.", "",
           "| round | ceiling tokens/s (batch) | served tokens/s | served / ceiling |", "|---|---|---|---|"]
    for i, c in enumerate(analysis.ceiling_rows(sv)):
        md.append(f"| {i + 1} | {c['ceiling']:,.0f} ({c['best_batch']}) | {c['served']:,.0f} | "
                  f"{100 * c['fraction']:.0f}% |")
    md += ["", "lion-digits Classify (an 8x8 PNG, 17 tokens) at concurrency 64, two lion-serve "
           "processes alternating: dynamic batching vs `--max_batch_size=1`.", "",
           "| round | batching req/s | batch=1 req/s | gain |", "|---|---|---|---|"]
    for i, d in enumerate(analysis.digits_rows(sv)):
        md.append(f"| {i + 1} | {d['batching']:.0f} | {d['single']:.0f} | {d['ratio']:.2f}x |")
    md.append("")


def _long(results, out, md):
    cmd = _only(results, "long")
    lg = results["long"]
    md += ["## 5. Long documents", "", f"![long documents]({plots.long_docs(results, out, cmd)})", "",
           f"Reproduce: `{cmd}`. One Embed request of random in-vocabulary token ids to "
           "lion-mlm-mini (`--max_input_tokens=1000002 --max_message_bytes=33554432`), lengths "
           "alternating round by round, best round; the server's peak resident set (VmHWM, reset "
           "before each request) is the whole process's. The model alone: `lion_forward_bench` "
           "in its own process, in the form lion-serve chose.", "",
           "| tokens | wall s | tokens/s | compute s | form | RSS before GB | peak RSS GB | "
           "model alone s | alone peak RSS GB |", "|---|---|---|---|---|---|---|---|---|"]
    alone = {r["length"]: r for r in lg["alone"]}
    for r in lg["served"]:
        a = alone.get(r["length"])
        md.append(f"| {r['length']:,} | {r['wall_s']:.2f} | {r['length'] / r['wall_s']:,.0f} | "
                  f"{r['compute_s']:.2f} | {r['form']} | {r['rss_before'] / 1e9:.2f} | "
                  f"{r['peak_rss'] / 1e9:.2f} | {a['best_s'] if a else float('nan'):.2f} | "
                  f"{a['peak_rss'] / 1e9 if a else float('nan'):.2f} |")
    md.append("")


def _efficiency(results, out, md):
    cmd = _only(results, "efficiency")
    md += ["## 6. Whole-model efficiency", "", f"![efficiency]({plots.efficiency(results, out, cmd)})", "",
           f"Reproduce: `{cmd}`. FLOPs of one forward counted from the layer shapes (q, k, v, "
           "output and FFN GEMMs, 2 FLOPs per multiply-add, plus the attention core's count of "
           "docs/lion-math.md section 5) over the best time, against the sgemm rate measured in the "
           "same process around each length. `base`: a LION-D BERT of BERT-base width (D = 768, "
           "12 heads, FFN 3072, 2 layers, random weights).", "",
           "| model | form | L | ms | GFLOP per forward | GFLOP/s | sgemm GFLOP/s | % of sgemm |",
           "|---|---|---|---|---|---|---|---|"]
    for r in results["efficiency"]:
        md.append(f"| {r['model']} | {r['form']} | {r['length']} | {r['best_s'] * 1e3:.2f} | "
                  f"{r['flops'] * 1e-9:.2f} | {r['GFLOPS']:.1f} | {r['sgemm_GFLOPS']:.1f} | "
                  f"{100 * r['fraction']:.0f}% |")
    md.append("")


def _profiles(results, md):
    profiles = {k: v for k, v in results.get("profiles", {}).items() if v}
    if not profiles:
        return
    md += ["## Profiles of the missed targets", "",
           "`perf record -e cpu-clock` (the VM has no hardware counters), top symbols by share "
           "of samples:", ""]
    for name, rows in profiles.items():
        md += [f"### {name}", "", "| % | object | symbol |", "|---|---|---|"]
        md += [f"| {r['pct']:.1f} | {r['dso']} | `{r['symbol']}` |" for r in rows] + [""]


def write(results, out):
    m = results["machine"]
    md = ["# lion-serve performance report", "",
          f"Command: `{results['command']}` ({results['seconds'] / 60:.1f} min). Machine: "
          f"{plots.machine_line(results)}; {m['cores']} cores shared with other work: load "
          f"average {results['load']['min']:.1f}-{results['load']['max']:.1f} "
          f"(mean {results['load']['mean']:.1f}) during the run. Every ratio below comes from "
          "this one run.", "", "## Targets", "", "| target | this run | |", "|---|---|---|"]
    md += [f"| {t['name']} | {t['value']} | {MARK[t['met']]} |" for t in targets(results)]
    md.append("")
    for key, fn in (("core", _core), ("softmax", _softmax), ("serving", _serving), ("long", _long),
                    ("efficiency", _efficiency)):
        if key in results:
            fn(results, out, md)
    _profiles(results, md)
    (out / "report.md").write_text("\n".join(md) + "\n")
