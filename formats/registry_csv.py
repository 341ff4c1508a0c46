"""Import the household registry (台账) from CSV, with errors a ledger clerk can act on."""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from contract.glossary import Term
from contract.registry import Household, RetrofitType, supply_link_problems
from formats.registry_headers import (
    HeaderCell,
    column_letter,
    normalize_header,
    read_header,
)
from formats.registry_problems import (
    TERM_COLUMNS,
    column_label,
    describe,
    supply_link_zh,
)
from formats.registry_xlsx import ZIP_MAGIC, xlsx_as_csv

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = (
    "household_id",
    "county",
    "village",
    "retrofit_type",
    "heating_device",
    "feeder_id",
    "gas_station_id",
    "priority_group",
    "rated_kw",
)
# Contract order (the model's field order); the rest are optional columns.
REGISTRY_COLUMNS = tuple(Household.model_fields)
OPTIONAL_COLUMNS = tuple(c for c in REGISTRY_COLUMNS if c not in REQUIRED_COLUMNS)


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based line number in the file, the header being line 1 (0: the whole file)
    column: str  # the contract's column code ("-" for the whole file)
    message: str  # English
    zh: str = ""  # the same in Chinese: what was found, what is accepted (registry_problems)
    header: str = ""  # the column's header as the clerk typed it
    col: int | None = None  # 0-based position of the column (Excel letter: column_letter)

    def __str__(self) -> str:
        return f"line {self.row}, column {self.column!r}: {self.message}"


class RegistryError(Exception):
    def __init__(self, path: Path, errors: list[RowError], encoding: str | None = None) -> None:
        self.path = path
        self.errors = errors
        self.encoding = encoding
        shown = "\n  ".join(str(e) for e in errors[:20])
        more = f"\n  … and {len(errors) - 20} more" if len(errors) > 20 else ""
        read_as = f" (read as {encoding})" if encoding else ""
        super().__init__(
            f"{path}{read_as}: {len(errors)} problem(s) in the registry:\n  {shown}{more}"
        )


@dataclass(frozen=True)
class RegistryFile:
    """A loaded registry and how its file was made (what the operator is told)."""

    households: list[Household]
    errors: list[RowError]
    encoding: str  # "UTF-8", "UTF-8 with BOM", "GB18030", "UTF-16"
    line_endings: str  # "LF", "CRLF", "CR" or "none"


