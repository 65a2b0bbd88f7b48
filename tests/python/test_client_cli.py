"""lion-client end to end against the real server (lion-serve with the
repository's default models): every subcommand, --json parsed back, and the
exit codes for NOT_FOUND, INVALID_ARGUMENT, FAILED_PRECONDITION and
UNAVAILABLE. Needs lion-serve, lion-client and the default models (conftest.require_tool)."""

import io
import json

import numpy as np
import pytest

from conftest import require_tool
from lion_client_helpers import (FAILED_PRECONDITION, INVALID_ARGUMENT, LION_CLIENT, LION_SERVE, NOT_FOUND, OK, REPO_ROOT,
                                 UNAVAILABLE, Cli, free_port, require, start_lion_serve, stop_lion_serve)

MODELS = REPO_ROOT / "models"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require(LION_SERVE, "lion-serve")
    require(LION_CLIENT, "lion-client")
    require_tool(f"default models in {MODELS}", any(MODELS.glob("*/config.json")),
                 "the repository holds them; scripts/train_default_models remakes them")
    proc, address = start_lion_serve(MODELS, tmp_path_factory.mktemp("serve") / "lion-serve.log")
    cli = Cli(address)
    models = {m["name"]: m for m in cli.json("models")["models"]}
    yield cli, models
    stop_lion_serve(proc)


def pick(models, task, architecture=None):
    for m in models.values():
        if m["task"] == task and architecture in (None, m["architecture"]):
            return m
    require_tool(f"a served model with task={task} architecture={architecture}", False,
                 "models/ holds one of each task")


def png_bytes(size: int) -> bytes:
    from PIL import Image
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_models_and_get_model(server):
    cli, models = server
    assert models, "the server lists no model"
    for name, info in models.items():
        assert info["task"] in ("mlm", "classification")
        assert cli.json("models", f"--model={name}") == info
    err = cli.json("models", "--model=no-such-model", expect=NOT_FOUND)
    assert err["error"]["name"] == "NOT_FOUND"
    rc, out, _ = cli.run("models")
    assert rc == OK and all(name in out for name in models)


def test_health(server):
    cli, _ = server
    assert cli.json("health")["status"] == "SERVING"
    assert cli.json("health", "--service=lion.v1.Inference")["status"] == "SERVING"


def test_tokenize(server):
    cli, models = server
    m = pick(models, "mlm")
    out = cli.json("tokenize", f"--model={m['name']}", "--text=hello world")
    assert len(out["ids"]) == len(out["tokens"]) == len(out["offsets"]) >= 4  # [CLS] hello world [SEP]
    assert out["tokens"][0] == "[CLS]" and out["tokens"][-1] == "[SEP]"


def test_fill_mask(server):
    cli, models = server
    m = pick(models, "mlm")
    out = cli.json("fill-mask", f"--model={m['name']}", "--text=the cat sat on the [MASK] .", "--top_k=3")
    (mask,) = out["masks"]
    scores = [c["score"] for c in mask["candidates"]]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True) and sum(scores) <= 1 + 1e-5
    assert int(out["usage"]["input_tokens"]) >= 8


def test_embed_json_npy_and_normalize(server, tmp_path):
    cli, models = server
    m = pick(models, "mlm")
    args = ("embed", f"--model={m['name']}", "--text=a short sentence")
    emb = cli.json(*args)["embedding"]
    assert len(emb) == m["hidden_size"]
    npy = tmp_path / "e.npy"
    assert cli.run(*args, f"--out={npy}")[0] == OK
    np.testing.assert_allclose(np.load(npy), emb, rtol=1e-6, atol=1e-6)
    unit = np.array(cli.json(*args, "--normalize")["embedding"])
    assert np.linalg.norm(unit) == pytest.approx(1.0, abs=1e-4)
    np.testing.assert_allclose(unit, np.array(emb) / np.linalg.norm(emb), atol=1e-4)
    # The forms agree (to float32 rounding).
    for form in ("full", "chunk", "rnn"):
        np.testing.assert_allclose(cli.json(*args, f"--form={form}")["embedding"], emb, rtol=1e-3, atol=1e-4)


