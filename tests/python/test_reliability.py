"""lion-serve under faults and hostile input, against the real server with the
default models (loopback only; every test is bounded in requests and time):
the SIGTERM drain, signals during start-up, per-request cost bounds, stream
flow control, isolation of a bad request in a batch, and the contract's error
codes for every case that once broke them."""

import concurrent.futures as cf
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from lion_server_harness import (DIGITS, MLM, MODELS, Server, metrics_text,
                                 require_server_and_models, stubs, wait_until)

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
LONG = 6000  # tokens of a "long" request: about 0.3 s of compute each on two cores


@pytest.fixture(scope="module")
def pb(tmp_path_factory):
    require_server_and_models(DIGITS, MLM)
    return stubs(tmp_path_factory.mktemp("reliability"))


@pytest.fixture(scope="module")
def cal_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("calibration")


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def long_embed(pb, i, tokens=LONG, **kw):
    ids = np.random.default_rng(i).integers(5, 6000, tokens).tolist()
    return pb[0].EmbedRequest(model=MLM, id=str(i), token_ids=pb[0].TokenIds(ids=ids), **kw)


def health(channel):
    return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status


def submit_long(pool, stub, pb, count):
    return [pool.submit(stub.Embed, long_embed(pb, i), timeout=120) for i in range(count)]


def queue_depth(server):
    for line in metrics_text(server.metrics_port).splitlines():
        if line.startswith(f'lion_queue_depth{{model="{MLM}"}}'):
            return float(line.split()[-1])
    return 0.0


def logged(server, message):
    """The fields of every log line of `server` whose message is `message`
    (text lines: "TS LEVEL message key=value ...", or JSON lines)."""
    found = []
    for line in server.lines:
        if line.startswith("{"):
            fields = json.loads(line)
            if fields.get("msg") == message:
                found.append(fields)
            continue
        words = line.split(" ")[2:]
        first_field = next((i for i, w in enumerate(words) if "=" in w), len(words))
        if " ".join(words[:first_field]) == message:
            found.append(dict(w.split("=", 1) for w in words[first_field:] if "=" in w))
    return found


def outcome(future):
    try:
        future.result()
        return "OK"
    except grpc.RpcError as e:
        return e.code().name


# ---- the drain ---------------------------------------------------------------

def test_sigterm_with_50_long_requests_in_flight_finishes_all_of_them(pb, cal_dir):
    server = Server(MODELS, cal_dir, "--drain_timeout_s=120")
    channel = grpc.insecure_channel(server.address)
    stub = pb[1].InferenceStub(channel)
    with cf.ThreadPoolExecutor(50) as pool:
        futures = submit_long(pool, stub, pb, 50)
        assert wait_until(lambda: queue_depth(server) >= 40, timeout=30, interval=0.05)
        server.signal(signal.SIGTERM)
        # Health says NOT_SERVING (the listener is still open) while the work drains.
        assert wait_until(lambda: health(channel) == NOT_SERVING, timeout=10, interval=0.05)
        with pytest.raises(grpc.RpcError) as refused:
            stub.Embed(long_embed(pb, 99, tokens=10), timeout=10)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "draining" in refused.value.details()
        assert not all(f.done() for f in futures), "the drain must still have work to do"
        results = [f.result() for f in futures]  # raises if any was lost
        last_answer = time.monotonic()
    assert sorted(int(r.id) for r in results) == list(range(50))
    assert server.proc.wait(30) == 0
    # "right after the last one": no waiting out the drain timeout.
    assert time.monotonic() - last_answer < 10
    assert any("drained" in line for line in server.lines)


def test_second_signal_ends_the_drain_at_once(pb, cal_dir):
    server = Server(MODELS, cal_dir, "--drain_timeout_s=300")
    stub = pb[1].InferenceStub(grpc.insecure_channel(server.address))
    with cf.ThreadPoolExecutor(40) as pool:
        futures = submit_long(pool, stub, pb, 40)
        assert wait_until(lambda: queue_depth(server) >= 30, timeout=30, interval=0.05)
        server.signal(signal.SIGTERM)
        time.sleep(0.5)
        started = time.monotonic()
        server.signal(signal.SIGINT)
        assert server.proc.wait(30) == 0
        ended = time.monotonic() - started
        outcomes = [outcome(f) for f in futures]
    assert ended < 15, f"the second signal took {ended:.1f} s to end the process"
    assert set(outcomes) <= {"OK", "UNAVAILABLE"}, outcomes
    assert outcomes.count("UNAVAILABLE") >= 20, outcomes
    assert any("drain cut short" in line and "second signal" in line for line in server.lines)


