"""Import the household registry (台账) from CSV, with errors a ledger clerk can act on."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from heatwatch.contract.registry import Household

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
    def __init__(self, path: Path, errors: list[RowError]) -> None:
        self.path = path
        self.errors = errors
        shown = "\n  ".join(str(e) for e in errors[:20])
        more = f"\n  … and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{path}: {len(errors)} problem(s) in the registry:\n  {shown}{more}")


def load_registry_csv(
    path: Path, *, skip_bad_rows: bool = False
) -> tuple[list[Household], list[RowError]]:
    """Read and validate every row. Raises ``RegistryError`` listing every bad row (which row,
    which column, why) unless ``skip_bad_rows``, in which case bad rows are returned apart."""
    errors: list[RowError] = []
    households: list[Household] = []
    seen: dict[str, int] = {}
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise RegistryError(path, [RowError(0, "-", f"cannot open: {exc.strerror}")]) from exc
    with handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise RegistryError(
                path, [RowError(1, c, "required column is missing") for c in missing]
            )
        unknown = [c for c in header if c not in REQUIRED_COLUMNS and c not in OPTIONAL_COLUMNS]
        if unknown:
            raise RegistryError(path, [RowError(1, c, "unknown column") for c in unknown])
        for row in reader:
            line = reader.line_num
            values = {k: v.strip() for k, v in row.items() if k is not None and v is not None}
            data = {k: v for k, v in values.items() if v != ""}
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
    if errors and not skip_bad_rows:
        raise RegistryError(path, errors)
    return households, errors