def test_embed_stream_matches_one_by_one(server, tmp_path):
    """embed-stream: every line of a file over one EmbedStream, rows in line order,
    each equal to the same text embedded alone (batching on the stream changes nothing)."""
    cli, models = server
    m = pick(models, "mlm")
    rng = np.random.default_rng(3)
    words = ["the", "cat", "sat", "on", "a", "mat", "linear", "attention", "is", "fast", "and", "exact"]
    texts = [" ".join(rng.choice(words, size=int(rng.integers(1, 40)))) for _ in range(24)]
    src = tmp_path / "texts.txt"
    src.write_text("\n\n".join(texts) + "\n")  # empty lines are skipped
    npy = tmp_path / "e.npy"
    rc, _, err = cli.run("embed-stream", f"--model={m['name']}", f"--input={src}", f"--out={npy}")
    assert rc == OK, err
    matrix = np.load(npy)
    assert matrix.shape == (len(texts), m["hidden_size"])
    for i in (0, 7, 23):
        alone = cli.json("embed", f"--model={m['name']}", f"--text={texts[i]}")["embedding"]
        np.testing.assert_allclose(matrix[i], alone, rtol=1e-5, atol=1e-5)
    lines = tmp_path / "e.jsonl"
    assert cli.run("embed-stream", f"--model={m['name']}", f"--input={src}", f"--out={lines}")[0] == OK
    rows = [json.loads(line) for line in lines.read_text().splitlines()]
    assert [r["id"] for r in rows] == [str(i) for i in range(len(texts))]
    np.testing.assert_allclose([r["embedding"] for r in rows], matrix, rtol=1e-5, atol=1e-5)


def test_embed_stream_errors(server, tmp_path):
    cli, models = server
    src = tmp_path / "texts.txt"
    src.write_text("one line\n")
    assert cli.run("embed-stream", "--model=no-such-model", f"--input={src}")[0] == NOT_FOUND
    vit = pick(models, "classification", "lion_vit")
    err = cli.json("embed-stream", f"--model={vit['name']}", f"--input={src}", expect=INVALID_ARGUMENT)
    assert "0 of 1" in err["error"]["message"]
    assert cli.run("embed-stream", f"--input={tmp_path / 'missing.txt'}")[0] == NOT_FOUND
    (tmp_path / "empty.txt").write_text("\n\n")
    assert cli.run("embed-stream", f"--input={tmp_path / 'empty.txt'}")[0] == INVALID_ARGUMENT


def test_classify_image(server, tmp_path):
    cli, models = server
    m = pick(models, "classification", "lion_vit")
    image = tmp_path / "x.png"
    image.write_bytes(png_bytes(m["image_size"] or 32))
    out = cli.json("classify", f"--model={m['name']}", f"--image={image}", "--top_k=3")
    preds = out["predictions"]
    assert len(preds) == min(3, len(m["labels"]))
    assert [p["score"] for p in preds] == sorted((p["score"] for p in preds), reverse=True)
    assert all(p["label"] == m["labels"][p["index"]] for p in preds)
    rc, text, _ = cli.run("classify", f"--model={m['name']}", f"--image={image}")
    assert rc == OK and preds[0]["label"] in text


def test_invalid_argument(server):
    cli, models = server
    m = pick(models, "mlm")
    err = cli.json("embed", f"--model={m['name']}", f"--ids=1,{m['vocab_size'] + 100}", expect=INVALID_ARGUMENT)
    assert err["error"]["message"]


def test_wrong_task_is_failed_precondition(server, tmp_path):
    cli, models = server
    m = pick(models, "classification", "lion_vit")
    cli.json("fill-mask", f"--model={m['name']}", "--text=a [MASK]", expect=FAILED_PRECONDITION)


def test_unknown_model_is_not_found(server):
    cli, _ = server
    assert cli.run("embed", "--model=no-such-model", "--text=x")[0] == NOT_FOUND


def test_bench(server):
    cli, models = server
    m = pick(models, "mlm")
    out = cli.json("bench", f"--model={m['name']}", "--method=embed", "--concurrency=1,2", "--requests=20",
                   "--warmup_s=0", "--length=uniform:4:32", "--progress=false", timeout=300)
    for r in out["results"]:
        assert r["codes"] == {"OK": 20}
        assert r["server_us"]["responses"] == 20
        assert r["server_us"]["total"] >= r["server_us"]["compute"] > 0
        assert 0 < r["latency_ms"]["p50"] <= r["latency_ms"]["p99"]
    rate = cli.json("bench", f"--model={m['name']}", "--method=tokenize", "--rate=50", "--requests=50",
                    "--warmup_s=0", "--progress=false", timeout=300)["results"][0]
    assert rate["codes"] == {"OK": 50}


def test_server_down_is_unavailable():
    require(LION_CLIENT, "lion-client")
    cli = Cli(f"127.0.0.1:{free_port()}")
    assert cli.run("models", "--retries=1")[0] == UNAVAILABLE
