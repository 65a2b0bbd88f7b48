"""The HTTP/JSON front against the real lion-serve: the OpenAI Python client
and TEI-style routes give what lion.v1 gives for the same inputs, the README's
curl examples run, API keys and TLS guard HTTP like gRPC, and HTTP calls are
counted by front."""

import base64
import json
import re
import subprocess

import grpc
import numpy as np
import pytest

from conftest import require_command
from lion_server_harness import (DIGITS, MLM, MODELS, REPO_ROOT, Server, metrics_text,
                                 require_server_and_models, stubs)
from test_oip import http

TEXTS = ["the cat sat on the mat", "hello world", "[MASK] is mightier than the sword"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    require_server_and_models(DIGITS, MLM)
    root = tmp_path_factory.mktemp("http")
    pb, pb_grpc = stubs(root)
    server = Server(MODELS, root, "--max_input_tokens=128")
    channel = grpc.insecure_channel(server.address)
    yield server, pb, pb_grpc.InferenceStub(channel)
    channel.close()
    assert server.stop() == 0


def lion_embed(pb, stub, text, normalize):
    r = stub.Embed(pb.EmbedRequest(model=MLM, text=text, normalize=normalize))
    return np.array(r.embedding, dtype=np.float32), r.usage.input_tokens


def close(a, b):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float32), b, rtol=1e-5, atol=1e-6)


def test_openai_client_gets_lion_embeddings(env):
    from openai import OpenAI
    server, pb, stub = env
    client = OpenAI(base_url=f"http://127.0.0.1:{server.http_port}/v1", api_key="unused")
    for fmt in ("float", "base64"):
        r = client.embeddings.create(model=MLM, input=TEXTS, encoding_format=fmt)
        assert r.model == MLM and [d.index for d in r.data] == [0, 1, 2]
        tokens = 0
        for d, text in zip(r.data, TEXTS):
            want, n = lion_embed(pb, stub, text, normalize=True)
            # Asked for base64 explicitly, the client hands the string over as is.
            got = np.frombuffer(base64.b64decode(d.embedding), "<f4") if fmt == "base64" else d.embedding
            close(got, want)
            tokens += n
        assert r.usage.prompt_tokens == tokens == r.usage.total_tokens
    # Token ids in, as OpenAI clients send them for pre-tokenized input.
    ids = list(stub.Tokenize(pb.TokenizeRequest(model=MLM, text=TEXTS[0], add_special_tokens=True)).ids)
    r = client.embeddings.create(model=MLM, input=[ids])  # the client's default: base64, decoded
    close(r.data[0].embedding, lion_embed(pb, stub, TEXTS[0], normalize=True)[0])
    assert [m.id for m in client.models.list()] == [DIGITS, MLM]


def test_tei_routes_in_tei_shapes(env):
    server, pb, stub = env
    status, got, _ = http(server, "POST", "/embed", {"inputs": TEXTS})
    assert status == 200 and len(got) == 3 and all(len(v) == 128 for v in got)
    for v, text in zip(got, TEXTS):
        close(v, lion_embed(pb, stub, text, normalize=True)[0])  # TEI normalises by default
    status, raw, _ = http(server, "POST", "/embed", {"inputs": TEXTS[1], "normalize": False})
    close(raw[0], lion_embed(pb, stub, TEXTS[1], normalize=False)[0])
    long = {"inputs": "word " * 400}
    assert http(server, "POST", "/embed", long)[0] == 400
    assert http(server, "POST", "/embed", {**long, "truncate": True})[0] == 200
    status, tokens, _ = http(server, "POST", "/tokenize", {"inputs": TEXTS[1]})
    want = stub.Tokenize(pb.TokenizeRequest(model=MLM, text=TEXTS[1], add_special_tokens=True))
    assert status == 200 and [t["id"] for t in tokens[0]] == list(want.ids)
    assert tokens[0][0] == {"id": want.ids[0], "text": "[CLS]", "special": True, "start": None, "stop": None}
    assert tokens[0][1]["text"] == TEXTS[1][tokens[0][1]["start"]:tokens[0][1]["stop"]]
    status, info, _ = http(server, "GET", "/info")
    assert status == 200 and info["model_id"] == MLM and "embedding" in info["model_type"]
    status, info, _ = http(server, "GET", f"/info?model={DIGITS}")
    assert info["model_type"]["classifier"]["id2label"]["3"] == "3"
    assert http(server, "GET", "/health")[0] == 200


