"""The repository is self-contained: every document a tracked file cites is in
the repository, and nothing names a path of one development machine.

(a) No tracked text file mentions the design documents that live outside the
    repository, or an absolute path under a developer's home or work folder.
(b) Every `docs/<name>.md` a file names exists, and every "<name>.md section N"
    (or "sections N-M", "section N.M") names a numbered heading that exists in
    that file; every `<name>.md, "Heading"` names an existing heading.

Runs on `git ls-files`; needs git, no build and no server.
"""

import os
import pathlib
import re
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]

# Files whose bytes are not text we write (images, weights, fixtures).
BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".ico", ".safetensors", ".bin", ".pt",
                   ".pth", ".npz", ".npy", ".gz", ".zip", ".tar", ".whl", ".so", ".a", ".pdf"}

# Assembled from pieces so that this file does not match itself.
_OUTSIDE_DOCS = [
    "lion-" + "spec",
    "PRODUCT" + r"\.md",
    "STYLE" + r"\.md",
    "STYLE" + r" rule",
    "BUILD-" + "NOTES",
    "official-checkpoint-" + "layout",
    r"\.\./" + "shared",
    r"\((?:lion )?" + "spec" + r" (?:section )?\d",
]
FORBIDDEN = re.compile("|".join(_OUTSIDE_DOCS), re.IGNORECASE)

# A path under the work folder, root's home or a user's home (the three
# patterns below) is a path of the machine a file was written on. System
# paths (/usr, /etc, /tmp, /opt, /proc, /dev, /var) are fine.
MACHINE_PATH = re.compile(r"(?<![\w.~/-])/(?:" + "work" + r"|root|home/[\w.-]+)(?=/|\b)")

# Absolute paths that are not of a development machine, each with its reason.
ALLOWED_PATHS = {
    ("deploy/docker/Dockerfile", "/" + "root"): "the image's root home while it is built",
    ("tests/runtime/calibration_cache_test.cc", "/" + "home/u"): "a made-up HOME under test",
}

NUMBER = r"\d+(?:\.\d+)*"
SECTION_CITE = re.compile(
    r"((?:[\w.-]+/)*[\w.-]+\.md)(?:'s)?,?\s+(?:sections?|§)\s+"
    r"(" + NUMBER + r"(?:\s*(?:,|and|-|/)\s*" + NUMBER + r")*)")
NAMED_CITE = re.compile(r"((?:[\w.-]+/)*[\w.-]+\.md),\s+\"([^\"\n]+)\"")
DOCS_PATH = re.compile(r"(?<![\w/.-])docs/[\w.-]+\.md")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*$", re.MULTILINE)
# Comment leaders removed when lines are joined, so that a citation wrapped
# over two comment lines is read as one.
COMMENT_LEADER = re.compile(r"^\s*(?://+|#+|\*|--)?\s?")


def tracked_text_files():
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, check=True,
                             capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.fail(f"git ls-files failed in {REPO} ({e}): this test reads the tracked files")
    files = {}
    for name in out.decode().split("\0"):
        if not name or pathlib.PurePosixPath(name).suffix.lower() in BINARY_SUFFIXES:
            continue
        path = REPO / name
        if not path.is_file():  # deleted in the work tree, or a submodule
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue
        files[name] = data.decode("utf-8", errors="replace")
    assert len(files) > 50, f"only {len(files)} tracked text files found in {REPO}"
    return files


@pytest.fixture(scope="module")
def files():
    return tracked_text_files()


def joined(text):
    """The text with comment leaders removed and lines joined by spaces."""
    return " ".join(COMMENT_LEADER.sub("", line, count=1) for line in text.splitlines())


def resolve_md(cited, citing):
    """The repository path of a cited .md, or None."""
    here = pathlib.PurePosixPath(citing).parent
    candidates = [pathlib.PurePosixPath(cited), here / cited]
    if "/" not in cited:
        candidates.append(pathlib.PurePosixPath("docs") / cited)
    for c in candidates:
        if (REPO / c).is_file():
            return str(pathlib.PurePosixPath(os.path.normpath(c)))
    return None


