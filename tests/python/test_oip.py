"""The Open Inference Protocol (KServe v2 / Triton) against the real lion-serve:
tritonclient over gRPC and HTTP (liveness, readiness, metadata, inference with
typed and raw contents, JSON and binary tensors) with results equal to lion.v1
for the same inputs; our proto's field numbers against the published file; and
bad input answered with the documented status."""

import json
import urllib.error
import urllib.request

import grpc
import numpy as np
import pytest

from lion_server_harness import (DIGITS, MLM, MODELS, REPO_ROOT, Server, digits_pixels,
                                 require_server_and_models, stubs)

TEXTS = ["the cat sat on the mat", "hello world", "a much longer sentence about nothing at all, really"]

# Written from the published grpc_predict_v2.proto (KServe) and Triton's
# grpc_service.proto (the model repository extension): message -> field -> number.
PUBLISHED = {
    "ServerLiveResponse": {"live": 1},
    "ServerReadyResponse": {"ready": 1},
    "ModelReadyRequest": {"name": 1, "version": 2},
    "ModelReadyResponse": {"ready": 1},
    "ServerMetadataResponse": {"name": 1, "version": 2, "extensions": 3},
    "ModelMetadataRequest": {"name": 1, "version": 2},
    "ModelMetadataResponse": {"name": 1, "versions": 2, "platform": 3, "inputs": 4, "outputs": 5},
    "ModelMetadataResponse.TensorMetadata": {"name": 1, "datatype": 2, "shape": 3},
    "ModelInferRequest": {"model_name": 1, "model_version": 2, "id": 3, "parameters": 4,
                          "inputs": 5, "outputs": 6, "raw_input_contents": 7},
    "ModelInferRequest.InferInputTensor": {"name": 1, "datatype": 2, "shape": 3, "parameters": 4,
                                           "contents": 5},
    "ModelInferRequest.InferRequestedOutputTensor": {"name": 1, "parameters": 2},
    "ModelInferResponse": {"model_name": 1, "model_version": 2, "id": 3, "parameters": 4,
                           "outputs": 5, "raw_output_contents": 6},
    "ModelInferResponse.InferOutputTensor": {"name": 1, "datatype": 2, "shape": 3, "parameters": 4,
                                             "contents": 5},
    "InferParameter": {"bool_param": 1, "int64_param": 2, "string_param": 3, "double_param": 4,
                       "uint64_param": 5},
    "InferTensorContents": {"bool_contents": 1, "int_contents": 2, "int64_contents": 3,
                            "uint_contents": 4, "uint64_contents": 5, "fp32_contents": 6,
                            "fp64_contents": 7, "bytes_contents": 8},
    "RepositoryIndexRequest": {"repository_name": 1, "ready": 2},
    "RepositoryIndexResponse.ModelIndex": {"name": 1, "version": 2, "state": 3, "reason": 4},
    "RepositoryModelLoadRequest": {"repository_name": 1, "model_name": 2, "parameters": 3},
    "RepositoryModelUnloadRequest": {"repository_name": 1, "model_name": 2, "parameters": 3},
    "ModelRepositoryParameter": {"bool_param": 1, "int64_param": 2, "string_param": 3,
                                 "bytes_param": 4},
}
RPCS = ["ServerLive", "ServerReady", "ModelReady", "ServerMetadata", "ModelMetadata", "ModelInfer",
        "RepositoryIndex", "RepositoryModelLoad", "RepositoryModelUnload"]


def our_protocol(tmp_root):
    """The FileDescriptor of our proto/inference/grpc_predict_v2.proto, in a pool
    of its own (tritonclient's copy of the protocol owns the default pool)."""
    from google.protobuf import descriptor_pb2, descriptor_pool
    from grpc_tools import protoc
    out = tmp_root / "oip.desc"
    rc = protoc.main(["protoc", f"-I{REPO_ROOT / 'proto'}", f"--descriptor_set_out={out}",
                      str(REPO_ROOT / "proto/inference/grpc_predict_v2.proto")])
    assert rc == 0
    files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for f in files.file:
        pool.Add(f)
    return pool.FindFileByName("inference/grpc_predict_v2.proto")


