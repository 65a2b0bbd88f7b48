"""scripts/convert_checkpoint on synthetic checkpoints built with the official key
layouts (docs/checkpoints.md): the converted model in our reference equals
an independent float64 evaluation written here from the official key names."""

import argparse
import collections
import json
import subprocess
import sys
import types

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from conftest import REPO_ROOT
from lionserve import oracle as O
from lionserve.convert import ConversionError, add_arguments, convert
from lionserve.models import load_model_dir, read_vocab

D, H, N_LAYERS, F_, V, P = 32, 4, 2, 48, 40, 24
ARCH = {"lit": "lion-lit", "d": "lion-d", "s": "lion-s"}


def opts(*flags):
    ap = argparse.ArgumentParser()
    add_arguments(ap)
    return ap.parse_args(list(flags))


class Draw:
    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)

    def __call__(self, *shape, scale=None, shift=0.0):
        s = scale if scale is not None else shape[-1] ** -0.5
        return torch.randn(*shape, generator=self.g) * s + shift

    def linear(self, sd, name, out, inp, bias_shift=0.0):
        sd[name + ".weight"] = self(out, inp)
        sd[name + ".bias"] = self(out, scale=0.1, shift=bias_shift)

    def norm(self, sd, name, width=D):
        sd[name + ".weight"] = self(width, scale=0.3, shift=1.0)
        sd[name + ".bias"] = self(width, scale=0.1)


# ------------------------------------------------------------------ MLM family


def official_bert(variant, seed=0, mlm=True, classes=0, prefix="bert."):
    r, sd = Draw(seed), collections.OrderedDict()
    sd[prefix + "embeddings.position_ids"] = torch.arange(P)[None]
    sd[prefix + "embeddings.word_embeddings.weight"] = r(V, D, scale=0.5)
    sd[prefix + "embeddings.position_embeddings.weight"] = r(P, D, scale=0.5)
    sd[prefix + "embeddings.token_type_embeddings.weight"] = r(2, D, scale=0.5)
    r.norm(sd, prefix + "embeddings.LayerNorm")
    for i in range(N_LAYERS):
        p = f"{prefix}encoder.layer.{i}."
        if variant == "d":
            sd[p + "attention.self.ai"] = r(H, scale=1.5)
        for name in ("query", "key", "value"):
            r.linear(sd, p + "attention.self." + name, D, D)
        if variant == "s":
            r.linear(sd, p + "attention.self.Wa_i", H, D, bias_shift=-1.0)
        if variant == "lit":
            r.norm(sd, p + "attention.self.layer_norm")
        r.linear(sd, p + "attention.output.dense", D, D)
        r.norm(sd, p + "attention.output.LayerNorm")
        r.linear(sd, p + "intermediate.dense", F_, D)
        r.linear(sd, p + "output.dense", D, F_)
        r.norm(sd, p + "output.LayerNorm")
    if mlm:
        sd["cls.predictions.bias"] = r(V, scale=0.1)
        r.linear(sd, "cls.predictions.transform.dense", D, D)
        r.norm(sd, "cls.predictions.transform.LayerNorm")
        sd["cls.predictions.decoder.weight"] = sd[prefix + "embeddings.word_embeddings.weight"]
        sd["cls.predictions.decoder.bias"] = sd["cls.predictions.bias"]
    if classes:
        r.linear(sd, prefix + "pooler.dense", D, D)
        r.linear(sd, "classifier", classes, D)
    return sd


def hf_config(variant, classes=0):
    cfg = {"model_type": "bert", "arch_type": ARCH[variant], "layer_norm_after": variant == "lit",
           "position_embedding_type": "absolute" if variant == "lit" else "relative_key_query",
           "hidden_size": D, "num_attention_heads": H, "num_hidden_layers": N_LAYERS,
           "intermediate_size": F_, "vocab_size": V, "max_position_embeddings": P,
           "max_position_embedding": 512, "layer_norm_eps": 1e-12, "hidden_act": "gelu",
           "type_vocab_size": 2, "pad_token_id": 0, "transformers_version": "4.28.1"}
    if classes:
        cfg["id2label"] = {str(i): f"label{i}" for i in range(classes)}
    return cfg


VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(V - 8)]  # 37 < V


def ln(x, w, b, eps):
    return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps) * w + b


def gelu(x):
    return 0.5 * x * (1.0 + torch.erf(torch.from_numpy(x) / np.sqrt(2.0)).numpy())


def official_bert_forward(sd, variant, ids, n_valid, prefix="bert."):
    """Independent float64 evaluation of one right-padded sequence from official keys."""
    W = {k: v.double().numpy() for k, v in sd.items()}
    e = prefix + "embeddings."
    L = len(ids)
    x = W[e + "word_embeddings.weight"][ids] + W[e + "token_type_embeddings.weight"][0]
    if variant == "lit":
        x = x + W[e + "position_embeddings.weight"][:L]
    x = ln(x, W[e + "LayerNorm.weight"], W[e + "LayerNorm.bias"], 1e-12)
    valid = np.arange(L) < n_valid
    for i in range(N_LAYERS):
        p = f"{prefix}encoder.layer.{i}."
        a = {f"W{c}": W[f"{p}attention.self.{n}.weight"] for c, n in
             (("q", "query"), ("k", "key"), ("v", "value"))}
        a.update({f"b{c}": W[f"{p}attention.self.{n}.bias"] for c, n in
                  (("q", "query"), ("k", "key"), ("v", "value"))})
        if variant == "d":
            a["ai"] = W[p + "attention.self.ai"]
        if variant == "s":
            a["Wa"], a["ba"] = W[p + "attention.self.Wa_i.weight"], W[p + "attention.self.Wa_i.bias"]
        if variant == "lit":
            a["ln_w"], a["ln_b"] = (W[p + "attention.self.layer_norm.weight"],
                                    W[p + "attention.self.layer_norm.bias"])
        y = O.bert_lion_self_attention(x, a, variant, H, key_valid=valid)
        h = ln(y @ W[p + "attention.output.dense.weight"].T + W[p + "attention.output.dense.bias"]
               + x, W[p + "attention.output.LayerNorm.weight"], W[p + "attention.output.LayerNorm.bias"],
               1e-12)
        f = gelu(h @ W[p + "intermediate.dense.weight"].T + W[p + "intermediate.dense.bias"])
        x = ln(f @ W[p + "output.dense.weight"].T + W[p + "output.dense.bias"] + h,
               W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"], 1e-12)
    out = {"hidden_states": x}
    if "cls.predictions.bias" in W:
        t = gelu(x @ W["cls.predictions.transform.dense.weight"].T
                 + W["cls.predictions.transform.dense.bias"])
        t = ln(t, W["cls.predictions.transform.LayerNorm.weight"],
               W["cls.predictions.transform.LayerNorm.bias"], 1e-12)
        out["mlm_logits"] = t @ W[e + "word_embeddings.weight"].T + W["cls.predictions.bias"]
    if "classifier.weight" in W:
        pooled = np.tanh(x[0] @ W[prefix + "pooler.dense.weight"].T + W[prefix + "pooler.dense.bias"])
        out["logits"] = pooled @ W["classifier.weight"].T + W["classifier.bias"]
    return out


def check_bert(dst, sd, variant, prefix="bert."):
    model = load_model_dir(dst, dtype=torch.float64)
    rng = np.random.default_rng(3)
    lengths = [11, 7]
    ids = np.zeros((2, 11), np.int64)
    mask = np.zeros((2, 11), np.int64)
    for b, n in enumerate(lengths):
        ids[b, :n], mask[b, :n] = rng.integers(0, V, n), 1
    for form, chunk in (("full", 64), ("chunk", 4), ("rnn", 1)):
        with torch.no_grad():
            got = model(torch.as_tensor(ids), attention_mask=torch.as_tensor(mask), form=form,
                        chunk_size=chunk)
        for b, n in enumerate(lengths):
            ref = official_bert_forward(sd, variant, ids[b], n, prefix)
            for key, want in ref.items():
                rows = got[key][b].numpy()
                if key != "logits":
                    rows, want = rows[:n], want[:n]
                assert O.rel_err(rows, want) < 1e-10, (form, key)


def save_hf_bin(folder, sd, cfg, vocab=VOCAB):
    folder.mkdir()
    torch.save(sd, folder / "pytorch_model.bin")
    (folder / "config.json").write_text(json.dumps(cfg))
    if vocab is not None:
        (folder / "vocab.txt").write_text("".join(t + "\n" for t in vocab))


@pytest.mark.parametrize("variant", ["lit", "d", "s"])
def test_hf_folder_pytorch_bin(tmp_path, variant):
    sd = official_bert(variant, seed=1)
    save_hf_bin(tmp_path / "hf", sd, hf_config(variant))
    cfg = convert(str(tmp_path / "hf"), str(tmp_path / "out"), opts())
    assert cfg["variant"] == variant and cfg["task"] == "mlm" and cfg["has_mlm_head"]
    assert cfg["vocab_size"] == V and read_vocab(tmp_path / "out") == VOCAB  # 3 padding rows
    assert cfg["use_position_embeddings"] == (variant == "lit")
    assert cfg["layer_norm_after"] == (variant == "lit")
    check_bert(tmp_path / "out", sd, variant)


def test_hf_folder_safetensors_classifier_without_decoder_copies(tmp_path):
    sd = official_bert("s", seed=2, mlm=False, classes=3)
    del sd["bert.embeddings.position_ids"]
    (tmp_path / "hf").mkdir()
    save_file({k: v.contiguous() for k, v in sd.items()}, tmp_path / "hf" / "model.safetensors")
    (tmp_path / "hf" / "config.json").write_text(json.dumps(hf_config("s", classes=3)))
    (tmp_path / "hf" / "vocab.txt").write_text("".join(t + "\n" for t in VOCAB))
    cfg = convert(str(tmp_path / "hf"), str(tmp_path / "out"), opts())
    assert cfg["task"] == "classification" and cfg["has_pooler"] and not cfg["has_mlm_head"]
    assert cfg["labels"] == ["label0", "label1", "label2"]
    check_bert(tmp_path / "out", sd, "s")


def test_safetensors_mlm_keeps_first_tied_names_only(tmp_path):
    sd = official_bert("d", seed=3)
    del sd["cls.predictions.decoder.weight"], sd["cls.predictions.decoder.bias"]
    (tmp_path / "hf").mkdir()
    save_file(dict(sd), tmp_path / "hf" / "model.safetensors")
    (tmp_path / "hf" / "config.json").write_text(json.dumps(hf_config("d")))
    convert(str(tmp_path / "hf"), str(tmp_path / "out"), opts("--vocab", str(write_vocab(tmp_path))))
    check_bert(tmp_path / "out", sd, "d")


def write_vocab(tmp_path, vocab=VOCAB):
    file = tmp_path / "vocab.txt"
    file.write_text("".join(t + "\n" for t in vocab))
    return file


def test_composer_checkpoint_with_unknown_classes(tmp_path):
    sd = official_bert("d", seed=4)
    fake = types.ModuleType("composer_fake_optim")

    class DecoupledAdamW:                        # pickled by reference to a module that goes away
        def __init__(self):
            self.lr, self.betas = 8e-4, (0.9, 0.98)

    DecoupledAdamW.__module__ = "composer_fake_optim"
    DecoupledAdamW.__qualname__ = "DecoupledAdamW"
    fake.DecoupledAdamW = DecoupledAdamW
    sys.modules["composer_fake_optim"] = fake
    ckpt = {"state": {
        "model": collections.OrderedDict(("model." + k, v) for k, v in sd.items()),
        "optimizers": {"DecoupledAdamW": DecoupledAdamW()},
        "integrations": {"huggingface": {
            "model": {"config": {"content": hf_config("d"),
                                 "class": "src.bert_layers.BertForMaskedLM"}},
            "tokenizer": {"vocab.txt": {"file_extension": ".txt",
                                        "content": [t + "\n" for t in VOCAB]}}}}},
        "rng": [{"torch": torch.get_rng_state()}]}
    try:
        torch.save(ckpt, tmp_path / "latest-rank0.pt")
    finally:
        del sys.modules["composer_fake_optim"]
    cfg = convert(str(tmp_path / "latest-rank0.pt"), str(tmp_path / "out"), opts())
    assert cfg["variant"] == "d" and read_vocab(tmp_path / "out") == VOCAB
    check_bert(tmp_path / "out", sd, "d")


def test_headless_bare_state_dict_with_flags(tmp_path):
    sd = official_bert("lit", seed=5, mlm=False, prefix="")
    torch.save(sd, tmp_path / "bert.bin")
    with pytest.raises(ConversionError, match="--arch_type"):
        convert(str(tmp_path / "bert.bin"), str(tmp_path / "out"), opts())
    with pytest.raises(ConversionError, match="--num_heads"):
        convert(str(tmp_path / "bert.bin"), str(tmp_path / "out"), opts("--arch_type", "lion-lit"))
    cfg = convert(str(tmp_path / "bert.bin"), str(tmp_path / "out"),
                  opts("--arch_type", "linear_attention", "--num_heads", str(H), "--vocab",
                       str(write_vocab(tmp_path))))
    assert cfg["num_heads"] == H and not cfg["has_mlm_head"]
    check_bert(tmp_path / "out", sd, "lit", prefix="")


def run_cli(*args):
    return subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "convert_checkpoint"),
                           *map(str, args)], capture_output=True, text=True, timeout=120)


