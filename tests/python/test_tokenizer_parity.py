"""Parity of the server's WordPiece tokenizer (the lion-tokenize tool) with
Hugging Face `tokenizers`' BertWordPieceTokenizer: same ids, same offsets.

Corpus: the Debian `fortunes` files (plus /usr/share/common-licenses when they
are short of 1 MB). Vocabularies are trained here on that corpus (8000 tokens,
lower-cased and cased, one with accented and CJK text added), plus a vocabulary
holding every code point alone and as a "##" piece, which makes every word
split into single characters, so the normalizer and pre-tokenizer are compared
character by character over all of Unicode.
"""

import glob
import json
import os
import subprocess
import unicodedata

import pytest

from conftest import BUILD_DIR, require_built, require_tool, tool_mark

try:
    import tokenizers
except ImportError:  # requirements.txt pins it: tool_mark fails or skips each test
    tokenizers = None

pytestmark = tool_mark("Python module tokenizers", tokenizers is not None,
                       "pip install -r requirements.txt (scripts/setup)")

TOOL = str(BUILD_DIR / "server" / "tokenizer" / "lion-tokenize")
MIN_CORPUS_BYTES = 1 << 20

NASTY = [
    "", " ", "\t\n\r ", "\u00a0\u2028\u3000", "a\u0000b\u0007c\u007fd\ufffde",
    "soft\u00adhyphen zero\u200bwidth\u200dj \ufeffbom \u202eltr",
    "Naïve café résumé CRÈME brûlée Ångström", "e\u0301 a\u0301\u0316 o\u0316\u0301 \u1e69",
    "İstanbul ΣΊΣΥΦΟΣ ﬁne ß Æsir Ǆ ǅ Ω K Å", "Привет мир Ελληνικά עברית العربية हिन्दी ไทย",
    "中文字符测试 漢字 日本語のテキスト 한국어 텍스트 \U00020000\U0002a6d6 \uf900\ufa6a",
    "emoji 😀👍🏽 👨\u200d👩\u200d👧 🇫🇷 ❤️ ✓", "𝐁𝐨𝐥𝐝 ｆｕｌｌｗｉｄｔｈ ① ² ½",
    "[MASK] [CLS][SEP] x[MASK]y [MASK [[UNK]] [mask] [PAD]", "hello...world!!! (a) {b} <c> @d #e $f",
    "don't won’t «quoted» „low“ ‘single’ — – ‐ … ‰ ‽ ⁂ § ¶ †",
    "x" * 99, "y" * 100, "z" * 101, "ab" * 300, "é" * 101, "1234567890" * 20,
    "mixed\u0085nel\u000bvt\u000cff", "\U000e0001tag \ue000pua \U0010ffff \uffff \u0378",
    "word\u0301\u0301\u0301 \u0301start", "a" + "\u0300" * 120,
]


def utf8_to_char_offsets(text, offsets):
    """Byte offsets into text.encode() -> Python string (code point) offsets."""
    starts = {}
    pos = 0
    for i, ch in enumerate(text):
        starts[pos] = i
        pos += len(ch.encode("utf-8"))
    starts[pos] = len(text)
    return [(starts[s], starts[e]) for s, e in offsets]


def run_tool(vocab, texts, lowercase, extra=()):
    """Encodes each text with lion-tokenize; returns the parsed JSON objects."""
    args = [TOOL, f"--vocab={vocab}", f"--lowercase={str(lowercase).lower()}",
            "--input=json", *extra]
    payload = "".join(json.dumps(t) + "\n" for t in texts)
    out = subprocess.run(args, input=payload.encode(), capture_output=True, timeout=300)
    assert out.returncode == 0, out.stderr.decode()
    lines = out.stdout.decode().splitlines()
    assert len(lines) == len(texts)
    return [json.loads(line) for line in lines]


def hf_tokenizer(vocab, lowercase, **truncation):
    tok = tokenizers.BertWordPieceTokenizer(vocab, lowercase=lowercase)
    if truncation:
        tok._tokenizer.enable_truncation(**truncation)  # the wrapper lacks `direction`
    return tok


