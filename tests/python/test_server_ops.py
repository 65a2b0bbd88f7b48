"""lion-serve operations: health transitions, reflection, admission limits,
API keys, the metrics endpoint (promtool, a real Prometheus), graceful SIGTERM
under load, and the command line."""

import concurrent.futures as cf
import json
import re
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from conftest import require_command
from lion_server_harness import (DIGITS, LION_SERVE, MLM, MODELS, Server, digits_pixels,
                                 metrics_text, require_server_and_models, stubs, wait_until)
from tls_certs import make_ca, make_leaf

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture(scope="module")
def pb(tmp_path_factory):
    require_server_and_models(DIGITS, MLM)
    return stubs(tmp_path_factory.mktemp("ops"))


@pytest.fixture(scope="module")
def cal_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("calibration")


def digits_request(pb, i=0, **kw):
    x, _ = digits_pixels(1)
    return pb[0].ClassifyRequest(model=DIGITS, id=str(i), **kw,
                                 image=pb[0].Image(pixels=pb[0].Tensor(shape=[1, 8, 8], data=x.ravel().tolist())))


def test_command_line(pb):
    out = subprocess.run([str(LION_SERVE), "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "--max_batch_tokens" in out.stdout and "LION_MAX_BATCH_TOKENS" in out.stdout
    bad = subprocess.run([str(LION_SERVE), "--model_repository=x", "--max_batch_size=0"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "--max_batch_size" in bad.stderr
    env_bad = subprocess.run([str(LION_SERVE), "--model_repository=x"], capture_output=True, text=True,
                             timeout=30, env={"LION_LOG_FORMAT": "xml"})
    assert env_bad.returncode == 2 and "log_format" in env_bad.stderr


def test_health_reflection_and_drain_to_exit_zero(pb, cal_dir):
    lion_pb2, lion_grpc = pb
    server = Server(MODELS, cal_dir, "--log_format=json")
    try:
        assert all(json.loads(line)["msg"] for line in server.lines)  # every log line is JSON
        channel = grpc.insecure_channel(server.address)
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "lion.v1.Inference"):
            assert health.Check(health_pb2.HealthCheckRequest(service=service)).status == SERVING
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        reply = next(reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")])))
        names = {s.name for s in reply.list_services_response.service}
        assert {"lion.v1.Inference", "lion.v1.Models", "grpc.health.v1.Health"} <= names
        reply = next(reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="lion.v1.Inference")])))
        assert reply.file_descriptor_response.file_descriptor_proto
        watch = health.Watch(health_pb2.HealthCheckRequest(service="lion.v1.Inference"), timeout=60)
        assert next(watch).status == SERVING
        server.signal(signal.SIGTERM)
        assert next(watch).status == NOT_SERVING  # draining
        assert server.proc.wait(60) == 0
        with pytest.raises(grpc.RpcError) as e:
            lion_grpc.ModelsStub(channel).ListModels(lion_pb2.ListModelsRequest(), timeout=5)
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        server.stop()


def test_not_serving_until_models_are_loaded_and_calibrated(pb, tmp_path):
    # --calibrate makes start-up take seconds, with the port already open.
    server = Server(MODELS, tmp_path, "--calibrate", wait_for="listening")
    try:
        channel = grpc.insecure_channel(server.address)
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""), timeout=120)
        assert next(watch).status == NOT_SERVING
        assert next(watch).status == SERVING
        assert pb[1].InferenceStub(channel).Classify(digits_request(pb), timeout=30).predictions
    finally:
        assert server.stop() == 0


def test_queue_full_is_resource_exhausted(pb, cal_dir):
    # One slot and a long batching delay: the first request waits, the rest bounce.
    with Server(MODELS, cal_dir, "--max_queue_size=1", "--max_queue_delay_us=1500000") as server:
        inference = pb[1].InferenceStub(grpc.insecure_channel(server.address))
        with cf.ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(inference.Classify, digits_request(pb, i), timeout=30) for i in range(6)]
            codes = []
            for f in futures:
                try:
                    f.result()
                    codes.append(grpc.StatusCode.OK)
                except grpc.RpcError as e:
                    codes.append(e.code())
                    assert "max_queue_size=1" in e.details()
        assert codes.count(grpc.StatusCode.OK) >= 1
        assert codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED) >= 1
        assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}
        text = metrics_text(server.metrics_port)
        rejected = [l for l in text.splitlines() if l.startswith('lion_rejected_total{model="lion-digits",reason="overloaded"}')]
        assert float(rejected[0].split()[-1]) == codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED)