def test_drain_past_its_timeout_answers_the_rest_unavailable(pb, cal_dir):
    # 40 long requests are about 12 s of work: far past a 1 s drain timeout.
    server = Server(MODELS, cal_dir, "--drain_timeout_s=1")
    stub = pb[1].InferenceStub(grpc.insecure_channel(server.address))
    with cf.ThreadPoolExecutor(40) as pool:
        futures = submit_long(pool, stub, pb, 40)
        assert wait_until(lambda: queue_depth(server) >= 30, timeout=30, interval=0.05)
        server.signal(signal.SIGTERM)
        assert server.proc.wait(60) == 0
        errors = []
        for f in futures:
            try:
                f.result()
            except grpc.RpcError as e:
                errors.append(e)
    # Every call was answered; what the drain did not finish got UNAVAILABLE
    # saying why (the ones that finished in time are plain answers).
    assert len(errors) >= 20, f"only {len(errors)} of 40 were cut: the drain waited them out"
    assert all(e.code() == grpc.StatusCode.UNAVAILABLE for e in errors), [e.code() for e in errors]
    assert all("drain timed out" in e.details() for e in errors), [e.details() for e in errors]
    cut = logged(server, "drain cut short")
    assert len(cut) == 1 and cut[0]["reason"] == "timeout", server.lines[-10:]
    # Logged before the rest is ended: every call that got UNAVAILABLE was in flight.
    assert int(cut[0]["in_flight"]) >= len(errors), cut
    assert not logged(server, "drained")


def test_sigterm_while_loading_exits_promptly(tmp_path):
    require_server_and_models(MLM)
    repo = tmp_path / "repo"
    stuck = repo / "stuck"
    stuck.mkdir(parents=True)
    shutil.copy(MODELS / MLM / "config.json", stuck / "config.json")
    shutil.copy(MODELS / MLM / "model.safetensors", stuck / "model.safetensors")
    # Opening it for reading never returns: a stall after the weights are
    # loaded (the weights loader refuses a FIFO at once, the tokenizer does not).
    os.mkfifo(stuck / "vocab.txt")
    server = Server(repo, tmp_path / "cal", wait_for="listening")
    time.sleep(1.0)
    assert server.proc.poll() is None, "\n".join(server.lines)
    server.signal(signal.SIGTERM)
    assert server.proc.wait(10) == 0
    assert any("stopped during start-up" in line for line in server.lines)


# ---- bounded cost per request ------------------------------------------------

def test_adversarial_combining_marks_tokenize_quickly(pb, cal_dir):
    # 64 KB: a run of combining marks in descending combining class, which
    # canonical ordering must sort (it took 20 CPU-seconds at 120 KB before).
    text = "a" + "\u0301" * 16384 + "\u0316" * 16384
    with Server(MODELS, cal_dir) as server:
        stub = pb[1].InferenceStub(grpc.insecure_channel(server.address))
        started = time.monotonic()
        resp = stub.Tokenize(pb[0].TokenizeRequest(model=MLM, text=text, add_special_tokens=True),
                             timeout=60)
        elapsed = time.monotonic() - started
    assert list(resp.tokens)[0] == "[CLS]" and list(resp.tokens)[-1] == "[SEP]"
    # A complexity guard with a wide margin, not a speed measurement: the
    # quadratic sort needed about 6 s for this input here.
    assert elapsed < 1.0, f"took {elapsed:.2f} s"