def assert_parity(vocab, texts, lowercase, extra=(), add_special_tokens=True, **truncation):
    ours = run_tool(vocab, texts, lowercase, extra)
    hf = hf_tokenizer(vocab, lowercase, **truncation)
    theirs = hf.encode_batch(texts, add_special_tokens=add_special_tokens)
    mismatches = []
    for text, o, t in zip(texts, ours, theirs):
        assert "error" not in o, (text, o)
        offsets = utf8_to_char_offsets(text, o["offsets"])
        if o["ids"] != t.ids or offsets != t.offsets:
            tokens = o.get("tokens") or [hf.id_to_token(i) for i in o["ids"]]
            mismatches.append(first_difference(text, tokens, offsets, t.tokens, t.offsets))
        elif "tokens" in o:
            assert o["tokens"] == t.tokens
    assert not mismatches, f"{len(mismatches)} of {len(texts)} differ; first: {mismatches[:5]}"


def first_difference(text, tokens, offsets, hf_tokens, hf_offsets):
    """A short description of where two encodings first part."""
    i = 0
    while (i < min(len(tokens), len(hf_tokens)) and tokens[i] == hf_tokens[i]
           and offsets[i] == hf_offsets[i]):
        i += 1
    if i < len(offsets):
        at = offsets[i][0]
    elif i < len(hf_offsets):
        at = hf_offsets[i][0]
    else:
        at = len(text)
    return {"token": i, "text": ascii(text[max(0, at - 8):at + 8]),
            "ours": list(zip(tokens[i:i + 4], offsets[i:i + 4])),
            "hf": list(zip(hf_tokens[i:i + 4], hf_offsets[i:i + 4]))}


@pytest.fixture(scope="module")
def lion_tokenize():
    require_built(TOOL, "lion-tokenize")
    return TOOL


@pytest.fixture(scope="module")
def corpus_files():
    files = sorted(f for f in glob.glob("/usr/share/games/fortunes/*")
                   if os.path.isfile(f) and "." not in os.path.basename(f))
    if sum(os.path.getsize(f) for f in files) < MIN_CORPUS_BYTES:
        files += sorted(f for f in glob.glob("/usr/share/common-licenses/*") if os.path.isfile(f))
    require_tool("a 1 MB English corpus (Debian package fortunes)",
                 sum(os.path.getsize(f) for f in files) >= MIN_CORPUS_BYTES, "scripts/setup installs it")
    return files


@pytest.fixture(scope="module")
def corpus_lines(corpus_files):
    lines = []
    for f in corpus_files:
        with open(f, encoding="utf-8", errors="replace") as fh:
            lines.extend(fh.read().split("\n"))
    return lines


def train_vocab(directory, name, files, lowercase, vocab_size=8000):
    tok = tokenizers.BertWordPieceTokenizer(lowercase=lowercase)
    tok.train(files, vocab_size=vocab_size)
    return tok.save_model(str(directory), name)[0]


@pytest.fixture(scope="module")
def vocabs(tmp_path_factory, corpus_files):
    d = tmp_path_factory.mktemp("vocab")
    multilingual = d / "multilingual.txt"
    multilingual.write_text("\n".join(NASTY * 50), encoding="utf-8")
    return {
        "lower": train_vocab(d, "lower", corpus_files, True),
        "cased": train_vocab(d, "cased", corpus_files, False),
        "multi_lower": train_vocab(d, "multi_lower", corpus_files + [str(multilingual)], True),
        "multi_cased": train_vocab(d, "multi_cased", corpus_files + [str(multilingual)], False),
    }


@pytest.fixture(scope="module")
def char_vocab(tmp_path_factory):
    """Every code point as a token and as a "##" piece, so words become characters."""
    path = tmp_path_factory.mktemp("charvocab") / "vocab.txt"
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = [chr(c) for c in range(0x110000)
             if not 0xD800 <= c <= 0xDFFF and chr(c) not in "\n\r"]
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(specials + chars + ["##" + c for c in chars]) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def all_code_point_texts():
    """Texts covering every code point, alone between letters and in runs."""
    cps = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    texts = []
    for i in range(0, len(cps), 256):
        chunk = [chr(c) for c in cps[i:i + 256]]
        words = " ".join("x" + c + c + "y" for c in chunk)
        runs = " ".join("".join(chunk[j:j + 16]) for j in range(0, len(chunk), 16))
        texts.append(words + " " + runs)
    return texts