def test_api_keys(pb, cal_dir, tmp_path):
    keys = tmp_path / "keys.txt"
    keys.write_text("# comment\nsecret-one\nsecret-two\n")
    with Server(MODELS, cal_dir, f"--api_key_file={keys}") as server:
        channel = grpc.insecure_channel(server.address)
        inference, models = pb[1].InferenceStub(channel), pb[1].ModelsStub(channel)
        for metadata in (None, [("authorization", "Bearer wrong")]):
            with pytest.raises(grpc.RpcError) as e:
                inference.Classify(digits_request(pb), metadata=metadata)
            assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert inference.Classify(digits_request(pb), metadata=[("authorization", "Bearer secret-two")])
        assert models.ListModels(pb[0].ListModelsRequest(), metadata=[("x-api-key", "secret-one")])
        # Health stays open for probes.
        assert health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest()).status == SERVING


def test_sigterm_under_load_loses_no_admitted_request(pb, cal_dir):
    server = Server(MODELS, cal_dir, "--max_queue_delay_us=5000000")
    inference = pb[1].InferenceStub(grpc.insecure_channel(server.address))
    with cf.ThreadPoolExecutor(24) as pool:
        futures = [pool.submit(inference.Classify, digits_request(pb, i), timeout=60) for i in range(24)]
        # All 24 are admitted and wait in the queue (5 s batching delay) when SIGTERM comes.
        assert wait_until(lambda: 'lion_queue_depth{model="lion-digits"} 24' in metrics_text(server.metrics_port),
                          timeout=20, interval=0.05)
        server.signal(signal.SIGTERM)
        results = [f.result() for f in futures]  # raises if any was lost
    assert sorted(int(r.id) for r in results) == list(range(24))
    assert server.proc.wait(60) == 0


