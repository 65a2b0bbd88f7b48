"""Writes the seed corpus of the fuzz targets (tests/fuzz/corpus/<target>/).

The committed files are the corpus; this script documents how they were made
and rewrites them deterministically:
    ~/.cache/lion-serve/venv/bin/python tests/fuzz/make_corpus.py
Input layouts are those of each target's header comment.
"""

import io
import json
import pathlib
import shutil
import struct
import sys
import tempfile

import numpy as np
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fuzz" / "corpus"


def write(target, name, data: bytes):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


# ---- tokenizer_fuzzer: options byte, max_length/64, repeat count (LE u16), text
def tok(flags, max_len_64, repeats, text):
    body = text if isinstance(text, bytes) else text.encode("utf-8")
    return bytes([flags, max_len_64]) + struct.pack("<H", repeats) + body


def tokenizer_seeds():
    t = "tokenizer_fuzzer"
    write(t, "english", tok(0, 0, 0, "The quick brown fox jumps over the lazy dog."))
    write(t, "mask_cased", tok(1, 0, 0, "Hello [MASK] world! [CLS]x[SEP] caf\u00e9 na\u00efve"))
    write(t, "vietnamese_nfd", tok(0, 0, 0, "Tie\u0302\u0301ng Vie\u0323\u0302t co\u0301 da\u0302\u0301u"))
    write(t, "zalgo", tok(0, 0, 3, "Z\u0338\u0322\u0327\u031ba\u0336\u0347\u0313l\u0334\u031b\u0348g\u0335\u0323\u035do\u0338"))
    # A cluster of combining marks of falling canonical class (232, 230, 220, 1).
    write(t, "combining_marks", tok(0, 0, 0, "\u0315\u0301\u0316\u0334"))
    write(t, "cjk_emoji", tok(1, 0, 0, "\u4e2d\u6587\u5b57\u7b26 \U0001f44d\U0001f3fd \u0e44\u0e17\u0e22 \u0627\u0644\u0639\u0631\u0628\u064a\u0629"))
    write(t, "controls", tok(0, 0, 0, "a\tb\nc\r\x00d\x7f\u200be\u00adf\ufeff"))
    write(t, "long_word", tok(0, 0, 0, "x" * 150 + " supercalifragilistic"))
    write(t, "truncate_right", tok(4, 1, 40, "one two three, "))
    write(t, "truncate_left", tok(8 | 2, 1, 40, "four five six! "))
    write(t, "limit_no_truncation", tok(0, 1, 100, "seven eight "))
    write(t, "invalid_utf8", tok(0, 0, 0, b"ok \xff\xfe \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82"))
    write(t, "accents_upper", tok(0, 0, 0, "\u00c5NGSTR\u00d6M \u0130stanbul \u1e9e \u01c5"))


# ---- safetensors_fuzzer: a whole file
def safetensors(tensors, metadata=None, pad=True):
    header, data, offset = {}, b"", 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        data += raw
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def safetensors_seeds():
    t = "safetensors_fuzzer"
    f32 = np.arange(6, dtype=np.float32).tobytes()
    write(t, "f32", safetensors({"a": ("F32", [2, 3], f32)}, {"format": "pt"}))
    write(t, "mixed", safetensors({
        "w": ("F32", [3], np.array([1.5, -2, 1e30], np.float32).tobytes()),
        "h": ("F16", [2, 2], np.array([1, -2.5, 0.5, 65504], np.float16).tobytes()),
        "b": ("BF16", [2], struct.pack("<HH", 0x3F80, 0xC000)),
        "s": ("F32", [], struct.pack("<f", 42.0)),
        "e": ("F32", [0, 4], b""),
    }))
    write(t, "unpadded_unaligned", safetensors({"x": ("F32", [1], b"\x00\x00\x80\x3f")}, pad=False))
    write(t, "nan_inf", safetensors({"n": ("F32", [2], np.array([np.nan, np.inf], np.float32).tobytes())}))
    write(t, "bad_dtype", safetensors({"i": ("I64", [1], b"\x01" + b"\x00" * 7)}))
    write(t, "header_too_long", struct.pack("<Q", 1 << 40) + b"{}")


# ---- model_config_fuzzer: config.json text
def config_seeds():
    t = "model_config_fuzzer"
    for model in ("lion-digits", "lion-mlm-mini"):
        write(t, model, (ROOT / "models" / model / "config.json").read_bytes())
    lit = json.loads((ROOT / "models" / "lion-mlm-mini" / "config.json").read_text())
    lit.update(variant="lit", use_position_embeddings=True, max_position_embeddings=512,
               max_input_tokens=512, layer_norm_after=True, has_pooler=True,
               task="classification", labels=["neg", "pos"])
    write(t, "bert_lit_classifier", json.dumps(lit).encode())
    vit = json.loads((ROOT / "models" / "lion-digits" / "config.json").read_text())
    vit.update(num_channels=3, image_size=224, patch_size=16, order="natural",
               use_position_embeddings=True, image_mean=[0.485, 0.456, 0.406],
               image_std=[0.229, 0.224, 0.225], variant="d", pooling="cls")
    write(t, "vit_rgb_natural", json.dumps(vit).encode())
    write(t, "not_object", b"[1, 2, {\"a\": null}]")


