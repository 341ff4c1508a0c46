"""Which registry column a clerk's header cell means.

County ledgers are typed in Excel by people: the header row is the template's Chinese labels
(用户编号, 县（市、区）…), a colleague's variant (户号, 县, 乡镇…), the contract's English
codes, or any of them with a stray space, full-width brackets or a unit in brackets. Each
spelling means exactly one column (the glossary lists them); anything else is named as an
unknown column with the accepted labels, never guessed at.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from contract.glossary import REGISTRY_COLUMNS, REGISTRY_HEADER_VARIANTS

# A trailing bracketed unit or qualifier: 额定功率（kW）, 合同气量(m3), 县(市、区).
_TRAILING_BRACKET = re.compile(r"[(\[][^()\[\]]*[)\]]$")
# Spaces, underscores and hyphens carry no meaning in a header (Household ID = household_id).
_NOISE = re.compile(r"[\s_\-·]+")


def normalize_header(cell: str) -> str:
    """The comparable form of a header cell: NFKC (full-width → half-width), no BOM, no
    spaces/underscores/hyphens, case-folded."""
    text = unicodedata.normalize("NFKC", cell).replace("\ufeff", "")
    return _NOISE.sub("", text).casefold()


def _forms(cell: str) -> list[str]:
    """The cell's normalized form, then without a trailing bracket (the unit)."""
    full = normalize_header(cell)
    forms = [full]
    bare = _TRAILING_BRACKET.sub("", full)
    if bare and bare != full:
        forms.append(bare)
    return forms


def header_aliases(columns: tuple[str, ...]) -> dict[str, str]:
    """normalized spelling → column code, for the columns the loader accepts (a column with
    no glossary label, e.g. a newly added optional one, is still found by its code)."""
    aliases: dict[str, str] = {}
    for code in columns:
        spellings = [code]
        term = REGISTRY_COLUMNS.get(code)
        if term is not None:
            spellings += [term.zh, term.en]
        spellings += list(REGISTRY_HEADER_VARIANTS.get(code, ()))
        for spelling in spellings:
            for form in _forms(spelling):
                aliases.setdefault(form, code)
    return aliases


@dataclass(frozen=True)
class HeaderCell:
    index: int  # 0-based position in the header row
    text: str  # as typed
    code: str | None  # the column it means, None if unknown or blank


def read_header(cells: list[str], columns: tuple[str, ...]) -> list[HeaderCell]:
    """What each header cell means (``code`` None for a cell that means no known column)."""
    aliases = header_aliases(columns)
    out: list[HeaderCell] = []
    for i, cell in enumerate(cells):
        code = next((aliases[f] for f in _forms(cell) if f in aliases), None)
        out.append(HeaderCell(i, cell.strip(), code))
    return out


def column_letter(index: int) -> str:
    """Excel's column name for a 0-based index: 0 → A, 25 → Z, 26 → AA."""
    name = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        name = chr(ord("A") + rem) + name
    return name
