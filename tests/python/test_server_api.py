"""lion-serve end to end over gRPC: every RPC, every error code we can provoke,
batching and forms not changing answers. Uses the default models in models/."""

import concurrent.futures as cf

import grpc
import numpy as np
import pytest

from lion_server_harness import (DIGITS, MLM, MODELS, Server, digits_pixels,
                                 require_server_and_models, stubs)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    require_server_and_models(DIGITS, MLM)
    root = tmp_path_factory.mktemp("api")
    pb, pb_grpc = stubs(root)
    server = Server(MODELS, root, "--max_input_tokens=128", "--max_message_bytes=1048576",
                    "--max_queue_delay_us=5000")
    channel = grpc.insecure_channel(server.address)
    yield server, pb, pb_grpc.InferenceStub(channel), pb_grpc.ModelsStub(channel)
    channel.close()
    assert server.stop() == 0


def code_of(call):
    with pytest.raises(grpc.RpcError) as e:
        call()
    return e.value.code(), e.value.details()


def test_models_service_lists_and_describes(env):
    _, pb, _, models = env
    names = [m.name for m in models.ListModels(pb.ListModelsRequest()).models]
    assert names == [DIGITS, MLM]
    info = models.GetModel(pb.GetModelRequest(name=DIGITS))
    assert info.task == "classification" and info.architecture == "lion_vit"
    assert list(info.labels) == [str(i) for i in range(10)] and info.image_size == 8
    assert info.form_policy.chunk_size > 0
    mlm = models.GetModel(pb.GetModelRequest(name=MLM))
    assert mlm.task == "mlm" and mlm.vocab_size > 0
    assert code_of(lambda: models.GetModel(pb.GetModelRequest(name="nope")))[0] == grpc.StatusCode.NOT_FOUND


def test_classify_digits_is_accurate_and_well_formed(env):
    _, pb, inference, _ = env
    pixels, labels = digits_pixels(60)
    correct = 0
    for x, y in zip(pixels, labels):
        image = pb.Image(pixels=pb.Tensor(shape=[1, 8, 8], data=x.ravel().tolist()))
        r = inference.Classify(pb.ClassifyRequest(model=DIGITS, id="d", image=image, top_k=3))
        assert r.id == "d" and r.model == DIGITS and len(r.predictions) == 3
        scores = [p.score for p in r.predictions]
        assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1.0 + 1e-6
        assert r.usage.input_tokens == 17 and r.usage.batch_size >= 1 and r.usage.form != 0
        correct += int(r.predictions[0].index == y and r.predictions[0].label == str(y))
    assert correct / len(labels) > 0.85  # held-out accuracy of the model is ~0.97


def test_classify_encoded_png_matches_pixels(env):
    from PIL import Image
    import io
    _, pb, inference, _ = env
    img = (np.arange(64).reshape(8, 8) * 4).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img, mode="L").save(buf, format="PNG")
    r = inference.Classify(pb.ClassifyRequest(model=DIGITS, image=pb.Image(encoded=buf.getvalue())))
    assert len(r.predictions) == 10
    assert abs(sum(p.score for p in r.predictions) - 1.0) < 1e-5
    raw = inference.Classify(pb.ClassifyRequest(model=DIGITS, image=pb.Image(encoded=buf.getvalue()),
                                                raw_scores=True))
    logits = np.array([p.score for p in sorted(raw.predictions, key=lambda p: p.index)])
    probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    got = np.array([p.score for p in sorted(r.predictions, key=lambda p: p.index)])
    np.testing.assert_allclose(got, probs, rtol=1e-5, atol=1e-6)


def test_embed_fill_mask_and_tokenize_on_the_mlm(env):
    _, pb, inference, _ = env
    tok = inference.Tokenize(pb.TokenizeRequest(model=MLM, text="Hello world", add_special_tokens=True))
    assert tok.tokens[0] == "[CLS]" and tok.tokens[-1] == "[SEP]" and len(tok.ids) == len(tok.offsets)
    e = inference.Embed(pb.EmbedRequest(model=MLM, text="the cat sat on the mat", normalize=True,
                                        return_token_embeddings=True))
    v = np.array(e.embedding)
    assert abs(np.linalg.norm(v) - 1.0) < 1e-5
    assert list(e.token_embeddings.shape) == [e.usage.input_tokens, len(v)]
    ids = inference.Embed(pb.EmbedRequest(model=MLM, token_ids=pb.TokenIds(ids=list(tok.ids))))
    text = inference.Embed(pb.EmbedRequest(model=MLM, text="Hello world"))
    np.testing.assert_allclose(ids.embedding, text.embedding, rtol=1e-6)
    fm = inference.FillMask(pb.FillMaskRequest(model=MLM, text="the [MASK] sat on the mat", top_k=4))
    assert len(fm.masks) == 1 and fm.masks[0].position == 2 and len(fm.masks[0].candidates) == 4
    assert all(c.token for c in fm.masks[0].candidates)


