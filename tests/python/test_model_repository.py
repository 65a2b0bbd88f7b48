"""The live model repository against the real lion-serve (--model_control=poll
and explicit): a model copied in becomes ready and serves; replacing its
weights changes the answers with no failed request under a bounded load;
removing it makes it NOT_FOUND; a broken directory stays UNAVAILABLE with its
reason while the others keep serving."""

import os
import shutil
import threading
import time

import grpc
import numpy as np
import pytest

from lion_server_harness import DIGITS, MLM, MODELS, Server, require_server_and_models, stubs, wait_until


def copy_in(src, repo, name):
    """Copies a model directory in the way operators should: under a hidden
    name, then one rename (the poller skips hidden folders)."""
    staging = repo / f".{name}"
    shutil.copytree(src, staging)
    os.rename(staging, repo / name)


def perturbed_weights(src, dst):
    """model.safetensors of `src` with every float tensor scaled, written to `dst`."""
    from safetensors.numpy import load_file, save_file
    tensors = load_file(str(src / "model.safetensors"))
    save_file({k: (v * np.asarray(1.25, dtype=v.dtype) if v.dtype.kind == "f" else v)
               for k, v in tensors.items()}, str(dst))


@pytest.fixture(scope="module")
def pb(tmp_path_factory):
    require_server_and_models(DIGITS, MLM)
    return stubs(tmp_path_factory.mktemp("repo_stubs"))


def embed(stub, pb_mod, model, text="the cat sat on the mat"):
    return np.array(stub.Embed(pb_mod.EmbedRequest(model=model, text=text), timeout=30).embedding)


def code(call):
    """(status code, details) of a call; (OK, "") when it succeeds."""
    try:
        call()
    except grpc.RpcError as e:
        return e.code(), e.details()
    return grpc.StatusCode.OK, ""


def test_poll_loads_swaps_unloads_and_survives_a_broken_directory(pb, tmp_path):
    import tritonclient.grpc as tc
    lion_pb, lion_grpc = pb
    repo = tmp_path / "repo"
    repo.mkdir()
    copy_in(MODELS / MLM, repo, "mlm")
    (repo / "broken").mkdir()
    (repo / "broken" / "config.json").write_text("{not json")
    changed = tmp_path / "changed"
    shutil.copytree(MODELS / MLM, changed)
    perturbed_weights(MODELS / MLM, changed / "model.safetensors")
    with Server(repo, tmp_path, "--model_control=poll", "--repository_poll_s=1") as server:
        channel = grpc.insecure_channel(server.address)
        stub = lion_grpc.InferenceStub(channel)
        oip = tc.InferenceServerClient(server.address)
        index = {m.name: m for m in oip.get_model_repository_index().models}
        assert index["mlm"].state == "READY"
        assert index["broken"].state == "UNAVAILABLE" and "config.json" in index["broken"].reason
        assert not oip.is_model_ready("broken")
        got = code(lambda: stub.Embed(lion_pb.EmbedRequest(model="broken", text="x")))
        assert got[0] == grpc.StatusCode.UNAVAILABLE and "config.json" in got[1]
        before = embed(stub, lion_pb, "mlm")

        # Copy a model in: it becomes ready and serves.
        copy_in(MODELS / DIGITS, repo, "digits")
        assert wait_until(lambda: oip.is_model_ready("digits"), timeout=120)
        image = lion_pb.Image(pixels=lion_pb.Tensor(shape=[1, 8, 8], data=[0.0] * 64))
        assert len(stub.Classify(lion_pb.ClassifyRequest(model="digits", image=image)).predictions) == 10

        # Replace the weights under load: every request succeeds, and the
        # answers become those of the new weights (served as "reference").
        copy_in(changed, repo, "reference")
        assert wait_until(lambda: oip.is_model_ready("reference"), timeout=120)
        want = embed(stub, lion_pb, "reference")
        assert not np.allclose(want, before, rtol=1e-3)
        failures, answers, stop = [], [], threading.Event()

        def load():
            deadline = time.monotonic() + 120
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    answers.append(embed(stub, lion_pb, "mlm"))
                except grpc.RpcError as e:
                    failures.append(e)
        workers = [threading.Thread(target=load) for _ in range(4)]
        for w in workers:
            w.start()
        staged = repo / "mlm" / ".model.safetensors.new"
        shutil.copy(changed / "model.safetensors", staged)
        os.replace(staged, repo / "mlm" / "model.safetensors")
        swapped = wait_until(lambda: len(answers) > 0 and np.allclose(answers[-1], want, rtol=1e-5, atol=1e-6),
                             timeout=120)
        count = len(answers)
        wait_until(lambda: len(answers) >= count + 20, timeout=60)  # keep going past the swap
        stop.set()
        for w in workers:
            w.join(130)
        assert swapped and not failures, [f.details() for f in failures[:3]]
        assert any(np.allclose(a, before, rtol=1e-5, atol=1e-6) for a in answers[:4])
        np.testing.assert_allclose(embed(stub, lion_pb, "mlm"), want, rtol=1e-5, atol=1e-6)

        # Remove it: NOT_FOUND; the broken directory still UNAVAILABLE, the rest serve.
        shutil.rmtree(repo / "digits")
        assert wait_until(lambda: code(lambda: stub.Classify(lion_pb.ClassifyRequest(
            model="digits", image=image)))[0] == grpc.StatusCode.NOT_FOUND, timeout=60)
        index = {m.name: m for m in oip.get_model_repository_index().models}
        assert "digits" not in index and index["broken"].state == "UNAVAILABLE"
        assert index["mlm"].state == "READY"
        # Load and unload on request need --model_control=explicit.
        with pytest.raises(Exception) as e:
            oip.load_model("digits")
        assert "explicit" in str(e.value)
        channel.close()
    assert server.proc.returncode == 0


def test_explicit_loads_and_unloads_on_request(pb, tmp_path):
    import tritonclient.grpc as tc
    import tritonclient.http as th
    lion_pb, lion_grpc = pb
    repo = tmp_path / "repo"
    repo.mkdir()
    copy_in(MODELS / MLM, repo, "mlm")
    with Server(repo, tmp_path, "--model_control=explicit") as server:
        stub = lion_grpc.InferenceStub(grpc.insecure_channel(server.address))
        oip = tc.InferenceServerClient(server.address)
        copy_in(MODELS / DIGITS, repo, "digits")
        time.sleep(1.5)  # no poller: nothing happens by itself
        assert not oip.is_model_ready("digits")
        oip.load_model("digits")
        assert oip.is_model_ready("digits")
        oip.unload_model("mlm")
        assert code(lambda: embed(stub, lion_pb, "mlm"))[0] == grpc.StatusCode.NOT_FOUND
        with pytest.raises(Exception) as e:
            oip.load_model("nope")
        assert "nope" in str(e.value)
        # The same over HTTP.
        http = th.InferenceServerClient(f"127.0.0.1:{server.http_port}")
        http.load_model("mlm")
        assert http.is_model_ready("mlm") and oip.is_model_ready("mlm")
        assert embed(stub, lion_pb, "mlm").shape == (128,)