# ---- image_fuzzer: options selector byte, then PNG or JPEG bytes
def encode(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def gradient(w, h):
    x, y = np.meshgrid(np.arange(w), np.arange(h))
    return np.stack([x * 10, y * 12, (x * y) & 0xFF], -1).astype(np.uint8)


def image_seeds():
    t = "image_fuzzer"
    rgb = Image.fromarray(gradient(24, 20), "RGB")
    write(t, "png_rgb", b"\x02" + encode(rgb, "PNG"))
    write(t, "png_gray_8x8", b"\x00" + encode(rgb.convert("L").resize((8, 8)), "PNG"))
    write(t, "png_rgba", b"\x01" + encode(rgb.convert("RGBA"), "PNG"))
    write(t, "png_palette", b"\x02" + encode(rgb.convert("P"), "PNG"))
    gray16 = Image.fromarray(gradient(12, 10)[:, :, 0].astype(np.uint16) * 257)
    write(t, "png_gray16", b"\x00" + encode(gray16, "PNG"))
    write(t, "png_optimized", b"\x01" + encode(rgb, "PNG", optimize=True))
    write(t, "jpeg_rgb", b"\x02" + encode(rgb, "JPEG", quality=90))
    write(t, "jpeg_gray", b"\x00" + encode(rgb.convert("L"), "JPEG", quality=80))
    write(t, "jpeg_progressive", b"\x01" + encode(rgb, "JPEG", quality=75, progressive=True))
    write(t, "jpeg_444", b"\x02" + encode(rgb, "JPEG", quality=95, subsampling=0))


# ---- request_fuzzer: selector byte (bit 0: vision model; (byte >> 1) % 3:
# Classify, Embed, FillMask), then the serialized lion.v1 request
def request_seeds():
    from grpc_tools import protoc
    out = pathlib.Path(tempfile.mkdtemp())
    rc = protoc.main(["protoc", f"-I{ROOT / 'proto'}", f"--python_out={out}",
                      str(ROOT / "proto/lion/v1/lion.proto")])
    assert rc == 0, "protoc failed"
    sys.path.insert(0, str(out))
    from lion.v1 import lion_pb2 as pb
    t = "request_fuzzer"
    CLASSIFY, EMBED, FILL = 0, 2, 4
    write(t, "embed_text", bytes([EMBED]) + pb.EmbedRequest(
        text="A fortune cookie says hello.", normalize=True, pooling=pb.POOLING_MEAN).SerializeToString())
    write(t, "embed_ids_chunk", bytes([EMBED]) + pb.EmbedRequest(
        token_ids=pb.TokenIds(ids=[2, 100, 200, 300, 3]), form=pb.FORM_CHUNK,
        return_token_embeddings=True).SerializeToString())
    write(t, "fillmask_text", bytes([FILL]) + pb.FillMaskRequest(
        text="The [MASK] is mightier than the [MASK].", top_k=3).SerializeToString())
    write(t, "fillmask_ids_truncate", bytes([FILL]) + pb.FillMaskRequest(
        token_ids=pb.TokenIds(ids=[2, 4, 50, 60, 3]), truncation=pb.TRUNCATION_LEFT,
        form=pb.FORM_RNN).SerializeToString())
    write(t, "classify_text_on_mlm", bytes([CLASSIFY]) + pb.ClassifyRequest(text="x").SerializeToString())
    pixels = ((np.arange(64, dtype=np.float32) % 16) / 16.0 - 0.3) / 0.37
    write(t, "classify_pixels", bytes([CLASSIFY | 1]) + pb.ClassifyRequest(
        image=pb.Image(pixels=pb.Tensor(shape=[1, 8, 8], data=pixels.tolist())), top_k=3).SerializeToString())
    digit = Image.fromarray((np.arange(64, dtype=np.uint8) * 4).reshape(8, 8), "L")
    write(t, "classify_png", bytes([CLASSIFY | 1]) + pb.ClassifyRequest(
        image=pb.Image(encoded=encode(digit, "PNG")), raw_scores=True).SerializeToString())
    write(t, "embed_jpeg", bytes([EMBED | 1]) + pb.EmbedRequest(
        image=pb.Image(encoded=encode(digit.resize((16, 16)), "JPEG")), pooling=pb.POOLING_CLS).SerializeToString())
    write(t, "classify_bad_shape", bytes([CLASSIFY | 1]) + pb.ClassifyRequest(
        image=pb.Image(pixels=pb.Tensor(shape=[1, 8, 8, 1], data=[0.0] * 64))).SerializeToString())
    shutil.rmtree(out)


if __name__ == "__main__":
    tokenizer_seeds()
    safetensors_seeds()
    config_seeds()
    image_seeds()
    request_seeds()
    for d in sorted(CORPUS.iterdir()):
        print(d.name, len(list(d.iterdir())), "files", sum(f.stat().st_size for f in d.iterdir()), "bytes")