def test_error_codes(env):
    server, pb, inference, _ = env
    checks = [
        (lambda: inference.Embed(pb.EmbedRequest(model=MLM)), grpc.StatusCode.INVALID_ARGUMENT, "input"),
        (lambda: inference.Embed(pb.EmbedRequest(model=MLM, token_ids=pb.TokenIds(ids=[1, 10**6]))),
         grpc.StatusCode.INVALID_ARGUMENT, "token_ids.ids[1]"),
        (lambda: inference.Embed(pb.EmbedRequest(model=MLM, text="word " * 400)),
         grpc.StatusCode.INVALID_ARGUMENT, "128"),
        (lambda: inference.Classify(pb.ClassifyRequest(model=DIGITS, image=pb.Image(encoded=b"notapng"))),
         grpc.StatusCode.INVALID_ARGUMENT, "image"),
        (lambda: inference.Classify(pb.ClassifyRequest(model=DIGITS, image=pb.Image(
            pixels=pb.Tensor(shape=[1, 4, 4], data=[0.0] * 16)))), grpc.StatusCode.INVALID_ARGUMENT, "pixels"),
        (lambda: inference.Embed(pb.EmbedRequest(model="nope", text="x")), grpc.StatusCode.NOT_FOUND, "nope"),
        (lambda: inference.Classify(pb.ClassifyRequest(model=MLM, text="x")),
         grpc.StatusCode.FAILED_PRECONDITION, "classification"),
        (lambda: inference.FillMask(pb.FillMaskRequest(model=DIGITS, token_ids=pb.TokenIds(ids=[1]))),
         grpc.StatusCode.FAILED_PRECONDITION, "mlm"),
        (lambda: inference.Tokenize(pb.TokenizeRequest(model=DIGITS, text="x")),
         grpc.StatusCode.FAILED_PRECONDITION, "text model"),
        (lambda: inference.FillMask(pb.FillMaskRequest(model=MLM, text="no mask here")),
         grpc.StatusCode.INVALID_ARGUMENT, "mask"),
        (lambda: inference.Embed(pb.EmbedRequest(model=MLM, text="x" * 2_000_000)),
         grpc.StatusCode.RESOURCE_EXHAUSTED, ""),  # over --max_message_bytes
        (lambda: inference.Embed(pb.EmbedRequest(model=MLM, text="x"), timeout=1e-6),
         grpc.StatusCode.DEADLINE_EXCEEDED, ""),
    ]
    for call, code, words in checks:
        got, details = code_of(call)
        assert got == code, (code, details)
        assert words in (details or ""), (words, details)
    # Truncation instead of the error.
    r = inference.Embed(pb.EmbedRequest(model=MLM, text="word " * 400, truncation=pb.TRUNCATION_RIGHT))
    assert r.usage.input_tokens == 128


def embed_request(pb, i, form=0):
    words = ["alpha", "beta", "gamma", "delta", "the", "a", "mat", "cat"]
    text = " ".join(words[(i * 7 + j) % len(words)] for j in range(1 + (i * 13) % 60))
    return pb.EmbedRequest(model=MLM, id=str(i), text=text, form=form)


def test_concurrent_mixed_lengths_equal_one_by_one(env):
    _, pb, inference, _ = env
    alone = [inference.Embed(embed_request(pb, i)) for i in range(64)]
    with cf.ThreadPoolExecutor(64) as pool:
        together = list(pool.map(lambda i: inference.Embed(embed_request(pb, i)), range(64)))
    for a, t in zip(alone, together):
        assert a.id == t.id
        np.testing.assert_allclose(t.embedding, a.embedding, rtol=1e-5, atol=1e-6)
    assert max(t.usage.batch_size for t in together) > 1  # they really were batched


def test_forced_forms_equal_auto(env):
    _, pb, inference, _ = env
    for i in (0, 5, 11, 40):
        auto = inference.Embed(embed_request(pb, i))
        for form in (pb.FORM_FULL, pb.FORM_CHUNK, pb.FORM_RNN):
            forced = inference.Embed(embed_request(pb, i, form))
            assert forced.usage.form == form
            np.testing.assert_allclose(forced.embedding, auto.embedding, rtol=1e-4, atol=1e-5)


def test_embed_stream_answers_every_request_by_id(env):
    _, pb, inference, _ = env
    requests = [embed_request(pb, i) for i in range(12)]
    got = {r.id: r for r in inference.EmbedStream(iter(requests))}
    assert sorted(got, key=int) == [str(i) for i in range(12)]
    for req in requests[:3]:
        np.testing.assert_allclose(got[req.id].embedding, inference.Embed(req).embedding, rtol=1e-5, atol=1e-6)
    bad = [embed_request(pb, 0), pb.EmbedRequest(model="nope", id="x", text="x")]
    with pytest.raises(grpc.RpcError) as e:
        list(inference.EmbedStream(iter(bad)))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_classify_stream(env):
    _, pb, inference, _ = env
    pixels, labels = digits_pixels(8)
    requests = [pb.ClassifyRequest(model=DIGITS, id=f"img{i}", top_k=1, image=pb.Image(
        pixels=pb.Tensor(shape=[1, 8, 8], data=x.ravel().tolist()))) for i, x in enumerate(pixels)]
    got = {r.id: r for r in inference.ClassifyStream(iter(requests))}
    assert sorted(got) == sorted(r.id for r in requests)
    for req in requests:
        assert got[req.id].predictions[0].index == inference.Classify(req).predictions[0].index
