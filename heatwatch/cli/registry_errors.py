"""Registry (台账) problems as a ledger clerk reads them: where (row, column, Excel cell), what
was found and what is accepted, in Chinese.

The loader (formats/registry_csv.py) words each problem in both languages
(formats/registry_problems.py); this module adds the place in the clerk's terms:
the line number, the header as typed and the Excel column letter.
"""

from __future__ import annotations

from formats.registry_csv import RowError
from formats.registry_headers import column_letter
from formats.registry_problems import column_label


def column_name(err: RowError) -> str:
    """The column as the clerk's sheet shows it: 改造类型（E 列）, or the label if not known."""
    name = err.header or column_label(err.column)
    return f"“{name}”（{column_letter(err.col)} 列）" if err.col is not None else f"“{name}”"


def in_chinese(err: RowError) -> str:
    """One line: 第 3 行，“改造类型”（E 列）：填的是“煤改柴”，不是可选的类别；可填：…"""
    why = err.zh or err.message
    if err.row == 0:
        return f"文件：{why}"
    if err.row == 1 and (
        err.message == "required column is missing" or err.message.startswith("unknown column")
    ):
        return f"表头：{why}"
    where = "表头" if err.row == 1 else f"第 {err.row} 行"
    return f"{where}，{column_name(err)}：{why}"


def in_english(err: RowError) -> str:
    where = "file" if err.row == 0 else f"line {err.row}"
    col = f", column {err.header or err.column!r}" if err.row else ""
    if err.col is not None:
        col += f" ({column_letter(err.col)})"
    return f"{where}{col}: {err.message}"
