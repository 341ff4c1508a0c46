"""The module map of docs/architecture.md, read as data, and the README section made from it.

The map is the list between ``<!-- module-map:begin -->`` and ``<!-- module-map:end -->``: a
``### layer`` heading, then one ``- `path/to/module.py` — what it does`` line per module. The
tests next to this file check it against the tree; ``make readme`` (``python -m
tests.unit.docs.architecture_map``) rewrites README.md's architecture block from it, so the
README cannot name a module the tree no longer has.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
README = ROOT / "README.md"
PACKAGES = ("contract", "formats", "streams", "producers", "dashboards", "heatwatch")

MAP_BEGIN, MAP_END = "<!-- module-map:begin -->", "<!-- module-map:end -->"
README_BEGIN = (
    "<!-- architecture:begin (generated from docs/architecture.md's module map by `make readme`;"
    " do not edit) -->"
)
README_END = "<!-- architecture:end -->"

_ENTRY = re.compile(r"^- `(?P<path>[^`]+\.py)`(?: — (?P<what>.*))?$")


@dataclass(frozen=True)
class Entry:
    layer: str
    path: str  # repository-relative, with "/"
    what: str
    line: int  # in docs/architecture.md


def is_listed_module(path: Path) -> bool:
    """A module the map must list: every ``.py`` file of the packages, and an ``__init__.py``
    only when it defines something (a package that merely re-exports is its modules)."""
    if path.name != "__init__.py":
        return True
    tree = ast.parse(path.read_text(encoding="utf-8"))
    body = tree.body[1:] if ast.get_docstring(tree) is not None else tree.body
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Assign) and all(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            continue
        return True
    return False


def package_modules(root: Path = ROOT) -> list[str]:
    """Every module the map must list, as repository-relative paths."""
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if is_listed_module(path):
                found.append(path.relative_to(root).as_posix())
    return found


def read_map(text: str | None = None) -> list[Entry]:
    """The entries of the module map, in their order. Raises ValueError on a malformed map."""
    if text is None:
        text = ARCHITECTURE.read_text(encoding="utf-8")
    lines = text.splitlines()
    try:
        begin, end = lines.index(MAP_BEGIN), lines.index(MAP_END)
    except ValueError:
        raise ValueError(
            f"docs/architecture.md has no module map: the lines {MAP_BEGIN} and {MAP_END} "
            "must enclose it"
        ) from None
    entries: list[Entry] = []
    layer = ""
    for n in range(begin + 1, end):
        line = lines[n].rstrip()
        if line.startswith("### "):
            layer = line[4:].strip()
        elif line.startswith("- "):
            m = _ENTRY.match(line)
            if m is None or not layer:
                raise ValueError(
                    f"docs/architecture.md:{n + 1}: a map line reads "
                    "'- `package/module.py` — what it does' under a '### layer' heading, "
                    f"not {line!r}"
                )
            entries.append(Entry(layer, m["path"], (m["what"] or "").strip(), n + 1))
    return entries


def layer_for(module: str, entries: list[Entry]) -> str | None:
    """The layer a new module most likely belongs to: that of the listed modules sharing the
    longest folder with it (a new streams/core/x.py goes where streams/core/engine.py is)."""
    parts = module.split("/")[:-1]
    while parts:
        folder = "/".join(parts) + "/"
        layers = [e.layer for e in entries if e.path.startswith(folder)]
        if layers:
            return max(set(layers), key=layers.count)
        parts.pop()
    return None


def render_readme_section(entries: list[Entry]) -> str:
    """The README's architecture block: per layer (top to bottom), the modules by folder."""
    layers: dict[str, dict[str, list[str]]] = {}
    for e in entries:
        folder, _, name = e.path.rpartition("/")
        layers.setdefault(e.layer, {}).setdefault(folder + "/", []).append(name.removesuffix(".py"))
    width = max(len(folder) for folders in layers.values() for folder in folders) + 2
    out = ["```"]
    for layer, folders in layers.items():
        out.append(f"{layer}")
        for folder, names in folders.items():
            out.extend(_wrapped(f"  {folder:<{width}}", names, 96))
    out.append("```")
    return "\n".join([README_BEGIN, *out, README_END])


def _wrapped(head: str, names: list[str], limit: int) -> list[str]:
    lines, current = [], head
    for i, name in enumerate(names):
        word = name + ("," if i < len(names) - 1 else "")
        if len(current) + len(word) + 1 > limit and current.strip():
            lines.append(current.rstrip())
            current = " " * len(head)
        current += ("" if current.endswith(" ") else " ") + word
    lines.append(current.rstrip())
    return lines


def readme_with_section(readme: str, section: str) -> str:
    """README text with its generated block replaced by ``section``."""
    begin, end = readme.find(README_BEGIN), readme.find(README_END)
    if begin < 0 or end < begin:
        raise ValueError(f"README.md has no generated architecture block ({README_END} missing)")
    return readme[:begin] + section + readme[end + len(README_END) :]


def main() -> int:
    readme = README.read_text(encoding="utf-8")
    new = readme_with_section(readme, render_readme_section(read_map()))
    if new != readme:
        README.write_text(new, encoding="utf-8")
        print("README.md: architecture section regenerated from docs/architecture.md")
    else:
        print("README.md: architecture section already matches docs/architecture.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