def readme_curl_commands():
    text = (REPO_ROOT / "README.md").read_text()
    section = text.split("## HTTP/JSON, OpenAI- and TEI-style routes", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [c.strip() for c in block.replace("\\\n", " ").splitlines() if c.strip().startswith("curl")]


def test_readme_curl_examples_run(env):
    require_command("curl", "the README's examples use it; scripts/setup installs it")
    server, _, _ = env
    commands = readme_curl_commands()
    assert len(commands) >= 5
    for command in commands:
        command = command.replace("localhost:8080", f"127.0.0.1:{server.http_port}")
        out = subprocess.run(["bash", "-c", command + " -w '\\n%{http_code}'"], capture_output=True,
                             text=True, timeout=60)
        body, status = out.stdout.rsplit("\n", 1)
        assert out.returncode == 0 and status == "200", (command, out.stdout, out.stderr)
        assert "error" not in json.loads(body), body


def test_http_calls_are_counted_by_front(env):
    server, _, _ = env
    http(server, "POST", "/embed", {"inputs": "counted"})
    text = metrics_text(server.metrics_port)
    assert re.search(r'lion_front_requests_total\{code="OK",front="http",route="POST /embed"\} [1-9]', text)
    assert re.search(r'lion_requests_total\{code="OK",method="Embed",model="lion-mlm-mini"\} [1-9]', text)


def test_api_keys_and_tls_guard_http_like_grpc(tmp_path):
    require_server_and_models(DIGITS, MLM)
    require_command("openssl", "it makes the test certificate; scripts/setup installs it")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    keys = tmp_path / "keys.txt"
    keys.write_text("sekret\n")
    with Server(MODELS, tmp_path, f"--tls_cert={cert}", f"--tls_key={key}", f"--api_key_file={keys}") as server:
        url = f"https://localhost:{server.http_port}"
        def curl(path, *extra):
            out = subprocess.run(["curl", "-s", "--cacert", str(cert), "-w", "\n%{http_code}", *extra,
                                  url + path], capture_output=True, text=True, timeout=60)
            body, status = out.stdout.rsplit("\n", 1)
            return int(status), body
        assert curl("/v2/health/ready")[0] == 200  # probes stay open
        status, body = curl("/embed", "-d", '{"inputs": "x"}')
        assert status == 401 and json.loads(body)["code"] == "UNAUTHENTICATED"
        status, body = curl("/embed", "-d", '{"inputs": "x"}', "-H", "Authorization: Bearer sekret")
        assert status == 200 and len(json.loads(body)[0]) == 128
        assert curl("/embed", "-d", '{"inputs": "x"}', "-H", "x-api-key: wrong")[0] == 401
        # The Open Inference Protocol over gRPC takes the same keys (probes open).
        from tritonclient.grpc import service_pb2 as oip
        channel = grpc.secure_channel(f"localhost:{server.grpc_port}",
                                      grpc.ssl_channel_credentials(root_certificates=cert.read_bytes()))
        def rpc(name, response):
            return channel.unary_unary(f"/inference.GRPCInferenceService/{name}",
                                       request_serializer=lambda m: m.SerializeToString(),
                                       response_deserializer=response.FromString)
        assert rpc("ServerLive", oip.ServerLiveResponse)(oip.ServerLiveRequest(), timeout=30).live
        metadata = rpc("ModelMetadata", oip.ModelMetadataResponse)
        with pytest.raises(grpc.RpcError) as e:
            metadata(oip.ModelMetadataRequest(name=MLM), timeout=30)
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
        got = metadata(oip.ModelMetadataRequest(name=MLM), timeout=30,
                       metadata=[("authorization", "Bearer sekret")])
        assert got.name == MLM
        channel.close()
        plain = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                f"http://localhost:{server.http_port}/v2/health/live"],
                               capture_output=True, text=True, timeout=60)
        assert plain.stdout != "200"  # TLS only