@pytest.mark.parametrize("lowercase", [True, False])
def test_every_code_point_normalizes_like_hf(lion_tokenize, char_vocab, all_code_point_texts,
                                             lowercase):
    assert_parity(char_vocab, all_code_point_texts, lowercase, extra=["--tokens=false"])


def test_corpus_is_large_enough(corpus_files):
    assert sum(os.path.getsize(f) for f in corpus_files) >= MIN_CORPUS_BYTES


@pytest.mark.parametrize("name,lowercase", [("lower", True), ("cased", False)])
def test_corpus_lines_match_hf(lion_tokenize, vocabs, corpus_lines, name, lowercase):
    assert_parity(vocabs[name], corpus_lines, lowercase)


@pytest.mark.parametrize("name,lowercase", [("lower", True), ("cased", False)])
def test_whole_corpus_as_one_text_matches_hf(lion_tokenize, vocabs, corpus_lines, name, lowercase):
    text = "\n".join(corpus_lines)
    assert len(text.encode()) >= MIN_CORPUS_BYTES
    assert_parity(vocabs[name], [text], lowercase)


@pytest.mark.parametrize("name,lowercase", [("multi_lower", True), ("multi_cased", False),
                                            ("lower", True), ("cased", False)])
def test_nasty_inputs_match_hf(lion_tokenize, vocabs, name, lowercase):
    texts = NASTY + [a + b for a in NASTY[:12] for b in NASTY[:12]]
    assert_parity(vocabs[name], texts, lowercase)
    assert_parity(vocabs[name], texts, lowercase, extra=["--no_special_tokens"],
                  add_special_tokens=False)


@pytest.mark.parametrize("name,lowercase", [("multi_lower", True), ("multi_cased", False)])
def test_long_texts_cut_into_pieces_match_hf(lion_tokenize, vocabs, name, lowercase):
    # The tokenizer works in 64 KiB pieces: texts of several pieces whose
    # boundaries fall among nasty characters, special tokens, CJK, a run of
    # combining marks and a 100 KiB word without any boundary.
    nasty = "".join(NASTY)
    texts = [
        (nasty + " [MASK] ") * (300_000 // (len(nasty) + 8)),
        "\u4e2d\u6587" * 60_000,
        "a" * (100 << 10) + " tail" + "b" * 70_000,
        "e" + "\u0301\u0316" * 40_000 + " end",
        "[MASK]" * 50_000,
    ]
    assert_parity(vocabs[name], texts, lowercase)
    for direction in ("right", "left"):
        assert_parity(vocabs[name], texts, lowercase,
                      extra=["--max_length=50", f"--truncation={direction}"],
                      max_length=50, direction=direction)


def test_multilingual_vocab_has_accents_and_cjk(vocabs):
    with open(vocabs["multi_cased"], encoding="utf-8") as fh:
        tokens = set(fh.read().split("\n"))
    assert {"中", "é", "ß"} <= tokens
    assert any(unicodedata.category(t[-1]) == "Mn" for t in tokens if t)


@pytest.mark.parametrize("direction", ["right", "left"])
def test_truncation_matches_hf(lion_tokenize, vocabs, corpus_lines, direction):
    texts = [line for line in corpus_lines if len(line) > 40][:2000] + NASTY
    assert_parity(vocabs["lower"], texts, True,
                  extra=["--max_length=12", f"--truncation={direction}"],
                  max_length=12, direction=direction)


def test_no_truncation_names_the_limit(lion_tokenize, vocabs):
    long_text = "the quick brown fox jumps over the lazy dog " * 10
    ours = run_tool(vocabs["lower"], [long_text, "short"], True,
                    extra=["--max_length=16", "--truncation=none"])
    assert "16" in ours[0]["error"] and "limit" in ours[0]["error"]
    assert len(ours[1]["ids"]) <= 16


def test_invalid_utf8_line_is_an_error(lion_tokenize, vocabs):
    out = subprocess.run([TOOL, f"--vocab={vocabs['lower']}"], input=b"ok\nbad \xff byte\n",
                         capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr.decode()
    good, bad = [json.loads(line) for line in out.stdout.decode().splitlines()]
    assert "ids" in good
    assert "UTF-8" in bad["error"] and "byte offset 4" in bad["error"]
