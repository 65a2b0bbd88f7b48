#!/usr/bin/env python3
"""A straightforward production-style Python server of a LION checkpoint, the
baseline of BENCHMARKS.md's serving comparison: what a team would write with
the project's PyTorch reference model, `grpcio` and Hugging Face `tokenizers`.

It speaks the lion.v1 `Inference.Embed` RPC (text or token ids in, pooled
embedding out, with `Usage`), so `lion-client bench` drives it exactly as it
drives lion-serve. Simple dynamic batching: handler threads tokenize and put
requests on a queue; one batching thread takes what is waiting (up to
--max_batch_size, waiting at most --max_delay_ms for more once the first
arrived), pads to the longest, runs one `torch.inference_mode()` forward and
hands each handler its row. The reference's attention form is the one that
runs a batch of --tune_tokens-token inputs fastest at start-up (--form=auto).

  python bench/pyserve/lion_pyserve.py --model_dir models/lion-mlm-mini --port 0

Prints `serving port=N` on stderr once it accepts calls; stops on SIGTERM.
Other RPCs answer UNIMPLEMENTED (grpcio's default)."""

import argparse
import concurrent.futures
import importlib
import pathlib
import queue
import signal
import sys
import tempfile
import threading
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "python"))


def load_stubs(out_dir):
    """lion.v1 messages and services, generated from proto/ with grpcio-tools."""
    from grpc_tools import protoc
    rc = protoc.main(["protoc", f"-I{REPO / 'proto'}", f"--python_out={out_dir}",
                      f"--grpc_python_out={out_dir}", str(REPO / "proto/lion/v1/lion.proto")])
    if rc != 0:
        raise RuntimeError("protoc failed on proto/lion/v1/lion.proto")
    sys.path.insert(0, str(out_dir))
    return (importlib.import_module("lion.v1.lion_pb2"),
            importlib.import_module("lion.v1.lion_pb2_grpc"))


class Pending:
    """One request waiting for its batch."""

    def __init__(self, ids):
        self.ids = ids
        self.arrived = time.monotonic()
        self.done = threading.Event()
        self.embedding = None
        self.error = None
        self.batch_size = 0
        self.queue_s = 0.0
        self.compute_s = 0.0


class DynamicBatcher:
    """One thread that batches whatever is queued and runs the model."""

    def __init__(self, model, max_batch_size, max_delay_s, form):
        self.model, self.max_batch_size, self.max_delay_s, self.form = (
            model, max_batch_size, max_delay_s, form)
        self.inbox = queue.Queue()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def submit(self, ids):
        p = Pending(ids)
        self.inbox.put(p)
        p.done.wait()
        if p.error is not None:
            raise p.error
        return p

    def _take_batch(self):
        batch = [self.inbox.get()]
        deadline = time.monotonic() + self.max_delay_s
        while len(batch) < self.max_batch_size:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self.inbox.get(timeout=remaining) if remaining > 0
                             else self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _loop(self):
        import torch
        while True:
            batch = self._take_batch()
            start = time.monotonic()
            try:
                longest = max(len(p.ids) for p in batch)
                ids = torch.zeros(len(batch), longest, dtype=torch.long)
                mask = torch.zeros(len(batch), longest, dtype=torch.long)
                for row, p in enumerate(batch):
                    ids[row, :len(p.ids)] = torch.tensor(p.ids)
                    mask[row, :len(p.ids)] = 1
                with torch.inference_mode():
                    out = self.model(ids, attention_mask=mask, form=self.form, mlm_logits=False)
                pooled = out["pooled"].tolist()
                for p, row in zip(batch, pooled):
                    p.embedding = row
            except Exception as e:  # noqa: BLE001 - every waiter must hear of it
                for p in batch:
                    p.error = e
            compute = time.monotonic() - start
            for p in batch:
                p.batch_size, p.queue_s, p.compute_s = len(batch), start - p.arrived, compute
                p.done.set()