def test_cli_reports_missing_unexpected_and_misshaped_keys(tmp_path):
    sd = official_bert("d", seed=6)
    del sd["bert.encoder.layer.1.attention.self.ai"]
    sd["bert.encoder.layer.0.attention.self.rotary.weight"] = torch.zeros(3)
    sd["bert.encoder.layer.0.intermediate.dense.bias"] = torch.zeros(F_ + 1)
    save_hf_bin(tmp_path / "hf", sd, hf_config("d"))
    proc = run_cli(tmp_path / "hf", tmp_path / "out")
    assert proc.returncode == 2
    assert "missing key encoder.layer.1.attention.self.ai" in proc.stderr
    assert "unexpected key encoder.layer.0.attention.self.rotary.weight" in proc.stderr
    assert "mis-shaped key encoder.layer.0.intermediate.dense.bias: [49], expected [48]" \
        in proc.stderr
    assert not (tmp_path / "out").exists()
    good = official_bert("d", seed=6)
    save_hf_bin(tmp_path / "hf2", good, hf_config("d"))
    proc = run_cli(tmp_path / "hf2", tmp_path / "out2")
    assert proc.returncode == 0, proc.stderr
    assert "lion_bert variant d" in proc.stdout


@pytest.mark.parametrize("case,message", [
    ("untied", "not tied"), ("bias", "decoder.bias differs"), ("vocab", "only 40 rows"),
    ("conflict", "conflicts with the decay keys"), ("unknown_arch", "not a LION variant"),
    ("act", "hidden_act")])
