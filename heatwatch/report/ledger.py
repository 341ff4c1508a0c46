"""Household ledgers (台账): CSV (UTF-8 with BOM, opens in Excel) and XLSX (streaming).

The XLSX is written by xlsxwriter in ``constant_memory`` mode. Its per-cell path
(``write_row`` → type dispatch → cell tuple → XML) costs ~6 µs a cell, i.e. ~25 s for the
whole-city ledger (191,634 rows × 21 columns), so the data rows take a fast path: each
column's cell XML is built once per distinct value and the rows are joined column-wise in
chunks, then streamed into the worksheet's row-data file exactly as xlsxwriter itself would
write them (byte-identical ``sheet1.xml``; tested against the per-cell path). The fast path
only handles plain cells — ``None``, ``int``, finite ``float`` and strings xlsxwriter writes
as inline strings; anything else (formulas, URLs, rich strings, other types) or an
xlsxwriter whose internals differ falls back to the per-cell path.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, cast

Column = tuple[str, list[object]]  # header, values (None = empty)

_CHUNK_ROWS = 8192
# Strings that need xlsxwriter's escaping helpers (XML specials, control characters,
# literal "_xHHHH_" sequences, leading/trailing whitespace). Anything else is written as is.
_NEEDS_ESCAPE = re.compile(r'[\x00-\x08\x0a-\x1f"&<>\ufffe\uffff]|_x|^\s|\s$')
_URL = re.compile(r"(ftp|http)s?://|mailto:|(in|ex)ternal:|file://")
_STRMAX_FAST = 32767 // 2  # longer strings need xlsxwriter's UTF-16 length check


def write_csv(path: Path, headers: Sequence[str], columns: Sequence[Sequence[object]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        w.writerows(zip(*columns, strict=True))


def write_xlsx(
    path: Path,
    sheet: str,
    headers: Sequence[str],
    columns: Sequence[Sequence[object]],
    widths: Sequence[float] | None = None,
    *,
    fast: bool = True,
    percent: Sequence[int] = (),
    dates: Sequence[int] = (),
    mark: str | None = None,
) -> None:
    """xlsxwriter in constant_memory mode: rows are flushed as written (bounded memory).

    ``percent``: columns of shares (0.9914) shown as percentages (99.1%) — the cells keep the
    number, only their format says %. ``dates``: columns of ISO dates (``2021-12-01``) written
    as date cells (Excel's day number with a ``yyyy-mm-dd`` format), so they sort and filter
    as dates. ``mark``: a draft mark in the header of every printed page and above the
    table's name. ``fast=False`` forces xlsxwriter's per-cell path (same
    file, used by the tests).
    """
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    ws = wb.add_worksheet(sheet[:31])
    bold = wb.add_format({"bold": True, "bg_color": "#F3E9E9", "border": 1, "text_wrap": True})
    for j in range(len(headers)):
        ws.set_column(j, j, widths[j] if widths else 14)
    ws.write_row(0, 0, headers, bold)
    ws.freeze_panes(1, 1)
    n = len(columns[0]) if columns else 0
    if n and len({len(c) for c in columns}) != 1:
        raise ValueError("ledger columns differ in length")
    pct = wb.add_format({"num_format": "0.0%"})
    day = wb.add_format({"num_format": "yyyy-mm-dd"})
    # Style numbers are given on first use; fix them here so both row paths agree.
    bold._get_xf_index()
    pct._get_xf_index()
    day._get_xf_index()
    styles = {j: pct for j in percent} | {j: day for j in dates}
    if dates:
        columns = [_excel_days(c) if j in dates else c for j, c in enumerate(columns)]
    if mark:
        # "&" starts a header code in Excel; a mark with one would lose characters
        ws.set_header("&C&14&KB22222" + mark.replace("&", "&&"))
        ws.set_footer("&C" + mark.replace("&", "&&") + " &P/&N")
    if not (n and fast and _write_rows_fast(ws, columns, styles)):
        write = ws.write
        for i, row in enumerate(zip(*columns, strict=True), start=1):
            for j, value in enumerate(row):
                if j in styles and value is not None:
                    write(i, j, value, styles[j])
                else:
                    write(i, j, value)
    if n:
        ws.autofilter(0, 0, n, len(headers) - 1)
    wb.close()


_EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (with its 1900 leap-year quirk)


def _excel_days(values: Sequence[object]) -> list[object]:
    """ISO date strings → Excel day numbers (``None`` and other values as they are)."""
    out: list[object] = []
    for v in values:
        if isinstance(v, str) and len(v) == 10:
            out.append((date.fromisoformat(v) - _EXCEL_EPOCH).days)
        elif isinstance(v, date):
            out.append((v - _EXCEL_EPOCH).days)
        else:
            out.append(v)
    return out


def _cell_bodies(ws: Any, values: Sequence[object], style: Any = None) -> list[str | None] | None:
    """The XML after ``<c r="A1"`` for each value (``None``: no cell), or None if any value
    needs xlsxwriter's general path. ``style``: a number format for the numbers."""
    num = _num if style is None else _styled_num(style._get_xf_index())
    from xlsxwriter.utility import _preserve_whitespace

    cache: dict[object, str | None] = {"": None}  # "" is a blank cell, like None
    out: list[str | None] = []
    append = out.append
    for v in values:
        cls = v.__class__
        if cls is str or cls is int:
            body = cache.get(v, _MISSING)
            if body is _MISSING:
                if cls is str:
                    if style is not None:
                        return None
                    body = _string_body(ws, cast(str, v), _preserve_whitespace)
                else:
                    body = num(v)
                if body is None:
                    return None
                cache[v] = body
        elif v is None:
            body = None
        elif cls is float:
            if not math.isfinite(cast(float, v)):
                return None
            body = num(v)
        else:
            return None
        append(body)
    return out


_MISSING = "\x00missing"


def _num(v: object) -> str:
    return f"><v>{v:.16G}</v></c>"


def _styled_num(xf_index: int) -> Any:
    def num(v: object) -> str:
        return f' s="{xf_index}"><v>{v:.16G}</v></c>'

    return num


def _string_body(ws: Any, s: str, preserve: Any) -> str | None:
    if s[0] in "={" or len(s) > _STRMAX_FAST or (":" in s and _URL.match(s)):
        return None  # formulas, URLs, over-long strings: xlsxwriter's general path
    t_attr = ""
    if _NEEDS_ESCAPE.search(s):
        s = ws._escape_control_characters(s)
        if s.startswith("<r>") and s.endswith("</r>"):
            return None  # written as a rich string
        if preserve(s):
            t_attr = ' xml:space="preserve"'
        s = ws._escape_data(s)
    elif s.startswith("<r>") and s.endswith("</r>"):
        return None
    return f' t="inlineStr"><is><t{t_attr}>{s}</t></is></c>'


def _fast_path_applies(ws: Any) -> bool:
    """The worksheet is in the state the fast path writes for (else: per-cell path)."""
    needed = (
        "row_data_fh",
        "previous_row",
        "table",
        "row_info",
        "col_info",
        "comments",
        "excel_version",
        "default_row_height",
        "original_row_height",
        "write_handlers",
        "strings_to_numbers",
        "_write_single_row",
        "_check_dimensions",
        "_escape_control_characters",
        "_escape_data",
    )
    return bool(
        ws.constant_memory
        and all(hasattr(ws, a) for a in needed)
        and ws.fh is ws.row_data_fh
        and ws.previous_row == 0
        and not ws.row_info
        and not ws.comments
        and ws.excel_version == 2007
        and ws.default_row_height == ws.original_row_height
        and not ws.write_handlers
        and ws.strings_to_numbers is False
        and all(ci.column_format is None for ci in ws.col_info.values())
    )


def _write_rows_fast(
    ws: Any, columns: Sequence[Sequence[object]], styles: dict[int, Any] | None = None
) -> bool:
    """Rows 2.. of the sheet straight into xlsxwriter's constant_memory row-data file.

    Returns False (nothing written) when a value or the xlsxwriter version needs the
    per-cell path.
    """
    from xlsxwriter.utility import xl_col_to_name

    if not _fast_path_applies(ws):
        return False
    bodies: list[list[str | None]] = []
    for j, col in enumerate(columns):
        col_bodies = _cell_bodies(ws, col, (styles or {}).get(j))
        if col_bodies is None:
            return False
        bodies.append(col_bodies)
    n = len(columns[0])
    used = [j for j, cb in enumerate(bodies) if any(x is not None for x in cb)]
    if not used:
        return True  # all blank: xlsxwriter writes nothing for unformatted blanks either
    full = any(None not in cb for cb in bodies)  # some column has a cell in every row
    last = n - 1 if full else max(i for i in range(n) if any(cb[i] is not None for cb in bodies))

    ws._write_single_row(1)  # flush the header row (row 0) as xlsxwriter would
    ws._check_dimensions(last + 1, used[0])
    ws._check_dimensions(last + 1, used[-1])
    letters = [xl_col_to_name(j) for j in range(len(columns))]
    fh = ws.fh
    for lo in range(0, n, _CHUNK_ROWS):
        hi = min(lo + _CHUNK_ROWS, n)
        rownums = [str(i) for i in range(lo + 2, hi + 2)]
        parts: list[list[str]] = [[f'<row r="{r}">' for r in rownums]]
        for letter, col_bodies in zip(letters, bodies, strict=True):
            parts.append(
                [
                    "" if x is None else f'<c r="{letter}{r}"{x}'
                    for r, x in zip(rownums, col_bodies[lo:hi], strict=True)
                ]
            )
        parts.append(["</row>"] * (hi - lo))
        if not full:  # a row with no cells at all is not written by xlsxwriter either
            for k in range(hi - lo):
                if all(p[k] == "" for p in parts[1:-1]):
                    parts[0][k] = parts[-1][k] = ""
        fh.write("".join(map("".join, zip(*parts, strict=True))))
    ws.previous_row = last + 1
    return True
