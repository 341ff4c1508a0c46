"""docs/architecture.md's module map lists every module of the packages and nothing else, and
the README's architecture section is the one generated from it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.unit.docs.architecture_map import (
    README,
    README_END,
    Entry,
    layer_for,
    package_modules,
    read_map,
    readme_with_section,
    render_readme_section,
)

LAYERS = ["CLI", "reports and dashboards", "adapters", "core", "formats", "contract"]


def test_every_module_of_the_packages_is_in_the_architecture_map() -> None:
    entries = read_map()
    listed = {e.path for e in entries}
    missing = [m for m in package_modules() if m not in listed]
    problems = []
    for module in missing:
        layer = layer_for(module, entries)
        where = f"under '### {layer}'" if layer else "under its layer"
        problems.append(
            f"module {module} is not in docs/architecture.md: add a line "
            f"'- `{module}` — what it does' to the module map {where}, then run `make readme`"
        )
    assert not problems, "\n".join(problems)


def test_the_architecture_map_names_no_module_that_is_gone() -> None:
    modules = set(package_modules())
    stale = [
        f"docs/architecture.md:{e.line}: `{e.path}` is not a module of the tree any more: "
        "remove or rename the line, then run `make readme`"
        for e in read_map()
        if e.path not in modules
    ]
    assert not stale, "\n".join(stale)


def test_each_module_is_listed_once_with_what_it_does() -> None:
    entries = read_map()
    twice = [p for p, n in Counter(e.path for e in entries).items() if n > 1]
    assert not twice, f"listed more than once in docs/architecture.md's module map: {twice}"
    bare = [f"docs/architecture.md:{e.line}: {e.path}" for e in entries if not e.what]
    assert not bare, "say what the module does after ' — ':\n" + "\n".join(bare)


def test_the_map_keeps_the_layers_in_import_order() -> None:
    # The order is the import rule read top to bottom (pyproject.toml [tool.importlinter]).
    seen = list(dict.fromkeys(e.layer for e in read_map()))
    assert seen == LAYERS, (
        f"the module map's '### ' headings are {seen}; the layers are {LAYERS} (top to bottom). "
        "A new layer also needs a line in pyproject.toml's layers contract."
    )


def test_the_readme_architecture_section_is_generated_from_the_map() -> None:
    readme = README.read_text(encoding="utf-8")
    expected = readme_with_section(readme, render_readme_section(read_map()))
    assert readme == expected, (
        "README.md's architecture section differs from docs/architecture.md's module map: "
        "run `make readme` (python -m tests.unit.docs.architecture_map) and commit README.md"
    )


# The checks themselves, on a small map: a test that cannot fail proves nothing.

MAP = """intro
<!-- module-map:begin -->
### core

- `streams/core/engine.py` — the engine
- `streams/core/clock.py` — event time

### formats

- `formats/schemas.py` — JSON Schemas
<!-- module-map:end -->
"""


def test_a_new_module_is_placed_with_its_folder() -> None:
    entries = read_map(MAP)
    assert [e.layer for e in entries] == ["core", "core", "formats"]
    assert layer_for("streams/core/parts/buffer.py", entries) == "core"
    assert layer_for("formats/new.py", entries) == "formats"
    assert layer_for("dashboards/new.py", entries) is None


@pytest.mark.parametrize(
    "line",
    ["- streams/core/engine.py — no backticks", "- `streams/core/engine` — no .py"],
)
def test_a_malformed_map_line_is_refused(line: str) -> None:
    with pytest.raises(ValueError, match="a map line reads"):
        read_map(MAP.replace("- `streams/core/clock.py` — event time", line))


def test_a_map_without_its_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="no module map"):
        read_map("### core\n- `streams/core/engine.py` — x\n")


def test_the_generated_section_follows_the_map() -> None:
    entries = [
        Entry("core", "streams/core/engine.py", "x", 1),
        Entry("core", "streams/core/clock.py", "x", 2),
        Entry("formats", "formats/schemas.py", "x", 3),
    ]
    section = render_readme_section(entries)
    assert "core\n  streams/core/" in section and "engine, clock" in section
    readme = f"before\n{section}\nafter\n"
    assert readme_with_section(readme, section) == readme
    moved = render_readme_section(entries[:1] + entries[2:])
    assert readme_with_section(readme, moved) != readme
    with pytest.raises(ValueError, match=README_END):
        readme_with_section("no block here", section)


def test_only_packages_that_define_something_need_a_line(tmp_path: Path) -> None:
    from tests.unit.docs.architecture_map import is_listed_module

    cases = {
        "empty": "",
        "docstring": '"""A package."""\n',
        "reexports": '"""Doc."""\nfrom a import b\n__all__ = ["b"]\n',
        "defines": '"""Doc."""\nfrom a import b\nLIMIT = 3\n',
    }
    listed = {}
    for name, text in cases.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(text)
        listed[name] = is_listed_module(tmp_path / name / "__init__.py")
    assert listed == {"empty": False, "docstring": False, "reexports": False, "defines": True}
    assert is_listed_module(tmp_path / "anything.py")