def test_bert_refusals(tmp_path, case, message):
    sd, cfg, vocab = official_bert("s", seed=7), hf_config("s"), VOCAB
    if case == "untied":
        sd["cls.predictions.decoder.weight"] = sd["cls.predictions.decoder.weight"].clone()
        sd["cls.predictions.decoder.weight"][3, 1] += 1e-7
    elif case == "bias":
        sd["cls.predictions.decoder.bias"] = sd["cls.predictions.bias"] + 1.0
    elif case == "vocab":
        vocab = VOCAB + [f"x{i}" for i in range(V)]
    elif case == "conflict":
        cfg["arch_type"] = "nova"
    elif case == "unknown_arch":
        cfg["arch_type"] = "attention"
    else:
        cfg["hidden_act"] = "relu"
    save_hf_bin(tmp_path / "hf", sd, cfg, vocab)
    with pytest.raises(ConversionError, match=message):
        convert(str(tmp_path / "hf"), str(tmp_path / "out"), opts())


class _Exploit:
    def __reduce__(self):
        import os
        return (os.system, ("echo pwned > /dev/null",))


def test_restricted_unpickler_runs_no_code_from_the_checkpoint(tmp_path):
    from lionserve.checkpoint_io import UnknownObject, load_container

    torch.save({"state": {"x": _Exploit()}}, tmp_path / "evil.pt")
    obj = load_container(tmp_path / "evil.pt")
    assert isinstance(obj["state"]["x"], UnknownObject)   # os.system was never called
