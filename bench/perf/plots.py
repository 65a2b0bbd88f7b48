"""The report's PNG figures (matplotlib, Agg). Each carries, under its plot,
the machine it ran on and the command that reproduces it."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from . import analysis  # noqa: E402

FORM_COLORS = {"full": "tab:red", "chunk": "tab:blue", "rnn": "tab:green"}
VARIANT_STYLES = {"lit": ":", "d": "-", "s": "--"}
WHO_COLORS = {"lion": "tab:blue", "sdpa": "tab:orange", "eager": "tab:red",
              "lion-serve": "tab:blue", "python": "tab:orange"}


def machine_line(results):
    m = results["machine"]
    return (f"{m['cpu']}, {m['cores']} cores, AVX-512 {'yes' if m['avx512'] else 'no'}, "
            f"{m['mem_gib']} GiB; torch {m['torch']}; git {m['git']}; {results['started']}")


def _finish(fig, results, command, path):
    fig.text(0.01, 0.005, f"{machine_line(results)}\nreproduce: {command}", fontsize=7,
             va="bottom", family="monospace")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def core(results, out, command):
    rows = [c for c in results["core"] if c["B"] == 1]
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(12, 5.2))
    for form in ("full", "chunk", "rnn"):
        for variant in ("lit", "d", "s"):
            pts = sorted((c["L"], c["ms"], c["peak_MB"]) for c in rows
                         if c["form"] == form and c["variant"] == variant)
            if not pts:
                continue
            xs = [p[0] for p in pts]
            kw = dict(color=FORM_COLORS[form], ls=VARIANT_STYLES[variant], marker=".",
                      label=f"{form} / {variant}")
            ax_t.plot(xs, [p[1] for p in pts], **kw)
            ax_m.plot(xs, [max(p[2], 0.01) for p in pts], **kw)
    auto = results.get("auto")
    for ax in (ax_t, ax_m):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("L (tokens), B = 1, H = 6, d = 64")
        ax.grid(True, which="both", alpha=0.3)
        if auto:
            p = auto["policy"]
            if p["full_max_tokens"]:
                ax.axvline(p["full_max_tokens"], color="k", ls="-.", lw=1,
                           label=f"calibrated: full up to {p['full_max_tokens']}")
            if p["rnn_min_tokens"]:
                ax.axvline(p["rnn_min_tokens"], color="tab:green", ls="-.", lw=1,
                           label=f"calibrated: RNN from {p['rnn_min_tokens']}")
            # AUTO's choice for a lone request, as a strip along the top
            for length, form in auto["chosen"].items():
                ax.axvspan(int(length) / 2 ** 0.5, int(length) * 2 ** 0.5, ymin=0.97, ymax=1.0,
                           color=FORM_COLORS.get(form, "grey"), alpha=0.8, lw=0)
    ax_t.set_ylabel("time per call (ms)")
    ax_m.set_ylabel("peak extra resident memory (MB)")
    ax_t.set_title("LION attention core: time (top strip: lion-serve's AUTO form)")
    ax_m.set_title("LION attention core: peak memory per call")
    ax_t.legend(fontsize=7, ncol=2)
    return _finish(fig, results, command, out / "core.png")


def softmax(results, out, command, shape):
    res = results["softmax"][shape]
    s = res["shape"]
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(12, 5))
    names = {"lion": "LION-D (lion-serve C++ model, chunk form)",
             "sdpa": "softmax BERT (transformers, SDPA)", "eager": "softmax BERT (transformers, eager)"}
    for who, rows in res["rows"].items():
        meas = [r for r in rows if r.get("event") != "skip"]
        if not meas:
            continue
        xs = [r["length"] for r in meas]
        ax_t.plot(xs, [r["best_s"] * 1e3 for r in meas], marker="o", color=WHO_COLORS[who],
                  label=names[who])
        ax_m.plot(xs, [max(analysis.extra_mb(r), 0.1) for r in meas], marker="o",
                  color=WHO_COLORS[who], label=names[who])
    ax_m.axhline(16 * 1024, color="k", ls=":", lw=1, label="16 GB")
    for ax in (ax_t, ax_m):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("L (tokens), batch 1")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    title = f"D = {s['hidden']}, {s['layers']} layers, {s['heads']} heads, FFN {s['intermediate']}"
    ax_t.set_title(f"time per sequence ({title})", fontsize=9)
    ax_m.set_title("peak extra resident memory during the forward (MB)", fontsize=9)
    ax_t.set_ylabel("ms")
    ax_m.set_ylabel("MB")
    return _finish(fig, results, command, out / f"softmax_{shape}.png")


def serving(results, out, command):
    rows = analysis.serving_rows(results["serving"])
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.6))
    xs = range(len(rows))
    labels = [str(r["level"]) for r in rows]
    for ax, (key, title) in zip(axes, (("rps", "throughput (requests/s)"), ("p50", "p50 latency (ms)"),
                                       ("p99", "p99 latency (ms)"))):
        for i, (who, prefix) in enumerate((("lion-serve", "lion"), ("python", "py"))):
            vals = [r[f"{prefix}_{key}"] for r in rows]
            ax.bar([x + (i - 0.5) * 0.38 for x in xs], vals, width=0.38, color=WHO_COLORS[who],
                   label=who if who == "lion-serve" else "Python (PyTorch reference + grpcio)")
        ax.set_xticks(list(xs), labels)
        ax.set_xlabel("concurrency")
        ax.set_title(title, fontsize=9)
        if key != "rps":
            ax.set_yscale("log")
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("Embed, lion-mlm-mini, 130-token texts, same lion-client bench (median of rounds)",
                 fontsize=10)
    return _finish(fig, results, command, out / "serving.png")


def server_efficiency(results, out, command):
    ceil = analysis.ceiling_rows(results["serving"])
    dig = analysis.digits_rows(results["serving"])
    fig, (ax_c, ax_d) = plt.subplots(1, 2, figsize=(11, 4.4))
    batches = sorted(ceil[0]["ceiling_all"])
    vals = [analysis.median([c["ceiling_all"][b] for c in ceil]) for b in batches]
    ax_c.bar([f"in-process\nbatch {b}" for b in batches] + ["lion-serve\nconc. 64"],
             vals + [analysis.median([c["served"] for c in ceil])],
             color=["tab:gray"] * len(batches) + ["tab:blue"])
    ax_c.set_ylabel("tokens/s")
    ax_c.set_title("lion-mlm-mini: served vs the model's own ceiling", fontsize=9)
    ax_d.bar(["batching", "--max_batch_size=1"],
             [analysis.median([d["batching"] for d in dig]), analysis.median([d["single"] for d in dig])],
             color=["tab:blue", "tab:gray"])
    ax_d.set_ylabel("requests/s")
    ax_d.set_title("lion-digits Classify at concurrency 64", fontsize=9)
    for ax in (ax_c, ax_d):
        ax.grid(True, axis="y", alpha=0.3)
    return _finish(fig, results, command, out / "server_efficiency.png")


def long_docs(results, out, command):
    served, alone = results["long"]["served"], results["long"]["alone"]
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 4.6))
    xs = [r["length"] for r in served]
    ax_t.plot(xs, [r["length"] / r["wall_s"] for r in served], marker="o", label="lion-serve, wall time")
    ax_t.plot(xs, [r["length"] / r["compute_s"] for r in served], marker="s",
              label="lion-serve, compute (Usage)")
    ax_t.plot([r["length"] for r in alone], [r["tokens_per_s"] for r in alone], marker="^",
              label="model alone (lion_forward_bench)")
    ax_m.plot(xs, [r["peak_rss"] / 1e9 for r in served], marker="o", label="lion-serve process")
    ax_m.plot([r["length"] for r in alone], [r["peak_rss"] / 1e9 for r in alone], marker="^",
              label="model alone")
    ax_m.axhline(2.0, color="k", ls=":", label="2 GB target")
    ax_t.set_ylabel("tokens/s")
    ax_m.set_ylabel("peak resident memory (GB)")
    ax_t.set_title("one document, embedded exactly: throughput", fontsize=9)
    ax_m.set_title("peak resident memory", fontsize=9)
    for ax in (ax_t, ax_m):
        ax.set_xscale("log")
        ax.set_xlabel("tokens (lion-mlm-mini)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    ax_t.set_ylim(bottom=0)
    return _finish(fig, results, command, out / "long.png")


def efficiency(results, out, command):
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    rows = results["efficiency"]
    for model in sorted({r["model"] for r in rows}):
        for form, marker in (("full", "o"), ("chunk", "s")):
            pts = sorted((r["length"], 100 * r["fraction"]) for r in rows
                         if r["model"] == model and r["form"] == form)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker,
                    ls="-" if model == "base" else "--", label=f"{model}, {form}")
    ax.axhline(60, color="k", ls=":", label="60% target")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("L (tokens), batch 1")
    ax.set_ylabel("forward FLOP/s as % of same-run sgemm")
    ax.set_title("whole-model efficiency", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return _finish(fig, results, command, out / "efficiency.png")