def decode_registry_bytes(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 with or without BOM, UTF-16 with BOM, else GB18030 (a superset
    of GBK/GB2312: what Excel on Chinese Windows writes for "CSV"). Raises ``ValueError`` with
    the first offending byte if it is none of them."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "UTF-8 with BOM"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "UTF-16"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("gb18030"), "GB18030"
        except UnicodeDecodeError:
            bad = data[utf8_error.start : utf8_error.start + 4]
            raise ValueError(
                f"neither UTF-8 nor GB18030/GBK: bytes {bad!r} at offset {utf8_error.start}; "
                "save the file as CSV UTF-8"
            ) from None


def _line_endings(text: str) -> str:
    if "\r\n" in text:
        return "CRLF"
    if "\n" in text:
        return "LF"
    return "CR" if "\r" in text else "none"


def load_registry_csv(
    path: Path, *, skip_bad_rows: bool = False
) -> tuple[list[Household], list[RowError]]:
    """Read and validate every row. Raises ``RegistryError`` listing every bad row (which row,
    which column, why) unless ``skip_bad_rows``, in which case bad rows are returned apart."""
    loaded = load_registry(path, skip_bad_rows=skip_bad_rows)
    return loaded.households, loaded.errors


def load_registry(path: Path, *, skip_bad_rows: bool = False) -> RegistryFile:
    """``load_registry_csv`` that also says which encoding and line endings the file had."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RegistryError(
            path,
            [RowError(0, "-", f"cannot open: {exc.strerror}", f"打不开：{exc.strerror}")],
        ) from exc
    try:
        if data.startswith(ZIP_MAGIC):  # an Excel workbook, read as its first sheet
            text, sheet = xlsx_as_csv(data)
            encoding = f"Excel (sheet {sheet!r})"
        else:
            text, encoding = decode_registry_bytes(data)
    except ValueError as exc:
        if data.startswith(ZIP_MAGIC):
            raise RegistryError(
                path,
                [
                    RowError(
                        0,
                        "-",
                        str(exc),
                        "是 zip 压缩包但不是可读的 Excel 工作簿（.xlsx）：请在 Excel 里打开后另存为"
                        " .xlsx 或 CSV",
                    )
                ],
            ) from exc
        raise RegistryError(
            path,
            [
                RowError(
                    0,
                    "-",
                    str(exc),
                    "既不是 UTF-8 也不是 GBK 编码：请在 Excel 里“另存为”→“CSV UTF-8（逗号分隔）”",
                )
            ],
        ) from exc
    log.info("registry %s read as %s", path, encoding)
    if not text.strip(" \t\r\n,;"):
        # Nothing but separators: Excel's "save as CSV" of an empty sheet, or a failed export.
        raise RegistryError(
            path,
            [RowError(0, "-", "the file is empty", "文件是空的，没有表头也没有用户行")],
            encoding,
        )
    # Excel's "Unicode text" (UTF-16) is tab-separated; its "CSV" is comma-separated.
    first = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    cells = read_header(list(reader.fieldnames or []), REGISTRY_COLUMNS)
    header_errors = _header_errors(cells)
    if header_errors:
        raise RegistryError(path, header_errors, encoding)
    # Blank header cells (Excel's trailing ",,,") name no column: their cells are dropped.
    reader.fieldnames = [c.code or f"\0blank{c.index}" for c in cells]
    households, errors = _rows(reader, {c.code: c for c in cells if c.code})
    if errors and not skip_bad_rows:
        raise RegistryError(path, errors, encoding)
    return RegistryFile(households, errors, encoding, _line_endings(text))


# Personal data has no place in the registry (the contract keeps only household_id).
_PERSONAL = re.compile(r"姓名|户主|电话|手机|身份证|住址|地址|联系人|name|phone|address", re.I)


def _header_errors(cells: list[HeaderCell]) -> list[RowError]:
    """Missing, unknown and doubled columns, each named as the clerk typed it."""
    errors: list[RowError] = []
    found: dict[str, HeaderCell] = {}
    unknown = [cell for cell in cells if cell.code is None and cell.text]
    if unknown:
        names = "、".join(f"“{c.text}”（{column_letter(c.index)} 列）" for c in unknown[:8])
        more = f" 等 {len(unknown)} 列" if len(unknown) > 8 else ""
        errors.append(
            RowError(
                1,
                unknown[0].text,
                "unknown column"
                + ("s: " if len(unknown) > 1 else ": ")
                + ", ".join(repr(c.text) for c in unknown),
                f"不认识的列名：{names}{more}；可用的列名见模板表头（"
                + "、".join(column_label(c) for c in REQUIRED_COLUMNS)
                + " 等），也可用英文代码"
                + (
                    "；登记册不收姓名、电话、身份证号、住址等个人信息，请删去这些列"
                    if any(_PERSONAL.search(c.text) for c in unknown)
                    else ""
                ),
                unknown[0].text,
                unknown[0].index,
            )
        )
    for cell in cells:
        if cell.code is None:
            continue
        if cell.code in found:
            first = found[cell.code]
            errors.append(
                RowError(
                    1,
                    cell.code,
                    f"the same column twice: {first.text!r} and {cell.text!r}",
                    f"“{first.text}”（{column_letter(first.index)} 列）和“{cell.text}”"
                    f"（{column_letter(cell.index)} 列）都表示{column_label(cell.code)}，"
                    "请删去一列",
                    cell.text,
                    cell.index,
                )
            )
            continue
        found[cell.code] = cell
    for code in REQUIRED_COLUMNS:
        if code not in found:
            errors.append(
                RowError(
                    1,
                    code,
                    "required column is missing",
                    f"表头缺少“{column_label(code)}”这一列（也可写作 {code}）",
                )
            )
    return errors


def _rows(
    reader: csv.DictReader[str], cells: dict[str, HeaderCell]
) -> tuple[list[Household], list[RowError]]:
    errors: list[RowError] = []
    households: list[Household] = []
    seen: dict[str, int] = {}

    def error(line: int, column: str, en: str, zh: str) -> RowError:
        cell = cells.get(column)
        return RowError(
            line, column, en, zh, cell.text if cell else "", cell.index if cell else None
        )

    for row in reader:
        line = reader.line_num
        values = {
            k: v.strip()
            for k, v in row.items()
            if k is not None and v is not None and not k.startswith("\0")
        }
        if not any(values.values()) and not any(
            isinstance(v, list) and any(x.strip() for x in v) for v in row.values()
        ):
            continue  # an empty row (Excel leaves ",,,," after the data): nothing to read
        data = excel_forms({k: v for k, v in values.items() if v != ""})
        link_errors = _supply_link_errors(line, data)
        if link_errors:
            errors.extend(
                error(e.row, e.column, e.message, supply_link_zh(e.message)) for e in link_errors
            )
            continue
        try:
            hh = Household.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                column = str(err["loc"][0]) if err["loc"] else "-"
                raw = values.get(column) or None
                zh, en = describe(column, raw, dict(err))
                errors.append(error(line, column, f"{en} ({err['msg']})", zh))
            continue
        if hh.household_id in seen:
            first = seen[hh.household_id]
            errors.append(
                error(
                    line,
                    "household_id",
                    f"duplicate of line {first}",
                    f"“{hh.household_id}”与第 {first} 行重复（每户只能登记一次）",
                )
            )
            continue
        seen[hh.household_id] = line
        households.append(hh)
    return households, errors


# --- what a county office types in Excel --------------------------------------------------
# Ledgers are kept in Excel by people, not programs: 是/否 for yes/no, 2021/9/5 for dates, the
# glossary's Chinese terms instead of codes, and an empty priority cell for an ordinary
# household. Each is read as exactly one contract value; anything else is still an error.
_YES = frozenset({"是", "有", "y", "yes", "true", "1", "√"})
_NO = frozenset({"否", "无", "n", "no", "false", "0", "×"})
_DATE = re.compile(r"^(\d{4})\s*[/.年-]\s*(\d{1,2})\s*[/.月-]\s*(\d{1,2})\s*日?$")
_TERMS = TERM_COLUMNS


def excel_forms(data: dict[str, str]) -> dict[str, str]:
    """The row with Excel's everyday forms read as the contract's values (see above)."""
    out = dict(data)
    flag = out.get("old_heating_present")
    if flag is not None:
        low = flag.lower()
        out["old_heating_present"] = "true" if low in _YES else "false" if low in _NO else flag
    when = out.get("retrofit_completed")
    if when is not None and (m := _DATE.match(when)):
        out["retrofit_completed"] = f"{int(m[1]):04d}-{int(m[2]):02d}-{int(m[3]):02d}"
    for column, terms in _TERMS.items():
        value = out.get(column)
        if value is not None and value not in terms:
            out[column] = _code_for(terms, value)
    if "priority_group" not in out and "household_id" in out:
        out["priority_group"] = "none"  # an empty cell: not in a priority group
    return out


def _code_for(terms: dict[str, Term], value: str) -> str:
    folded = normalize_header(value)  # full-width, case and spaces do not change a term
    if not folded:
        return value
    for code, term in terms.items():
        if folded in (normalize_header(code), normalize_header(term.zh), normalize_header(term.en)):
            return code
    # A term that names two things (集中供热、工业余热) is also written as either one, when
    # that part names no other term.
    parts = {
        normalize_header(part): code
        for code, term in terms.items()
        for part in term.zh.split("、")
        if "、" in term.zh
    }
    return parts.get(folded, value)  # not a known term: the model names it as an error


def _supply_link_errors(line: int, data: dict[str, str]) -> list[RowError]:
    """The contract's supply-link rules, reported on the column that breaks them."""
    try:
        retrofit = RetrofitType(data.get("retrofit_type", ""))
    except ValueError:
        return []  # the model reports the bad retrofit_type itself
    return [
        RowError(line, column, message)
        for column, message in supply_link_problems(
            retrofit, data.get("feeder_id"), data.get("gas_station_id")
        )
    ]
