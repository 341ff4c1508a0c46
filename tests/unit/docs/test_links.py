"""What the docs point at exists: relative links in README.md and docs/*.md, repository paths
written in backticks there, and test files cited anywhere (docs, code comments, Makefile)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from tests.unit.docs.architecture_map import PACKAGES

ROOT = Path(__file__).resolve().parents[3]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Top-level folders whose paths the docs cite in backticks (outputs such as `demo-out/` or
# `.stack/` are made at run time and are not checked).
TREE_ROOTS = (
    *(f"{package}/" for package in PACKAGES),
    "tests/",
    "deploy/",
    "bench/",
    "docs/",
    ".ci/",
)

_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_TEST_PATH = re.compile(r"tests/[A-Za-z0-9_./-]*[A-Za-z0-9_]")


def _prose_lines(path: Path) -> list[tuple[int, str]]:
    """The lines outside fenced code blocks, numbered from 1."""
    out, fenced = [], False
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            out.append((n, line))
    return out


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to '-'."""
    text = heading.strip().lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in ("L", "N", "M"))
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in _prose_lines(path):
        if m := re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line):
            slug = github_anchor(re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", m[1]))
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            found.add(slug if n == 0 else f"{slug}-{n}")
    return found


def link_problem(doc: Path, target: str, root: Path = ROOT) -> str | None:
    """Why a link from ``doc`` does not resolve, or None when it does (or is not relative)."""
    if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
        return None
    file_part, _, anchor = target.partition("#")
    dest = (doc.parent / file_part).resolve() if file_part else doc.resolve()
    if not dest.is_relative_to(root.resolve()):
        return f"{target}: leaves the repository (a clone elsewhere cannot follow it)"
    if not dest.exists():
        return f"{target}: no such file"
    if anchor and dest.suffix == ".md" and anchor not in anchors(dest):
        return f"{target}: {dest.name} has no heading with the anchor #{anchor}"
    return None


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(doc: Path) -> None:
    broken = [
        f"{doc.relative_to(ROOT)}:{n}: {problem}"
        for n, line in _prose_lines(doc)
        for target in _LINK.findall(line)
        if (problem := link_problem(doc, target)) is not None
    ]
    assert not broken, "broken links:\n" + "\n".join(broken)


def _cited_tree_paths(line: str) -> list[str]:
    cited = []
    for span in _CODE_SPAN.findall(line):
        token = span.split()[0] if span.split() else ""
        token = token.split("::")[0].rstrip(".,:;")
        if token.startswith(TREE_ROOTS) and not re.search(r"[<>{}…]", token):
            cited.append(token)
    return cited


def _exists(token: str) -> bool:
    if any(c in token for c in "*?["):
        return any(ROOT.glob(token))
    return (ROOT / token).exists()


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_repository_paths_in_backticks_exist(doc: Path) -> None:
    missing = [
        f"{doc.relative_to(ROOT)}:{n}: `{token}` does not exist"
        for n, line in _prose_lines(doc)
        for token in _cited_tree_paths(line)
        if not _exists(token)
    ]
    assert not missing, "\n".join(missing)


def _files_citing_tests() -> list[Path]:
    files = [*DOCS, ROOT / "Makefile", ROOT / "pyproject.toml"]
    for folder in (*PACKAGES, "bench", "deploy", "tests"):
        files.extend(p for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".sh", ".md"))
    here = Path(__file__).resolve()  # cites made-up paths on purpose, below
    return [f for f in files if f.is_file() and f.resolve() != here]


def test_cited_test_files_exist() -> None:
    missing = []
    for path in _files_citing_tests():
        text = path.read_text(encoding="utf-8")
        for n, line in enumerate(text.splitlines(), 1):
            for cited in _TEST_PATH.findall(line):
                if not (ROOT / cited).exists() and not (ROOT / f"{cited}.py").exists():
                    missing.append(f"{path.relative_to(ROOT)}:{n}: {cited} does not exist")
    assert not missing, "cited test paths that are not in the tree:\n" + "\n".join(missing)


# The checks themselves, on made-up documents.


def test_a_link_check_that_can_fail(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    doc = tmp_path / "docs" / "a.md"
    doc.write_text("# Title\n\n## The module map\n\ntext\n")
    (tmp_path / "README.md").write_text("x")
    assert link_problem(doc, "../README.md", tmp_path) is None
    assert link_problem(doc, "a.md#the-module-map", tmp_path) is None
    assert link_problem(doc, "#title", tmp_path) is None
    assert link_problem(doc, "https://example.org/x", tmp_path) is None
    assert "no such file" in (link_problem(doc, "gone.md", tmp_path) or "")
    assert "no heading" in (link_problem(doc, "a.md#the-map", tmp_path) or "")
    assert "leaves the repository" in (link_problem(doc, "../../shared/c.md", tmp_path) or "")


def test_anchors_follow_github() -> None:
    assert github_anchor("One reading's journey") == "one-readings-journey"
    assert github_anchor("Two commands on a fresh machine") == "two-commands-on-a-fresh-machine"
    assert github_anchor("heatwatch 清洁取暖运行监测") == "heatwatch-清洁取暖运行监测"
    assert github_anchor("Layers: CLI > reports") == "layers-cli--reports"


def test_backticked_paths_are_read_as_paths() -> None:
    line = "see `streams/core/engine.py` `Engine.push`, `tests/unit/x.py::test_y`, `demo-out/`"
    assert _cited_tree_paths(line) == ["streams/core/engine.py", "tests/unit/x.py"]
    assert _cited_tree_paths("`deploy/grafana/dashboards/*.json`") == [
        "deploy/grafana/dashboards/*.json"
    ]
