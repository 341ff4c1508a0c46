"""A registry kept as an Excel workbook (.xlsx), read as the same rows as its CSV.

Clerks keep the ledger in Excel; asking them to "save as CSV UTF-8" first is one more step to
get wrong (GBK, a lost leading zero, the wrong sheet). The first worksheet is turned into CSV
text, one line per sheet row (so line numbers are Excel's row numbers, and column letters
match), and read by the one loader. Cells are written as a person sees them: dates as
2021-09-05, whole numbers without ".0", TRUE/FALSE as true/false.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

ZIP_MAGIC = b"PK\x03\x04"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    # A newline inside a cell would make one sheet row two CSV lines: the row numbers shift.
    return " ".join(str(value).split()) if isinstance(value, str) else str(value)


def xlsx_as_csv(data: bytes) -> tuple[str, str]:
    """(CSV text, sheet name) of the workbook's first worksheet. Raises ``ValueError`` if the
    bytes are not a readable workbook."""
    try:
        from openpyxl import load_workbook
    except ImportError as exc:  # pragma: no cover - openpyxl is a dependency
        raise ValueError("reading .xlsx needs openpyxl") from exc
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException …
        raise ValueError(f"not a readable Excel workbook ({type(exc).__name__})") from exc
    try:
        sheet = book.worksheets[0]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for row in sheet.iter_rows(values_only=True):
            writer.writerow([_cell(v) for v in row])
        return out.getvalue(), str(sheet.title)
    finally:
        book.close()