def section_numbers(md_text):
    numbers = set()
    for title in HEADING.findall(md_text):
        m = re.match(r"(" + NUMBER + r")[.)]?(?:\s|$)", title)
        if m:
            numbers.add(m.group(1))
    return numbers


def cited_numbers(spec):
    """'2-4' -> 2, 3, 4; '2.1-2.2' -> 2.1, 2.2; '4.1, 6 and 7' -> 4.1, 6, 7."""
    out = []
    for part in re.split(r"\s*(?:,|and|/)\s*", spec):
        ends = [e.strip() for e in part.split("-")]
        if len(ends) == 2 and ends[0].isdigit() and ends[1].isdigit():
            out += [str(n) for n in range(int(ends[0]), int(ends[1]) + 1)]
        else:
            out += [e for e in ends if e]
    return out


def test_no_outside_documents_or_machine_paths(files):
    problems = []
    for name, text in files.items():
        for lineno, line in enumerate(text.splitlines(), 1):
            m = FORBIDDEN.search(line)
            if m:
                problems.append(f"{name}:{lineno}: cites {m.group(0)!r}, which is not in the "
                                f"repository: {line.strip()[:120]}")
            for p in MACHINE_PATH.finditer(line):
                if not any(name == f and p.group(0).startswith(prefix)
                           for f, prefix in ALLOWED_PATHS):
                    problems.append(f"{name}:{lineno}: machine path {p.group(0)!r}: "
                                    f"{line.strip()[:120]}")
    assert not problems, "\n".join(problems)


def test_cited_docs_and_sections_exist(files):
    problems = []
    sections = {}
    for name, text in files.items():
        flat = joined(text)
        for m in DOCS_PATH.finditer(flat):
            if not (REPO / m.group(0)).is_file():
                problems.append(f"{name}: names {m.group(0)}, which does not exist")
        for m in SECTION_CITE.finditer(flat):
            target = resolve_md(m.group(1), name)
            if target is None:
                problems.append(f"{name}: cites {m.group(0)!r}; {m.group(1)} does not exist")
                continue
            if target not in sections:
                sections[target] = section_numbers((REPO / target).read_text(encoding="utf-8"))
            for n in cited_numbers(m.group(2)):
                if n not in sections[target]:
                    problems.append(f"{name}: cites {m.group(0)!r}, but {target} has no "
                                    f"section {n} (it has {sorted(sections[target])})")
        for m in NAMED_CITE.finditer(flat):
            target = resolve_md(m.group(1), name)
            if target is None:
                problems.append(f"{name}: cites {m.group(0)!r}; {m.group(1)} does not exist")
                continue
            titles = HEADING.findall((REPO / target).read_text(encoding="utf-8"))
            if not any(m.group(2) in t for t in titles):
                problems.append(f"{name}: cites {m.group(0)!r}, but {target} has no such "
                                "heading")
    assert not problems, "\n".join(problems)


def test_the_checks_recognise_what_they_look_for():
    """The patterns match the forms the repository uses (else both tests above
    would pass whatever the files say)."""
    assert FORBIDDEN.search("see " + "lion-" + "spec section 2")
    assert FORBIDDEN.search("(" + "spec 4.1)")
    assert not FORBIDDEN.search("(PNG spec 11.2.2)")
    assert MACHINE_PATH.search("default " + "/" + "work/main/build")
    assert MACHINE_PATH.search("/" + "home/alice/x")
    assert not MACHINE_PATH.search("/usr/include and /tmp/x and https://a.org" + "/" + "work/x")
    flat = joined("// the mask of docs/lion-math.md\n"
                  "// section 2.1, and BENCHMARKS.md sections 2-4")
    cites = [(m.group(1), cited_numbers(m.group(2))) for m in SECTION_CITE.finditer(flat)]
    assert cites == [("docs/lion-math.md", ["2.1"]), ("BENCHMARKS.md", ["2", "3", "4"])]
    assert section_numbers("# T\n## 1. A\n### 1.2 B\n## 10. C\n") == {"1", "1.2", "10"}