def message(fd, dotted):
    desc = fd.message_types_by_name[dotted.split(".")[0]]
    for part in dotted.split(".")[1:]:
        desc = desc.nested_types_by_name[part]
    return desc


def test_field_numbers_match_the_published_protocol(tmp_path):
    fd = our_protocol(tmp_path)
    for name, fields in PUBLISHED.items():
        ours = {f.name: f.number for f in message(fd, name).fields}
        assert ours == fields, name
    service = fd.services_by_name["GRPCInferenceService"]
    assert fd.package == "inference"
    assert [m.name for m in service.methods] == RPCS
    # And against the Triton client's own copy of the protocol: same field
    # numbers and types for every field we declare.
    from tritonclient.grpc import service_pb2 as triton
    for desc in fd.message_types_by_name.values():
        theirs = triton.DESCRIPTOR.message_types_by_name[desc.name]
        for f in desc.fields:
            assert theirs.fields_by_name[f.name].number == f.number, (desc.name, f.name)
            assert theirs.fields_by_name[f.name].type == f.type, (desc.name, f.name)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    require_server_and_models(DIGITS, MLM)
    root = tmp_path_factory.mktemp("oip")
    pb, pb_grpc = stubs(root)
    server = Server(MODELS, root, "--max_message_bytes=1048576", "--max_input_tokens=128")
    channel = grpc.insecure_channel(server.address)
    yield server, pb, pb_grpc.InferenceStub(channel)
    channel.close()
    assert server.stop() == 0


def lion_embed(pb, stub, text, **kw):
    return np.array(stub.Embed(pb.EmbedRequest(model=MLM, text=text, **kw)).embedding, dtype=np.float32)


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_tritonclient_grpc_health_metadata_and_text(env):
    import tritonclient.grpc as tc
    server, pb, stub = env
    client = tc.InferenceServerClient(server.address)
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready(MLM) and client.is_model_ready(DIGITS)
    assert not client.is_model_ready("nope")
    meta = client.get_server_metadata()
    assert meta.name == "lion-serve" and "model_repository" in meta.extensions
    m = client.get_model_metadata(MLM)
    assert {(t.name, t.datatype, tuple(t.shape)) for t in m.inputs} == {
        ("input_ids", "INT64", (-1, -1)), ("attention_mask", "INT64", (-1, -1)), ("text", "BYTES", (-1,))}
    assert {(t.name, tuple(t.shape)) for t in m.outputs} == {
        ("embeddings", (-1, 128)), ("token_embeddings", (-1, -1, 128))}
    d = client.get_model_metadata(DIGITS)
    assert [(t.name, t.datatype, list(t.shape)) for t in d.inputs] == [("pixel_values", "FP32", [-1, 1, 8, 8])]
    assert [t.name for t in d.outputs] == ["logits", "embeddings", "token_embeddings"]
    # Raw contents (tritonclient's way): two rows split, batched, put back in order.
    inp = tc.InferInput("text", [len(TEXTS)], "BYTES")
    inp.set_data_from_numpy(np.array([t.encode() for t in TEXTS], dtype=object))
    result = client.infer(MLM, [inp], request_id="r1")
    got = result.as_numpy("embeddings")
    assert got.shape == (len(TEXTS), 128) and result.get_response().id == "r1"
    for row, text in zip(got, TEXTS):
        close(row, lion_embed(pb, stub, text))


