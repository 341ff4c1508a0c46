"""Household ledgers (台账): CSV (UTF-8 with BOM, opens in Excel) and XLSX (streaming)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

Column = tuple[str, list[object]]  # header, values (None = empty)


def write_csv(path: Path, headers: Sequence[str], columns: Sequence[list[object]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        w.writerows(zip(*columns, strict=True))


def write_xlsx(
    path: Path,
    sheet: str,
    headers: Sequence[str],
    columns: Sequence[list[object]],
    widths: Sequence[float] | None = None,
) -> None:
    """xlsxwriter in constant_memory mode: rows are flushed as written (bounded memory)."""
    import xlsxwriter  # type: ignore[import-untyped]

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    ws = wb.add_worksheet(sheet[:31])
    bold = wb.add_format({"bold": True, "bg_color": "#F3E9E9", "border": 1, "text_wrap": True})
    for j in range(len(headers)):
        ws.set_column(j, j, widths[j] if widths else 14)
    ws.write_row(0, 0, headers, bold)
    ws.freeze_panes(1, 1)
    n = len(columns[0]) if columns else 0
    write_row = ws.write_row
    for i, row in enumerate(zip(*columns, strict=True), start=1):
        write_row(i, 0, row)
    if n:
        ws.autofilter(0, 0, n, len(headers) - 1)
    wb.close()
