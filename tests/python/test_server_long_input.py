"""A 1,000,000-token request to the small LION-D MLM through the real server:
it completes, in a linear form chosen by the policy, with the server's peak
memory bounded by the chunk/RNN working set (no L x L buffer: that alone would
be 4 TB)."""

import math
import os

import numpy as np
import pytest

from lion_server_harness import MLM, MODELS, Server, require_server_and_models, stubs

TOKENS = 1_000_000


@pytest.fixture(scope="module")
def pb(tmp_path_factory):
    require_server_and_models(MLM)
    return stubs(tmp_path_factory.mktemp("long"))


def peak_rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def test_million_token_embedding(pb, tmp_path):
    import grpc
    repo = tmp_path / "repo"
    repo.mkdir()
    os.symlink(MODELS / MLM, repo / MLM)
    lion_pb2, lion_grpc = pb
    ids = np.random.default_rng(0).integers(5, 6000, TOKENS).tolist()
    with Server(repo, tmp_path / "cal", f"--max_input_tokens={TOKENS + 2}",
                "--max_message_bytes=33554432") as server:
        before = peak_rss_bytes(server.proc.pid)
        channel = grpc.insecure_channel(server.address, options=[
            ("grpc.max_send_message_length", 32 << 20), ("grpc.max_receive_message_length", 32 << 20)])
        stub = lion_grpc.InferenceStub(channel)
        resp = stub.Embed(lion_pb2.EmbedRequest(model=MLM, id="long",
                                                token_ids=lion_pb2.TokenIds(ids=ids)), timeout=900)
        peak = peak_rss_bytes(server.proc.pid)
    print(f"1M tokens: form {resp.usage.form}, compute {resp.usage.compute_us / 1e6:.1f} s, "
          f"peak RSS growth {(peak - before) / 2**30:.2f} GiB")
    assert resp.id == "long"
    assert resp.usage.input_tokens == TOKENS
    assert resp.usage.form in (lion_pb2.FORM_CHUNK, lion_pb2.FORM_RNN)
    assert len(resp.embedding) == 128 and all(math.isfinite(x) for x in resp.embedding)
    # Activations are 0.5 GB per [1M, 128] fp32 tensor; the whole request stays
    # within a few of them (measured: about 5 GB).
    assert peak - before < 8 << 30, f"peak grew by {(peak - before) / 2**30:.1f} GiB"
