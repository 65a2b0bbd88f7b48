"""Data and evaluation of the embedded default models (scripts/train_default_models).

Both data sets come from installed packages, so nothing is downloaded:
  digits    scikit-learn's bundled 8x8 handwritten digits (1797 images, values 0..16)
  fortunes  the English text of Debian's `fortunes` package (/usr/share/games/fortunes)
Splits and evaluation masks are deterministic, so the quality numbers written by
the training script can be re-measured from the saved model directories.
"""

from __future__ import annotations

import os
import re

import numpy as np
import torch

FORTUNES_DIR = "/usr/share/games/fortunes"
FORTUNE_SKIP = {"art", "ascii-art"}          # pictures, not prose
DIGITS_TEST = 360                            # held-out images (20 %)
MLM_HOLDOUT_EVERY = 20                       # every 20th fortune is held out
MLM_MASK_PROB = 0.15
MLM_MAX_TOKENS = 128
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def digits_split():
    """(x_train, y_train, x_test, y_test): images [N, 1, 8, 8] float32 in [0, 1]
    (value / 16), labels int64; a fixed permutation holds out 360 images."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None]
    y = d.target.astype(np.int64)
    perm = np.random.default_rng(0).permutation(len(y))
    test, train = perm[:DIGITS_TEST], perm[DIGITS_TEST:]
    return x[train], y[train], x[test], y[test]


def normalize_images(x, mean, std):
    return (x - np.asarray(mean, np.float32)[None, :, None, None]) / \
        np.asarray(std, np.float32)[None, :, None, None]


def classification_accuracy(model, x, y, form="full", chunk_size=64, batch=256):
    model.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, len(y), batch):
            out = model(torch.as_tensor(x[s:s + batch]), form=form, chunk_size=chunk_size)
            logits = out["logits"]
            correct += int((logits.argmax(-1).numpy() == y[s:s + batch]).sum())
    return correct / len(y)


def fortunes(root=FORTUNES_DIR):
    """Every fortune of the plain-text files (sorted by file name), with
    backspace overstriking removed and whitespace collapsed."""
    out = []
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if name.endswith((".dat", ".u8")) or name in FORTUNE_SKIP or os.path.islink(path) \
                or not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        text = re.sub(r".\x08", "", text)
        for item in re.split(r"^%\s*$", text, flags=re.M):
            item = " ".join(item.split())
            if len(item) >= 20:
                out.append(item)
    return out


def fortunes_split(root=FORTUNES_DIR):
    texts = fortunes(root)
    held = [t for i, t in enumerate(texts) if i % MLM_HOLDOUT_EVERY == 0]
    train = [t for i, t in enumerate(texts) if i % MLM_HOLDOUT_EVERY != 0]
    return train, held


def wordpiece_tokenizer(vocab_file):
    from tokenizers import BertWordPieceTokenizer

    return BertWordPieceTokenizer(vocab_file, lowercase=True, strip_accents=True,
                                  clean_text=True, handle_chinese_chars=True)


def encode(tokenizer, texts, max_tokens=MLM_MAX_TOKENS):
    """[CLS] text [SEP] id lists, truncated to max_tokens."""
    tokenizer.enable_truncation(max_tokens)
    return [e.ids for e in tokenizer.encode_batch(texts)]


def mask_batch(seqs, vocab_size, rng, mask_id, n_special=len(SPECIAL), prob=MLM_MASK_PROB):
    """BERT masking (80 % [MASK], 10 % random, 10 % kept) of right-padded sequences.
    Returns input_ids, attention_mask, labels (-100 where not predicted)."""
    L = max(len(s) for s in seqs)
    ids = np.zeros((len(seqs), L), np.int64)
    att = np.zeros((len(seqs), L), np.int64)
    for b, s in enumerate(seqs):
        ids[b, :len(s)], att[b, :len(s)] = s, 1
    pick = (rng.random(ids.shape) < prob) & (ids >= n_special)
    labels = np.where(pick, ids, -100)
    r = rng.random(ids.shape)
    ids = np.where(pick & (r < 0.8), mask_id, ids)
    rand = rng.integers(n_special, vocab_size, ids.shape)
    ids = np.where(pick & (r >= 0.8) & (r < 0.9), rand, ids)
    return ids, att, labels


def mlm_eval_batches(seqs, vocab_size, mask_id, batch=64):
    """The fixed held-out masking (seed 1234) used for every reported MLM number."""
    rng = np.random.default_rng(1234)
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    return [mask_batch([seqs[i] for i in order[s:s + batch]], vocab_size, rng, mask_id)
            for s in range(0, len(order), batch)]


def mlm_accuracy(model, batches, real_vocab, form="full", chunk_size=64):
    """Masked-token accuracy (argmax over the real vocabulary) on fixed batches."""
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for ids, att, labels in batches:
            logits = model(torch.as_tensor(ids), attention_mask=torch.as_tensor(att), form=form,
                           chunk_size=chunk_size)["mlm_logits"]
            sel = labels >= 0
            pred = logits[..., :real_vocab].argmax(-1).numpy()   # padding rows are never predicted
            correct += int((pred[sel] == labels[sel]).sum())
            total += int(sel.sum())
    return correct / max(total, 1)


def unigram_accuracy(train_seqs, batches, n_special=len(SPECIAL)):
    """Accuracy of always predicting the most frequent non-special training token."""
    counts = np.bincount(np.concatenate([np.asarray(s) for s in train_seqs]))
    counts[:n_special] = 0
    best = int(counts.argmax())
    labels = np.concatenate([b[2][b[2] >= 0] for b in batches])
    return float((labels == best).mean())