def test_huge_text_is_refused_before_tokenizing_with_bounded_memory(pb, cal_dir):
    text = "word " * (64_000_000 // 5)  # 64 MB
    with Server(MODELS, cal_dir) as server:
        channel = grpc.insecure_channel(server.address,
                                        options=[("grpc.max_send_message_length", 70 << 20)])
        stub = pb[1].InferenceStub(channel)
        stub.Embed(pb[0].EmbedRequest(model=MLM, text="warm up"), timeout=30)
        before = rss_bytes(server.proc.pid)
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as e:
            stub.Embed(pb[0].EmbedRequest(model=MLM, text=text), timeout=60)
        elapsed = time.monotonic() - started
        after = rss_bytes(server.proc.pid)
        text_metrics = metrics_text(server.metrics_port)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "--max_text_bytes" in e.value.details()
    assert after - before < 100 << 20, f"RSS grew by {(after - before) >> 20} MiB"
    assert elapsed < 10
    assert 'lion_requests_total{code="INVALID_ARGUMENT",method="Embed",model=""} 1' in text_metrics


def test_huge_tokenizations_neither_starve_small_requests_nor_outlive_their_deadline(pb, cal_dir):
    # Two 8 MB texts that must be read to the end (left truncation keeps the
    # last tokens), then a small request: the small one is served inline on a
    # gRPC thread while the big ones wait for the preprocess pool.
    big = "lorem ipsum dolor sit amet " * (8_000_000 // 27)
    with Server(MODELS, cal_dir) as server:
        channel = grpc.insecure_channel(server.address,
                                        options=[("grpc.max_send_message_length", 16 << 20)])
        stub = pb[1].InferenceStub(channel)
        done = {}

        def timed(name, request, timeout):
            try:
                stub.Embed(request, timeout=timeout)
                done[name] = ("OK", time.monotonic())
            except grpc.RpcError as e:
                done[name] = (e.code().name, time.monotonic())
        with cf.ThreadPoolExecutor(3) as pool:
            bigs = [pool.submit(timed, f"big{i}", pb[0].EmbedRequest(
                model=MLM, text=big, truncation=pb[0].TRUNCATION_LEFT), 120) for i in range(2)]
            time.sleep(0.2)
            pool.submit(timed, "small", pb[0].EmbedRequest(model=MLM, text="a short text"), 60).result()
            for f in bigs:
                f.result()
        assert done["small"][0] == "OK"
        assert done["small"][1] < min(done["big0"][1], done["big1"][1])
        assert done["big0"][0] == done["big1"][0] == "OK"
        # The same text with a deadline shorter than its tokenizing: the
        # pool stops at the next 64 KiB piece, and the call ends as such.
        with pytest.raises(grpc.RpcError) as e:
            stub.Embed(pb[0].EmbedRequest(model=MLM, text=big, truncation=pb[0].TRUNCATION_LEFT),
                       timeout=0.3)
        assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        text = wait_until(lambda: (t := metrics_text(server.metrics_port)) and
                          'code="DEADLINE_EXCEEDED",method="Embed",model="lion-mlm-mini"} 1' in t and t,
                          timeout=30)
        assert text, "the expired tokenization was not counted as DEADLINE_EXCEEDED"


def test_request_whose_queue_wait_exceeds_its_deadline_is_refused_at_once(pb, cal_dir):
    server = Server(MODELS, cal_dir)
    stub = pb[1].InferenceStub(grpc.insecure_channel(server.address))
    try:
        stub.Embed(long_embed(pb, 0), timeout=60)  # the runner learns its throughput
        with cf.ThreadPoolExecutor(30) as pool:
            futures = submit_long(pool, stub, pb, 30)  # several seconds of work
            assert wait_until(lambda: queue_depth(server) >= 20, timeout=30, interval=0.05)
            started = time.monotonic()
            with pytest.raises(grpc.RpcError) as e:
                stub.Embed(long_embed(pb, 100), timeout=0.5)
            assert time.monotonic() - started < 0.5
            assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "estimated queue wait" in e.value.details()
            assert all(f.result().id for f in futures)
    finally:
        server.stop(120)


# ---- streams -----------------------------------------------------------------

def test_a_stream_of_3000_pipelined_messages_is_served_completely(pb, cal_dir):
    with Server(MODELS, cal_dir) as server:
        stub = pb[1].InferenceStub(grpc.insecure_channel(server.address))
        requests = (pb[0].EmbedRequest(model=MLM, id=str(i), text=f"message number {i}")
                    for i in range(3000))
        ids = [r.id for r in stub.EmbedStream(requests, timeout=300)]
    assert sorted(int(i) for i in ids) == list(range(3000))


def test_a_bad_message_does_not_lose_the_results_before_it(pb, cal_dir):
    with Server(MODELS, cal_dir) as server:
        stub = pb[1].InferenceStub(grpc.insecure_channel(server.address))
        requests = [pb[0].EmbedRequest(model=MLM, id=str(i), text=f"good {i}") for i in range(5)]
        requests.append(pb[0].EmbedRequest(model=MLM, id="bad", text=""))
        got = []
        with pytest.raises(grpc.RpcError) as e:
            for r in stub.EmbedStream(iter(requests), timeout=60):
                got.append(r.id)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "text: must not be empty" in e.value.details()
    assert sorted(got) == [str(i) for i in range(5)]


def test_a_client_that_stops_reading_does_not_grow_the_server(pb, cal_dir):
    # 300 responses of 1 MB each (2000 tokens x 128 floats); the client never
    # reads one. The server holds at most --max_stream_in_flight of them and
    # stops reading (and computing) meanwhile.
    with Server(MODELS, cal_dir, "--max_stream_in_flight=4") as server:
        stub = pb[1].InferenceStub(grpc.insecure_channel(server.address))
        stub.Embed(long_embed(pb, 0, tokens=2000), timeout=60)
        before = rss_bytes(server.proc.pid)
        requests = (long_embed(pb, i, tokens=2000, return_token_embeddings=True)
                    for i in range(300))
        call = stub.EmbedStream(requests, timeout=120)
        time.sleep(8)
        grown = rss_bytes(server.proc.pid) - before
        text = metrics_text(server.metrics_port)
        call.cancel()
        assert health(grpc.insecure_channel(server.address)) == SERVING
    computed = next(float(line.split()[-1]) for line in text.splitlines()
                    if line.startswith('lion_requests_total{code="OK",method="EmbedStream"'))
    # 4 in flight, plus the responses gRPC accepted into the connection's
    # flow-control windows (its BDP probing grows them on loopback: 20 seen):
    # bounded, far from the 300 sent, and the RSS bound below holds.
    assert computed <= 40, f"{computed} responses computed for a client that reads none"
    assert grown < 100 << 20, f"RSS grew by {grown >> 20} MiB"


# A client in its own process: it streams the length-prefixed messages of a
# file and never reads an answer, until it is killed.
NON_READING_CLIENT = """
import sys, time, grpc
address, path = sys.argv[1:3]
data, messages = open(path, "rb").read(), []
while data:
    size = int.from_bytes(data[:4], "little")
    messages.append(data[4:4 + size])
    data = data[4 + size:]
call = grpc.insecure_channel(address).stream_stream("/lion.v1.Inference/EmbedStream")(
    iter(messages), timeout=120)
print("streaming", flush=True)
time.sleep(120)
"""


def stream_answers(server, code="OK"):
    prefix = f'lion_requests_total{{code="{code}",method="EmbedStream",model="{MLM}"}}'
    return next((float(line.split()[-1]) for line in metrics_text(server.metrics_port).splitlines()
                 if line.startswith(prefix)), 0.0)


def test_streams_whose_client_dies_or_cancels_mid_way_free_their_slots(pb, cal_dir, tmp_path):
    slots = 4
    # The queue holds one stream's worth: messages of the dead streams left in
    # it would make the last stream's RESOURCE_EXHAUSTED.
    server = Server(MODELS, cal_dir, f"--max_stream_in_flight={slots}", f"--max_queue_size={slots}",
                    "--drain_timeout_s=20")
    try:
        stub = pb[1].InferenceStub(grpc.insecure_channel(server.address))

        # 1. A client that stops reading 1 MB answers, then dies: the server
        # holds what flow control lets through, and its writes then fail.
        messages = tmp_path / "stream.bin"
        with open(messages, "wb") as f:
            for i in range(40):
                body = long_embed(pb, i, tokens=2000, return_token_embeddings=True).SerializeToString()
                f.write(len(body).to_bytes(4, "little") + body)
        client = subprocess.Popen([sys.executable, "-c", NON_READING_CLIENT, server.address, str(messages)],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert client.stdout.readline().strip() == "streaming"
            assert wait_until(lambda: stream_answers(server) >= slots, timeout=60), \
                "the server never computed the first answers of the non-reading stream"
        finally:
            client.kill()
            client.wait(30)
        assert wait_until(lambda: queue_depth(server) == 0, timeout=60), queue_depth(server)

        # 2. A stream that its client cancels after three answers, with the
        # rest of its messages queued or computing.
        call = stub.EmbedStream((long_embed(pb, 100 + i, tokens=2000) for i in range(40)), timeout=120)
        assert len([next(call) for _ in range(3)]) == 3
        call.cancel()
        with pytest.raises(grpc.RpcError) as e:
            list(call)
        assert e.value.code() == grpc.StatusCode.CANCELLED

        # Nothing of either stream stays queued.
        assert wait_until(lambda: queue_depth(server) == 0, timeout=60), queue_depth(server)

        # 3. A new stream pipelines 3 x slots messages and gets every answer,
        # each the same as its unary Embed.
        requests = [pb[0].EmbedRequest(model=MLM, id=str(i), text=f"stream message {i}")
                    for i in range(3 * slots)]
        answers = {r.id: np.array(r.embedding) for r in stub.EmbedStream(iter(requests), timeout=120)}
        assert sorted(answers, key=int) == [str(i) for i in range(3 * slots)]
        for r in (requests[0], requests[-1]):
            np.testing.assert_allclose(answers[r.id], stub.Embed(r, timeout=30).embedding, rtol=1e-5,
                                       atol=1e-6)
        assert health(grpc.insecure_channel(server.address)) == SERVING
    finally:
        server.signal(signal.SIGTERM)
        code = server.proc.wait(60)
    # The drain gate counts every admitted message until it is answered: a
    # message of the dead streams still counted would hold the drain until
    # its timeout ("drain cut short" reason=timeout).
    assert code == 0
    assert logged(server, "drained") and not logged(server, "drain cut short"), server.lines[-10:]


# ---- isolation and the contract ----------------------------------------------

def test_one_out_of_vocabulary_id_in_a_batch_of_12_fails_alone(pb, cal_dir):
    with Server(MODELS, cal_dir) as server:
        stub = pb[1].InferenceStub(grpc.insecure_channel(server.address))
        requests = [long_embed(pb, i, tokens=50) for i in range(12)]
        requests[7].token_ids.ids[10] = 6000  # the vocabulary has 6000 tokens
        with cf.ThreadPoolExecutor(12) as pool:
            futures = [pool.submit(stub.Embed, r, timeout=60) for r in requests]
            outcomes = [outcome(f) for f in futures]
    assert outcomes[7] == "INVALID_ARGUMENT"
    assert outcomes[:7] + outcomes[8:] == ["OK"] * 11


def test_vocabulary_longer_than_the_model_is_refused_at_start(tmp_path):
    require_server_and_models(MLM)
    repo = tmp_path / "repo"
    shutil.copytree(MODELS / MLM, repo / MLM)
    with open(repo / MLM / "vocab.txt", "a") as f:
        f.write("extra-token\n")
    with pytest.raises(AssertionError) as e:
        Server(repo, tmp_path / "cal", timeout=120)
    assert "more than vocab_size=6000" in str(e.value)


def raw_call(channel, method, payload, timeout=30):
    call = channel.unary_unary(f"/lion.v1.Inference/{method}")  # bytes in, bytes out
    return call(payload, timeout=timeout)


def test_contract_error_codes_for_hostile_input(pb, cal_dir):
    lion_pb2 = pb[0]
    with Server(MODELS, cal_dir) as server:
        channel = grpc.insecure_channel(server.address,
                                        options=[("grpc.max_send_message_length", 70 << 20)])
        stub = pb[1].InferenceStub(channel)

        def code_and_details(fn):
            with pytest.raises(grpc.RpcError) as e:
                fn()
            return e.value.code(), e.value.details()

        # Invalid UTF-8 in a string field, and garbage bytes: INVALID_ARGUMENT, counted.
        good = lion_pb2.EmbedRequest(model=MLM, text="abc").SerializeToString()
        bad_utf8 = good.replace(b"abc", b"a\xc3(")
        code, details = code_and_details(lambda: raw_call(channel, "Embed", bad_utf8))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "text: not valid UTF-8" in details
        code, details = code_and_details(lambda: raw_call(channel, "Embed", b"\xff\xff\xff\xff\xff"))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "lion.v1.EmbedRequest" in details

        # Unbounded user values are cut short in messages (no trailer overflow).
        code, details = code_and_details(
            lambda: stub.Embed(lion_pb2.EmbedRequest(model="m" * 100_000, text="x"), timeout=30))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "more than the limit of 1024" in details
        code, details = code_and_details(
            lambda: stub.Embed(lion_pb2.EmbedRequest(model="m" * 1000, text="x"), timeout=30))
        assert code == grpc.StatusCode.NOT_FOUND and len(details) < 400
        pixels = lion_pb2.Tensor(shape=[1] * 1_000_000, data=[0.0] * 64)
        code, details = code_and_details(lambda: stub.Classify(
            lion_pb2.ClassifyRequest(model=DIGITS, image=lion_pb2.Image(pixels=pixels)), timeout=30))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and len(details) < 400

        # Finite but absurd pixels, and empty text: INVALID_ARGUMENT, not NaN scores.
        huge = lion_pb2.Tensor(shape=[1, 8, 8], data=[3e38] * 64)
        code, details = code_and_details(lambda: stub.Classify(
            lion_pb2.ClassifyRequest(model=DIGITS, image=lion_pb2.Image(pixels=huge)), timeout=30))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "image.pixels.data[0]" in details
        code, details = code_and_details(
            lambda: stub.Embed(lion_pb2.EmbedRequest(model=MLM, text=""), timeout=30))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "must not be empty" in details

        # A response that could not be sent is refused before any compute.
        started = time.monotonic()
        code, details = code_and_details(lambda: stub.FillMask(
            lion_pb2.FillMaskRequest(model=MLM, text=" ".join(["[MASK]"] * 2000), top_k=6000),
            timeout=60))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "top_k" in details
        assert time.monotonic() - started < 2

        text = metrics_text(server.metrics_port)
        assert 'lion_requests_total{code="INVALID_ARGUMENT",method="Embed",model=""} 3' in text
        assert 'lion_form_batches_total{form="full",model="lion-mlm-mini"} 0' in text


def test_work_that_expires_during_compute_counts_as_deadline_exceeded(pb, cal_dir):
    with Server(MODELS, cal_dir) as server:
        stub = pb[1].InferenceStub(grpc.insecure_channel(server.address))
        with pytest.raises(grpc.RpcError) as e:
            stub.Embed(long_embed(pb, 0, tokens=8000), timeout=0.05)
        assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED

        def counted():
            text = metrics_text(server.metrics_port)
            return 'lion_requests_total{code="DEADLINE_EXCEEDED",method="Embed",model="lion-mlm-mini"} 1' in text and text
        text = wait_until(counted, timeout=30)
        assert text, "the expired request was not counted as DEADLINE_EXCEEDED"
        assert 'lion_requests_total{code="OK",method="Embed",model="lion-mlm-mini"} 0' in text


def test_slow_metrics_clients_do_not_block_scrapes(cal_dir):
    require_server_and_models(DIGITS, MLM)
    with Server(MODELS, cal_dir) as server:
        stop = threading.Event()
        sockets = []
        for _ in range(16):  # each sends a header one byte at a time, never finishing
            s = socket.create_connection(("127.0.0.1", server.metrics_port), timeout=5)
            sockets.append(s)

        def trickle():
            while not stop.wait(0.5):
                for s in sockets:
                    try:
                        s.send(b"X")
                    except OSError:
                        pass
        for s in sockets:
            s.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        t = threading.Thread(target=trickle, daemon=True)
        t.start()
        try:
            time.sleep(1)
            for _ in range(3):
                assert "lion_build_info" in metrics_text(server.metrics_port)
        finally:
            stop.set()
            t.join()
            for s in sockets:
                s.close()