def fastest_form(model, tokens, batch=8, reps=3):
    """The reference form that runs a [batch, tokens] input fastest here (best
    of `reps` after a warm-up): the tuning a team would do once."""
    import torch
    ids = torch.full((batch, tokens), 5, dtype=torch.long)
    best = {}
    with torch.inference_mode():
        for form in ("full", "chunk", "rnn"):
            model(ids, form=form, mlm_logits=False)
            times = []
            for _ in range(reps):
                t0 = time.perf_counter()
                model(ids, form=form, mlm_logits=False)
                times.append(time.perf_counter() - t0)
            best[form] = min(times)
    return min(best, key=best.get)


def make_servicer(pb2, pb2_grpc, name, tokenizer, batcher, max_tokens):
    import grpc
    form_enum = {"full": pb2.FORM_FULL, "chunk": pb2.FORM_CHUNK, "rnn": pb2.FORM_RNN}[batcher.form]

    class Inference(pb2_grpc.InferenceServicer):
        def Embed(self, request, context):
            t0 = time.monotonic()
            if request.model and request.model != name:
                context.abort(grpc.StatusCode.NOT_FOUND, f"model {request.model!r} not served")
            which = request.WhichOneof("input")
            if which == "text":
                ids = tokenizer.encode(request.text).ids
            elif which == "token_ids":
                ids = list(request.token_ids.ids)
            else:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Embed needs text or token_ids")
            if max_tokens and len(ids) > max_tokens:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                              f"input of {len(ids)} tokens exceeds {max_tokens}")
            p = batcher.submit(ids)
            usage = pb2.Usage(input_tokens=len(ids), form=form_enum, batch_size=p.batch_size,
                              queue_us=int(p.queue_s * 1e6), compute_us=int(p.compute_s * 1e6),
                              total_us=int((time.monotonic() - t0) * 1e6))
            return pb2.EmbedResponse(id=request.id, model=name, embedding=p.embedding, usage=usage)

    return Inference()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model_dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: cores)")
    ap.add_argument("--max_batch_size", type=int, default=32)
    ap.add_argument("--max_delay_ms", type=float, default=2.0)
    ap.add_argument("--workers", type=int, default=128, help="gRPC handler threads")
    ap.add_argument("--form", default="auto", choices=("auto", "full", "chunk", "rnn"),
                    help="the reference's attention form; auto: the fastest at start-up")
    ap.add_argument("--tune_tokens", type=int, default=130, help="input length --form=auto times")
    ap.add_argument("--max_tokens", type=int, default=20000)
    args = ap.parse_args()

    import os

    import grpc
    import torch
    from tokenizers import BertWordPieceTokenizer

    from lionserve.models import load_model_dir

    torch.set_num_threads(args.threads or os.cpu_count())
    model_dir = pathlib.Path(args.model_dir)
    model = load_model_dir(model_dir)
    config = model.config
    tokenizer = BertWordPieceTokenizer(str(model_dir / "vocab.txt"), lowercase=config["lowercase"])
    form = args.form if args.form != "auto" else fastest_form(model, args.tune_tokens)
    print(f"form {form}", file=sys.stderr, flush=True)
    stub_dir = tempfile.mkdtemp(prefix="lion-pyserve-")
    pb2, pb2_grpc = load_stubs(stub_dir)
    batcher = DynamicBatcher(model, args.max_batch_size, args.max_delay_ms / 1e3, form)
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=args.workers),
                         options=[("grpc.max_receive_message_length", 64 << 20),
                                  ("grpc.max_send_message_length", 64 << 20)])
    pb2_grpc.add_InferenceServicer_to_server(
        make_servicer(pb2, pb2_grpc, model_dir.name, tokenizer, batcher, args.max_tokens), server)
    port = server.add_insecure_port(f"127.0.0.1:{args.port}")
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"serving port={port}", file=sys.stderr, flush=True)
    stop.wait()
    server.stop(grace=1).wait()


if __name__ == "__main__":
    main()