def test_typed_contents_ids_mask_and_parameters(env):
    # tritonclient's messages are the protocol's; they carry typed contents here.
    from tritonclient.grpc import service_pb2 as opb, service_pb2_grpc as opb_grpc
    server, pb, stub = env
    oip = opb_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(server.address))
    ids = [list(stub.Tokenize(pb.TokenizeRequest(model=MLM, text=t, add_special_tokens=True)).ids)
           for t in TEXTS[:2]]
    width = max(map(len, ids))
    padded = [row + [0] * (width - len(row)) for row in ids]
    mask = [[1] * len(row) + [0] * (width - len(row)) for row in ids]
    req = opb.ModelInferRequest(model_name=MLM, id="typed")
    req.inputs.add(name="input_ids", datatype="INT64", shape=[2, width]).contents.int64_contents.extend(
        sum(padded, []))
    req.inputs.add(name="attention_mask", datatype="INT64", shape=[2, width]).contents.int64_contents.extend(
        sum(mask, []))
    req.parameters["pooling"].string_param = "cls"
    req.parameters["normalize"].bool_param = True
    req.outputs.add(name="embeddings")
    req.outputs.add(name="token_embeddings")
    resp = oip.ModelInfer(req)
    assert resp.id == "typed" and not resp.raw_output_contents
    emb = np.array(resp.outputs[0].contents.fp32_contents, dtype=np.float32).reshape(resp.outputs[0].shape)
    tok = np.array(resp.outputs[1].contents.fp32_contents, dtype=np.float32).reshape(resp.outputs[1].shape)
    assert list(resp.outputs[1].shape) == [2, width, 128]
    for b, text in enumerate(TEXTS[:2]):
        want = stub.Embed(pb.EmbedRequest(model=MLM, text=text, pooling=pb.POOLING_CLS, normalize=True,
                                          return_token_embeddings=True))
        close(emb[b], np.array(want.embedding, dtype=np.float32))
        n = len(ids[b])
        close(tok[b, :n].ravel(), np.array(want.token_embeddings.data, dtype=np.float32))
        assert not tok[b, n:].any()  # padding rows are zero
    req.parameters["colour"].string_param = "blue"
    with pytest.raises(grpc.RpcError) as e:
        oip.ModelInfer(req)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "colour" in e.value.details()


def test_pixels_logits_equal_classify(env):
    import tritonclient.grpc as tc
    server, pb, stub = env
    pixels, _ = digits_pixels(5)
    client = tc.InferenceServerClient(server.address)
    inp = tc.InferInput("pixel_values", list(pixels.shape), "FP32")
    inp.set_data_from_numpy(pixels.astype(np.float32))
    logits = client.infer(DIGITS, [inp], outputs=[tc.InferRequestedOutput("logits")]).as_numpy("logits")
    assert logits.shape == (5, 10)
    for row, x in zip(logits, pixels):
        r = stub.Classify(pb.ClassifyRequest(model=DIGITS, raw_scores=True, image=pb.Image(
            pixels=pb.Tensor(shape=[1, 8, 8], data=x.ravel().tolist()))))
        want = np.zeros(10, dtype=np.float32)
        for p in r.predictions:
            want[p.index] = p.score
        close(row, want)


def test_grpc_errors(env):
    import tritonclient.grpc as tc
    from tritonclient.utils import InferenceServerException
    server, _, _ = env
    client = tc.InferenceServerClient(server.address)
    cases = []
    bad_dtype = tc.InferInput("text", [1], "FP32")
    bad_dtype.set_data_from_numpy(np.zeros(1, dtype=np.float32))
    cases.append((MLM, [bad_dtype], "StatusCode.INVALID_ARGUMENT", "datatype"))
    ids = tc.InferInput("input_ids", [3], "INT64")  # rank 1
    ids.set_data_from_numpy(np.array([2, 5, 3], dtype=np.int64))
    cases.append((MLM, [ids], "StatusCode.INVALID_ARGUMENT", "shape"))
    text = tc.InferInput("text", [1], "BYTES")
    text.set_data_from_numpy(np.array([b"x"], dtype=object))
    cases.append(("nope", [text], "StatusCode.NOT_FOUND", "nope"))
    cases.append((DIGITS, [text], "StatusCode.INVALID_ARGUMENT", "takes images"))
    for model, inputs, code, words in cases:
        with pytest.raises(InferenceServerException) as e:
            client.infer(model, inputs)
        assert e.value.status() == code and words in e.value.message(), e.value
    # Bytes that are not a ModelInferRequest.
    channel = grpc.insecure_channel(server.address)
    call = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer")
    with pytest.raises(grpc.RpcError) as e:
        call(b"\xff\xff\xff")
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def http(server, method, path, body=None, headers=None):
    """(status, parsed JSON or raw bytes, headers) of one HTTP call."""
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{server.http_port}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            status, raw, hdrs = r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        status, raw, hdrs = e.code, e.read(), e.headers
    try:
        return status, json.loads(raw), hdrs
    except ValueError:
        return status, raw, hdrs