def test_sigterm_drains_http_calls_in_flight(tmp_path):
    import concurrent.futures as cf
    import signal
    from lion_server_harness import wait_until
    require_server_and_models(DIGITS, MLM)

    def admitted():  # requests past tokenizing, on their way to the batcher
        for line in metrics_text(server.metrics_port).splitlines():
            if line.startswith(f'lion_input_tokens_count{{model="{MLM}"}}'):
                return float(line.split()[-1])
        return 0.0
    server = Server(MODELS, tmp_path, "--drain_timeout_s=120")
    rng = np.random.default_rng(0)
    bodies = [{"model": MLM, "input": [rng.integers(5, 6000, 6000).tolist()]} for _ in range(20)]
    with cf.ThreadPoolExecutor(20) as pool:
        futures = [pool.submit(http, server, "POST", "/v1/embeddings", b) for b in bodies]
        assert wait_until(lambda: admitted() >= 20, timeout=60, interval=0.05)
        server.signal(signal.SIGTERM)
        assert wait_until(lambda: http(server, "GET", "/v2/health/ready")[0] == 503, timeout=10, interval=0.05)
        status, body, _ = http(server, "POST", "/embed", {"inputs": "late"})
        assert status == 503 and body["code"] == "UNAVAILABLE" and "draining" in body["error"]
        assert not all(f.done() for f in futures), "the drain must still have work to do"
        results = [f.result() for f in futures]
    assert [r[0] for r in results] == [200] * 20
    assert all(len(r[1]["data"][0]["embedding"]) == 128 for r in results)
    assert server.proc.wait(60) == 0


def test_predict_on_a_text_classifier_equals_classify(tmp_path):
    from lionserve.golden import make_random_model_dir
    require_server_and_models(DIGITS, MLM)
    repo = tmp_path / "repo"
    make_random_model_dir(repo / "clf", "lion_bert", "d", seed=3, task="classification",
                          has_pooler=True, has_mlm_head=False)
    pb, pb_grpc = stubs(tmp_path)
    texts = ["tok5 tok7 tok9", "tok11"]
    with Server(repo, tmp_path) as server:
        stub = pb_grpc.InferenceStub(grpc.insecure_channel(server.address))
        status, got, _ = http(server, "POST", "/predict", {"inputs": texts})
        assert status == 200 and len(got) == 2
        for scores, text in zip(got, texts):
            want = stub.Classify(pb.ClassifyRequest(model="clf", text=text))
            assert [s["label"] for s in scores] == [p.label for p in want.predictions]
            close([s["score"] for s in scores], np.array([p.score for p in want.predictions], np.float32))
        status, single, _ = http(server, "POST", "/predict", {"inputs": texts[0], "raw_scores": True})
        assert status == 200 and {s["label"] for s in single} == {"negative", "positive"}
        # OIP logits of a text classifier.
        status, out, _ = http(server, "POST", "/v2/models/clf/infer", {"inputs": [
            {"name": "text", "datatype": "BYTES", "shape": [1], "data": [texts[0]]}], "outputs": [{"name": "logits"}]})
        raw = stub.Classify(pb.ClassifyRequest(model="clf", text=texts[0], raw_scores=True))
        want = np.zeros(2, np.float32)
        for p in raw.predictions:
            want[p.index] = p.score
        assert status == 200 and out["outputs"][0]["shape"] == [1, 2]
        close(out["outputs"][0]["data"], want)