def test_metrics_pass_promtool_and_prometheus_counts_requests(pb, cal_dir, tmp_path):
    promtool = require_command("promtool", "Debian's prometheus package; scripts/setup installs it")
    prometheus = require_command("prometheus", "Debian's prometheus package; scripts/setup installs it")
    with Server(MODELS, cal_dir) as server:
        inference = pb[1].InferenceStub(grpc.insecure_channel(server.address))
        sent = 17
        for i in range(sent):
            inference.Classify(digits_request(pb, i))
        text = metrics_text(server.metrics_port)
        for family in ("lion_requests_total", "lion_request_duration_seconds", "lion_queue_duration_seconds",
                       "lion_batch_duration_seconds", "lion_batch_size", "lion_batch_tokens",
                       "lion_input_tokens", "lion_form_batches_total", "lion_queue_depth",
                       "lion_rejected_total", "lion_model_info", "lion_device_memory_bytes",
                       "lion_build_info"):
            assert f"# TYPE {family} " in text, family
        used = [l for l in text.splitlines() if l.startswith('lion_device_memory_bytes{device="cpu",kind="used"}')]
        assert used and float(used[0].split()[-1]) > 1e6
        check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True,
                               timeout=30)
        assert check.returncode == 0, check.stdout + check.stderr

        with __import__("socket").socket() as s:
            s.bind(("127.0.0.1", 0))
            prom_port = s.getsockname()[1]
        (tmp_path / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s}\n"
            "scrape_configs:\n"
            f"  - job_name: lion\n    static_configs: [{{targets: ['127.0.0.1:{server.metrics_port}']}}]\n")
        prom = subprocess.Popen([prometheus, f"--config.file={tmp_path / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                 f"--web.listen-address=127.0.0.1:{prom_port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            query = urllib.parse.quote('sum(lion_requests_total{method="Classify",code="OK"})')

            def count():
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/api/v1/query?query={query}",
                                                timeout=5) as r:
                        result = json.loads(r.read())["data"]["result"]
                    return float(result[0]["value"][1]) if result else None
                except OSError:
                    return None
            assert wait_until(lambda: count() == sent, timeout=60, interval=0.5), count()
        finally:
            prom.terminate()
            prom.wait(30)


def reference_scores():
    """The class probabilities of digits_request's image from the PyTorch
    reference model (python/lionserve)."""
    import torch
    from lionserve.models import load_model_dir
    model = load_model_dir(MODELS / DIGITS).eval()
    with torch.no_grad():
        logits = model(torch.as_tensor(digits_pixels(1)[0]))["logits"]
    return torch.softmax(logits.double(), -1)[0].numpy()


def classify_over(pb, channel):
    """The class probabilities the server gives digits_request's image over `channel`."""
    r = pb[1].InferenceStub(channel).Classify(digits_request(pb, top_k=10), timeout=30)
    scores = np.zeros(10)
    for p in r.predictions:
        scores[p.index] = p.score
    return scores


def refusal(pb, channel):
    """The status code of a Classify that must be refused."""
    with pytest.raises(grpc.RpcError) as e:
        pb[1].InferenceStub(channel).Classify(digits_request(pb), timeout=10)
    return e.value.code()


def test_tls(pb, cal_dir, tmp_path):
    ca = make_ca(tmp_path, "lion-test-ca")
    server_pem = make_leaf(tmp_path, "localhost", ca, server=True)
    expected = reference_scores()
    with Server(MODELS, cal_dir, f"--tls_cert={server_pem.cert}", f"--tls_key={server_pem.key}") as server:
        credentials = grpc.ssl_channel_credentials(root_certificates=ca.cert_bytes())
        np.testing.assert_allclose(classify_over(pb, grpc.secure_channel(server.address, credentials)),
                                   expected, atol=1e-4)
        # The certificate names localhost too.
        np.testing.assert_allclose(
            classify_over(pb, grpc.secure_channel(f"localhost:{server.grpc_port}", credentials)),
            expected, atol=1e-4)
        # A plaintext client on a TLS port.
        assert refusal(pb, grpc.insecure_channel(server.address)) in (grpc.StatusCode.UNAVAILABLE,
                                                                      grpc.StatusCode.DEADLINE_EXCEEDED)


def test_mutual_tls_admits_only_clients_with_a_certificate_of_its_ca(pb, cal_dir, tmp_path):
    ca = make_ca(tmp_path / "ca", "lion-test-ca")
    server_pem = make_leaf(tmp_path / "server", "localhost", ca, server=True)
    client_pem = make_leaf(tmp_path / "client", "good-client", ca, server=False)
    # Same subject name as the good client, signed by a CA the server does not trust.
    other_ca = make_ca(tmp_path / "other", "other-ca")
    stranger_pem = make_leaf(tmp_path / "other", "good-client", other_ca, server=False)
    expected = reference_scores()

    def channel(client=None):
        credentials = grpc.ssl_channel_credentials(
            root_certificates=ca.cert_bytes(),
            private_key=client.key_bytes() if client else None,
            certificate_chain=client.cert_bytes() if client else None)
        return grpc.secure_channel(server.address, credentials)

    with Server(MODELS, cal_dir, f"--tls_cert={server_pem.cert}", f"--tls_key={server_pem.key}",
                f"--tls_client_ca={ca.cert}") as server:
        np.testing.assert_allclose(classify_over(pb, channel(client_pem)), expected, atol=1e-4)
        assert refusal(pb, channel()) == grpc.StatusCode.UNAVAILABLE
        assert refusal(pb, channel(stranger_pem)) == grpc.StatusCode.UNAVAILABLE
        assert refusal(pb, grpc.insecure_channel(server.address)) in (grpc.StatusCode.UNAVAILABLE,
                                                                      grpc.StatusCode.DEADLINE_EXCEEDED)

        # The HTTP front takes the same --tls_client_ca.
        def https(client=None):
            context = ssl.create_default_context(cafile=str(ca.cert))
            if client:
                context.load_cert_chain(str(client.cert), str(client.key))
            url = f"https://127.0.0.1:{server.http_port}/v2/models/{DIGITS}"
            with urllib.request.urlopen(url, context=context, timeout=30) as r:
                return r.status, json.loads(r.read())
        status, body = https(client_pem)
        assert status == 200 and body["name"] == DIGITS
        for client in (None, stranger_pem):
            with pytest.raises(OSError) as e:  # a TLS alert or a reset, never an HTTP answer
                https(client)
            assert not isinstance(e.value, urllib.error.HTTPError), e.value

        # Only the admitted call reached the service.
        text = metrics_text(server.metrics_port)
        assert f'lion_requests_total{{code="OK",method="Classify",model="{DIGITS}"}} 1' in text
        assert not re.search(r'lion_requests_total\{code="(?!OK)[A-Z_]+",method="Classify"[^}]*\} [1-9]', text)


def test_expired_requests_are_dropped_not_computed(pb, cal_dir):
    # A 3 s batching delay and a 0.5 s deadline: the batcher drops the request at its deadline.
    with Server(MODELS, cal_dir, "--max_queue_delay_us=3000000") as server:
        inference = pb[1].InferenceStub(grpc.insecure_channel(server.address))
        with pytest.raises(grpc.RpcError) as e:
            inference.Classify(digits_request(pb), timeout=0.5)
        assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED

        def dropped():
            # The batcher sees the passed deadline, or gRPC's cancellation of the call
            # at that deadline, whichever comes first: either way it is never computed.
            text = metrics_text(server.metrics_port)
            counts = [f'lion_rejected_total{{model="lion-digits",reason="{r}"}} 1' in text
                      for r in ("deadline", "cancelled")]
            return sum(counts) == 1 and text
        text = wait_until(dropped, timeout=10)
        assert text, "the expired request was not counted as dropped"
        assert 'lion_form_batches_total{form="rnn",model="lion-digits"} 0' in text
        assert 'lion_form_batches_total{form="full",model="lion-digits"} 0' in text
        assert 'lion_form_batches_total{form="chunk",model="lion-digits"} 0' in text