def test_tritonclient_http_json_and_binary(env):
    import tritonclient.http as th
    server, pb, stub = env
    client = th.InferenceServerClient(f"127.0.0.1:{server.http_port}")
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready(MLM)
    assert client.get_server_metadata()["name"] == "lion-serve"
    meta = client.get_model_metadata(DIGITS)
    assert meta["inputs"][0]["shape"] == [-1, 1, 8, 8] and meta["versions"] == ["1"]
    for binary in (True, False):
        inp = th.InferInput("text", [len(TEXTS)], "BYTES")
        inp.set_data_from_numpy(np.array([t.encode() for t in TEXTS], dtype=object), binary_data=binary)
        out = th.InferRequestedOutput("embeddings", binary_data=binary)
        got = client.infer(MLM, [inp], outputs=[out]).as_numpy("embeddings")
        for row, text in zip(got, TEXTS):
            close(row, lion_embed(pb, stub, text))
    # No outputs named: tritonclient asks for every default output in binary.
    pixels, _ = digits_pixels(2)
    inp = th.InferInput("pixel_values", [2, 1, 8, 8], "FP32")
    inp.set_data_from_numpy(pixels.astype(np.float32))
    res = client.infer(DIGITS, [inp])
    assert res.as_numpy("logits").shape == (2, 10) and res.as_numpy("embeddings").shape == (2, 64)
    index = client.get_model_repository_index()
    assert {(m["name"], m["state"]) for m in index} == {(DIGITS, "READY"), (MLM, "READY")}


def test_http_bad_input_gets_the_documented_status_and_a_json_error(env):
    server, _, _ = env
    infer = f"/v2/models/{MLM}/infer"
    good_input = {"name": "text", "datatype": "BYTES", "shape": [1], "data": ["hi"]}
    cases = [
        ("POST", infer, b"{not json", 400, "INVALID_ARGUMENT"),
        ("POST", infer, b"[" * 100000, 400, "INVALID_ARGUMENT"),
        ("POST", infer, {"inputs": [{**good_input, "datatype": "FP32", "data": [1.0]}]}, 400, "INVALID_ARGUMENT"),
        ("POST", infer, {"inputs": [{**good_input, "shape": [2]}]}, 400, "INVALID_ARGUMENT"),
        ("POST", infer, {"inputs": [good_input], "outputs": [{"name": "logits"}]}, 400, "INVALID_ARGUMENT"),
        ("POST", infer, b"x" * 2_000_000, 413, "RESOURCE_EXHAUSTED"),
        ("POST", "/v2/models/nope/infer", {"inputs": [good_input]}, 404, "NOT_FOUND"),
        ("GET", "/v2/models/nope", None, 404, "NOT_FOUND"),
        ("GET", "/no/such/route", None, 404, "NOT_FOUND"),
        ("POST", "/embed", {"inputs": 5}, 400, "INVALID_ARGUMENT"),
        ("POST", "/embed", {"inputs": "x", "colour": 1}, 400, "INVALID_ARGUMENT"),
        ("POST", "/v1/embeddings", {"input": [[1, -3]]}, 400, "INVALID_ARGUMENT"),
        ("POST", "/v1/embeddings", {"input": "x", "model": "nope"}, 404, "NOT_FOUND"),
        ("POST", "/v1/embeddings", {"input": "x", "encoding_format": "hex"}, 400, "INVALID_ARGUMENT"),
        ("POST", "/predict", {"inputs": "x", "model": MLM}, 400, "FAILED_PRECONDITION"),
    ]
    for method, path, body, status, code in cases:
        got, payload, _ = http(server, method, path, body)
        assert got == status, (path, body if not isinstance(body, bytes) else body[:20], payload)
        assert payload["code"] == code and payload["error"], payload
    # The server is still fine.
    assert http(server, "GET", "/v2/health/ready")[0] == 200
