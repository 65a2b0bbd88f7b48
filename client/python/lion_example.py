#!/usr/bin/env python3
"""Minimal Python client for lion-serve: classify an image, embed a sentence.

    python client/python/lion_example.py --address 127.0.0.1:50051 --image cat.png --text "a sentence"

The lion.v1 Python code is generated from proto/lion/v1/lion.proto with
grpcio-tools into a temporary folder at start-up (or taken from --gen_dir, see
generate.sh). Models are chosen from ListModels unless named. Exits with the
gRPC status code of a failed call.
"""

import argparse
import atexit
import importlib
import json
import pathlib
import shutil
import sys
import tempfile

import grpc

PROTO_ROOT = pathlib.Path(__file__).resolve().parents[2] / "proto"


def load_lion_v1(gen_dir: str | None):
    """Returns the lion_pb2 and lion_pb2_grpc modules, generating them if needed."""
    if gen_dir is None:
        from grpc_tools import protoc
        gen_dir = tempfile.mkdtemp(prefix="lion_v1_")
        # The modules are imported below; the generated files are not needed after exit.
        atexit.register(shutil.rmtree, gen_dir, ignore_errors=True)
        rc = protoc.main(["protoc", f"-I{PROTO_ROOT}", f"--python_out={gen_dir}", f"--grpc_python_out={gen_dir}",
                          str(PROTO_ROOT / "lion/v1/lion.proto")])
        if rc != 0:
            raise RuntimeError(f"protoc failed ({rc}) on {PROTO_ROOT / 'lion/v1/lion.proto'}")
    sys.path.insert(0, gen_dir)
    return importlib.import_module("lion.v1.lion_pb2"), importlib.import_module("lion.v1.lion_pb2_grpc")


def pick_model(models, name, task, architecture=None):
    if name:
        return name
    for m in models:
        if m.task == task and architecture in (None, m.architecture):
            return m.name
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--address", default="127.0.0.1:50051")
    ap.add_argument("--image", help="PNG/JPEG to classify (default: skip classification)")
    ap.add_argument("--text", default="LION is a linear attention encoder.", help="sentence to embed")
    ap.add_argument("--classify_model", default="", help="default: the first classification model")
    ap.add_argument("--embed_model", default="", help="default: the first mlm (text) model")
    ap.add_argument("--api_key", default="", help="sent as 'authorization: Bearer <key>'")
    ap.add_argument("--deadline_s", type=float, default=30.0)
    ap.add_argument("--gen_dir", help="folder with code from generate.sh (default: generate now)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = ap.parse_args()

    pb, pb_grpc = load_lion_v1(args.gen_dir)
    metadata = [("authorization", f"Bearer {args.api_key}")] if args.api_key else None
    result = {}
    with grpc.insecure_channel(args.address) as channel:
        inference = pb_grpc.InferenceStub(channel)
        try:
            models = pb_grpc.ModelsStub(channel).ListModels(pb.ListModelsRequest(), timeout=args.deadline_s,
                                                            metadata=metadata).models
            if args.image:
                model = pick_model(models, args.classify_model, "classification", "lion_vit")
                request = pb.ClassifyRequest(model=model or "", top_k=3,
                                             image=pb.Image(encoded=pathlib.Path(args.image).read_bytes()))
                response = inference.Classify(request, timeout=args.deadline_s, metadata=metadata)
                result["classify"] = {"model": response.model,
                                      "predictions": [{"label": p.label, "index": p.index, "score": p.score}
                                                      for p in response.predictions]}
            model = pick_model(models, args.embed_model, "mlm")
            response = inference.Embed(pb.EmbedRequest(model=model or "", text=args.text, normalize=True),
                                       timeout=args.deadline_s, metadata=metadata)
            result["embed"] = {"model": response.model, "dim": len(response.embedding),
                               "embedding": list(response.embedding),
                               "usage": {"input_tokens": response.usage.input_tokens,
                                         "form": pb.Form.Name(response.usage.form),
                                         "queue_us": response.usage.queue_us,
                                         "compute_us": response.usage.compute_us}}
        except grpc.RpcError as e:
            print(f"lion_example: {e.code().name}: {e.details()}", file=sys.stderr)
            return e.code().value[0]

    if args.json:
        print(json.dumps(result))
        return 0
    for p in result.get("classify", {}).get("predictions", []):
        print(f"{p['label']:<24} {p['score']:.4f}")
    e = result["embed"]
    head = ", ".join(f"{v:.4f}" for v in e["embedding"][:8])
    print(f"embedding ({e['model']}, dim {e['dim']}, {e['usage']['input_tokens']} tokens, "
          f"form {e['usage']['form']}): [{head}, ...]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
