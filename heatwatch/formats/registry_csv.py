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

from heatwatch.contract.glossary import (
    HEAT_FUELS,
    HEATING_DEVICES,
    PRIORITY_GROUPS,
    RETROFIT_TYPES,
    Term,
)
from heatwatch.contract.registry import Household, RetrofitType, supply_link_problems

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
    row: int  # 1-based line number in the file, the header being line 1
    column: str
    message: str

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
        raise RegistryError(path, [RowError(0, "-", f"cannot open: {exc.strerror}")]) from exc
    try:
        text, encoding = decode_registry_bytes(data)
    except ValueError as exc:
        raise RegistryError(path, [RowError(0, "-", str(exc))]) from exc
    log.info("registry %s read as %s", path, encoding)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [c.strip() for c in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise RegistryError(
            path, [RowError(1, c, "required column is missing") for c in missing], encoding
        )
    unknown = [c for c in header if c not in REQUIRED_COLUMNS and c not in OPTIONAL_COLUMNS]
    if unknown:
        raise RegistryError(path, [RowError(1, c, "unknown column") for c in unknown], encoding)
    households, errors = _rows(reader)
    if errors and not skip_bad_rows:
        raise RegistryError(path, errors, encoding)
    return RegistryFile(households, errors, encoding, _line_endings(text))


def _rows(reader: csv.DictReader[str]) -> tuple[list[Household], list[RowError]]:
    errors: list[RowError] = []
    households: list[Household] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        values = {k: v.strip() for k, v in row.items() if k is not None and v is not None}
        data = excel_forms({k: v for k, v in values.items() if v != ""})
        link_errors = _supply_link_errors(line, data)
        if link_errors:
            errors.extend(link_errors)
            continue
        try:
            hh = Household.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                column = str(err["loc"][0]) if err["loc"] else "-"
                errors.append(RowError(line, column, err["msg"]))
            continue
        if hh.household_id in seen:
            errors.append(
                RowError(line, "household_id", f"duplicate of line {seen[hh.household_id]}")
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
_TERMS = {
    "retrofit_type": RETROFIT_TYPES,
    "heating_device": HEATING_DEVICES,
    "priority_group": PRIORITY_GROUPS,
    "heat_station_fuel": HEAT_FUELS,  # 燃煤 / 燃气 / 生物质 (issue 20)
}


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
    folded = value.casefold()
    for code, term in terms.items():
        if (term.zh and value == term.zh) or (term.en and folded == term.en.casefold()):
            return code
    return value  # not a known term: the model names it as an error


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
