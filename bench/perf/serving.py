"""Comparisons 3 and 4: lion-serve against the Python baseline server
(bench/pyserve) with the same client and inputs; lion-serve's served tokens/s
against the model's in-process ceiling (lion_model_bench); and lion-digits
with dynamic batching against --max_batch_size=1. Everything alternates
within each round, so a slow phase of the machine hits every competitor."""

import random

from . import common

WORDS_PER_TEXT = 128


def make_texts(path, count=2000, seed=3):
    """Texts of 128 whole-word vocabulary entries of lion-mlm-mini (each one
    token): both servers see the same lines, every one 130 tokens with
    [CLS]/[SEP]."""
    vocab = (common.MODELS / common.MLM / "vocab.txt").read_text(encoding="utf-8").split("\n")
    words = [w for w in vocab if w.isascii() and w.isalpha() and len(w) > 2]
    rng = random.Random(seed)
    path.write_text("\n".join(" ".join(rng.choice(words) for _ in range(WORDS_PER_TEXT))
                              for _ in range(count)) + "\n")
    return path


def token_counts(server, texts, tmp_dir, sample=50):
    """Tokens lion-serve makes of the first lines (Tokenize, special tokens added)."""
    pb2, pb2_grpc = common.stubs(tmp_dir)
    stub = pb2_grpc.InferenceStub(common.channel(server.address))
    lines = texts.read_text().splitlines()[:sample]
    return [len(stub.Tokenize(pb2.TokenizeRequest(model=common.MLM, text=t, add_special_tokens=True),
                              timeout=60).ids) for t in lines]


def digit_png(path):
    """One of scikit-learn's 8x8 digits as a grayscale PNG (lion-digits' input)."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits
    image = load_digits().images[-1]
    Image.fromarray((image * 255 / 16).astype(np.uint8), mode="L").save(path)
    return path


def _level(address, model, c, cfg, *flags, method="embed"):
    return common.client_bench(address, model, f"--concurrency={c}",
                               f"--duration_s={cfg.serve_seconds}", f"--warmup_s={cfg.warmup_s}",
                               "--requests=0", *flags, method=method)[0]


def _model_bench(tokens):
    """lion_model_bench's embed case at batch 1, 8, 64: tokens/s per batch."""
    import json
    import os
    import subprocess
    done = subprocess.run([str(common.MODEL_BENCH), "--benchmark_filter=BM_EmbedMlmMini",
                           "--benchmark_format=json"], capture_output=True, text=True,
                          timeout=900, env={**os.environ, "LION_BENCH_TOKENS": str(tokens)})
    if done.returncode != 0:
        raise RuntimeError(f"lion_model_bench failed:\n{done.stderr[-2000:]}")
    return {int(b["batch"]): b["tokens_per_s"] for b in json.loads(done.stdout)["benchmarks"]
            if "tokens_per_s" in b}


def run(cfg, out_dir, log):
    tmp = out_dir / "serving"
    tmp.mkdir(parents=True, exist_ok=True)
    texts = make_texts(tmp / "texts.txt")
    png = digit_png(tmp / "digit.png")
    text_flag = f"--length=file:{texts}"
    servers = []
    try:
        # The second server reads the calibration the first one wrote.
        lion = common.LionServe(common.MODELS, tmp / "lion", name="lion-serve",
                                calibration_dir=tmp / "calibration")
        servers.append(lion)
        single = common.LionServe(common.MODELS, tmp / "single", "--max_batch_size=1",
                                  name="batch1", calibration_dir=tmp / "calibration")
        servers.append(single)
        py = common.PyServe(common.MODELS / common.MLM, tmp / "py", *cfg.pyserve_flags)
        servers.append(py)
        counts = token_counts(lion, texts, tmp)
        tokens = round(sum(counts) / len(counts))
        log(f"serving: texts are {min(counts)}-{max(counts)} tokens; servers up")
        rounds = []
        for r in range(cfg.rounds):
            one = {"serve": {}, "digits": {}}
            for c in cfg.levels:
                for who, server in (("lion-serve", lion), ("python", py)):
                    log(f"serving: round {r + 1}/{cfg.rounds}, {who}, concurrency {c}")
                    one["serve"][f"{who}/{c}"] = _level(server.address, common.MLM, c, cfg, text_flag)
            for who, server in (("batching", lion), ("batch=1", single)):
                log(f"serving: round {r + 1}, lion-digits {who}, concurrency 64")
                one["digits"][who] = _level(server.address, common.DIGITS, 64, cfg,
                                            f"--image={png}", method="classify")
            log(f"serving: round {r + 1}, in-process ceiling (lion_model_bench, {tokens} tokens)")
            one["ceiling"] = _model_bench(tokens)
            rounds.append(one)
    finally:
        for s in servers:
            s.stop()
    return {"tokens": tokens, "token_range": [min(counts), max(counts)], "rounds": rounds,
            "pyserve_flags": list(cfg.pyserve_flags), "pyserve_form": py.form}
