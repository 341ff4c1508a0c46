"""Loading rollups, the registry and incidents into the columnar core inputs.

Rollup sources implement :class:`RollupSource`: Parquet and JSONL (a replay directory), the
worker's results dataset (the production store, ``formats/worker_dataset.py``) and
InfluxDB (``household_day`` measurement) give the same columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import ValidationError

from contract.incidents import Incident
from contract.registry import Household
from contract.rollups import HouseholdDay
from formats import worker_dataset
from formats.registry_csv import RegistryError, load_registry_csv
from formats.rollup_parquet import ROLLUP_SCHEMA
from heatwatch.report.stability.columns import NO_DATE, HouseholdTable, RollupColumns, day_number
from streams.settings import InfluxSettings
from streams.sinks.influx_read import InfluxReader, InfluxReadError


class InputError(Exception):
    """An input that cannot be used; the message says what to fix."""


ROLLUP_COLUMNS = [
    "household_id",
    "day",
    "county",
    "village",
    "retrofit_type",
    "priority_group",
    "heating_available_minutes",
    "outage_minutes",
    "shortfall_minutes",
    "no_data_minutes",
    "interruptions",
    "county_min_temp_c",
]

# Read when present: rollups written before the heat networks (issue 12) have no evidence.
OPTIONAL_COLUMNS = ["evidence"]
# Read when present, for use and cost (issue 24): the verdict's use check and the season's cost.
USE_COLUMNS = [
    "energy_kwh",
    "valley_kwh",
    "gas_m3",
    "county_mean_temp_c",
    "heating_device",
    "heat_kwh",  # a network home's heat meter (absent in older rollups)
    "heater_kwh",  # a storage heater's part of the meter (absent in older rollups)
]
USE_DICTIONARY_COLUMNS = ["heating_device"]

# Low-cardinality string columns, read as Arrow dictionary arrays. (household_id is not: the
# Parquet writer falls back from dictionary to plain encoding for 191 k distinct ids per row
# group, so a dictionary read would re-hash every value; see _household_codes instead.)
DICTIONARY_COLUMNS = ["county", "village", "retrofit_type", "priority_group"]


class RollupSource(Protocol):
    """Anything that yields HouseholdDay rows for a day range as an Arrow table."""

    def read(self, first: date, last: date) -> pa.Table:
        """Rows with ``first <= day <= last`` and (at least) the ``ROLLUP_COLUMNS``."""
        ...

    def day_range(self) -> tuple[date, date] | None:
        """The first and last day with any rollup (None: no rollups at all)."""
        ...


@dataclass(frozen=True)
class ParquetRollups:
    path: Path

    def read(self, first: date, last: date) -> pa.Table:
        _require(self.path, "daily rollups (Parquet)")
        try:
            schema = pq.read_schema(self.path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"{self.path}: not a readable Parquet file ({exc})") from None
        missing = [c for c in ROLLUP_COLUMNS if c not in schema.names]
        if missing:
            raise InputError(f"{self.path}: missing rollup columns: {', '.join(missing)}")
        # The repeated attribute strings stay dictionary-encoded (codes + a small dictionary
        # per row group) instead of becoming 4 × 23 M Python-free but still dense strings.
        optional = [c for c in OPTIONAL_COLUMNS if c in schema.names]
        use = [c for c in USE_COLUMNS if c in schema.names]
        return pq.read_table(
            self.path,
            columns=ROLLUP_COLUMNS + optional + use,
            filters=[("day", ">=", first), ("day", "<=", last)],
            read_dictionary=DICTIONARY_COLUMNS
            + optional
            + [c for c in USE_DICTIONARY_COLUMNS if c in use],
        )

    def day_range(self) -> tuple[date, date] | None:
        _require(self.path, "daily rollups (Parquet)")
        try:
            days = pq.read_table(self.path, columns=["day"]).column("day")
        except (pa.ArrowInvalid, OSError, KeyError) as exc:
            raise InputError(f"{self.path}: not a readable rollups file ({exc})") from None
        return _min_max_day(days)


@dataclass(frozen=True)
class JsonlRollups:
    """One HouseholdDay JSON object per line (small runs and tests)."""

    path: Path

    def read(self, first: date, last: date) -> pa.Table:
        _require(self.path, "daily rollups (JSONL)")
        rows = []
        with self.path.open("rb") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    hd = HouseholdDay.model_validate(orjson.loads(line))
                except (orjson.JSONDecodeError, ValidationError) as exc:
                    raise InputError(f"{self.path}:{n}: not a HouseholdDay: {exc}") from None
                if first <= hd.day <= last:
                    rows.append(hd.model_dump(mode="python"))
        return pa.Table.from_pylist(rows, schema=ROLLUP_SCHEMA)

    def day_range(self) -> tuple[date, date] | None:
        return _min_max_day(self.read(date.min, date.max).column("day"))


def _min_max_day(days: pa.ChunkedArray) -> tuple[date, date] | None:
    if len(days) == days.null_count:
        return None
    mm = pc.min_max(days)
    return mm["min"].as_py(), mm["max"].as_py()


def rollup_source(path: Path) -> RollupSource:
    if path.suffix in (".jsonl", ".json", ".ndjson"):
        return JsonlRollups(path)
    return ParquetRollups(path)


def write_rollups_jsonl(days: list[HouseholdDay], path: Path) -> None:
    with path.open("wb") as fh:
        for d in days:
            fh.write(orjson.dumps(d.model_dump(mode="json")) + b"\n")


def _require(path: Path, what: str) -> None:
    if not path.exists():
        raise InputError(f"{what} not found: {path}")
    if path.is_dir():
        raise InputError(f"{what}: expected a file, got a directory: {path}")


# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Registry:
    """The registry in columns (one entry per household), built from the one loader's rows."""

    ids: list[str]
    county: list[str]
    village: list[str]
    retrofit: list[str]
    priority: list[str]
    lat: np.ndarray
    lon: np.ndarray
    old_heating_present: np.ndarray  # int8: -1 unknown, 0, 1
    retrofit_completed: np.ndarray  # int32 day number or NO_DATE
    feeder: list[str] = field(default_factory=list)  # "" when none
    gas_station: list[str] = field(default_factory=list)
    heat_station: list[str] = field(default_factory=list)  # "" when none
    # Heated area, m² (NaN unknown; empty: not recorded at all) — cost per m² (issue 24).
    area_m2: np.ndarray = field(default_factory=lambda: np.empty(0, np.float64))

    def subset(self, keep: list[int]) -> Registry:
        return Registry(
            ids=[self.ids[i] for i in keep],
            county=[self.county[i] for i in keep],
            village=[self.village[i] for i in keep],
            retrofit=[self.retrofit[i] for i in keep],
            priority=[self.priority[i] for i in keep],
            lat=self.lat[keep],
            lon=self.lon[keep],
            old_heating_present=self.old_heating_present[keep],
            retrofit_completed=self.retrofit_completed[keep],
            feeder=[self.feeder[i] for i in keep] if self.feeder else [],
            gas_station=[self.gas_station[i] for i in keep] if self.gas_station else [],
            heat_station=[self.heat_station[i] for i in keep] if self.heat_station else [],
            area_m2=self.area_m2[keep] if len(self.area_m2) else self.area_m2,
        )


def registry_from_households(households: Sequence[Household]) -> Registry:
    n = len(households)
    lat = np.full(n, np.nan)
    lon = np.full(n, np.nan)
    old = np.full(n, -1, np.int8)
    comp = np.full(n, NO_DATE, np.int32)
    for i, h in enumerate(households):
        if h.lat is not None:
            lat[i] = h.lat
        if h.lon is not None:
            lon[i] = h.lon
        if h.old_heating_present is not None:
            old[i] = int(h.old_heating_present)
        if h.retrofit_completed is not None:
            comp[i] = day_number(h.retrofit_completed)
    return Registry(
        ids=[h.household_id for h in households],
        county=[h.county for h in households],
        village=[h.village for h in households],
        retrofit=[h.retrofit_type.value for h in households],
        priority=[h.priority_group.value for h in households],
        lat=lat,
        lon=lon,
        old_heating_present=old,
        retrofit_completed=comp,
        feeder=[h.feeder_id or "" for h in households],
        gas_station=[h.gas_station_id or "" for h in households],
        heat_station=[h.heat_station_id or "" for h in households],
        area_m2=np.array(
            [np.nan if h.area_m2 is None else h.area_m2 for h in households], np.float64
        ),
    )


def load_registry(path: Path) -> Registry:
    """The registry through the one loader (``formats.registry_csv``)."""
    _require(path, "registry CSV")
    try:
        households, _ = load_registry_csv(path)
    except RegistryError as exc:
        raise InputError(str(exc)) from None
    return registry_from_households(households)


def _codes(values: list[str]) -> tuple[np.ndarray, list[str]]:
    labels, inv = np.unique(np.asarray(values, dtype=object).astype(str), return_inverse=True)
    return inv.astype(np.int32), [str(x) for x in labels]


def _household_codes(col: pa.ChunkedArray) -> tuple[list[str], np.ndarray]:
    """Distinct household ids (in order of first appearance) and each row's index into them.

    Same result as ``pc.dictionary_encode`` over the whole column, but chunk by chunk: daily
    rollups repeat the same ids in the same order every day, so a chunk equal to an earlier
    one of the same length (a cheap memory compare) reuses that chunk's codes instead of
    hashing 191 k strings again; other chunks are encoded and mapped onto the ids so far.
    """
    if col.null_count:
        raise InputError(f"daily rollups: household_id is empty in {col.null_count} rows")
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    out = np.empty(len(col), np.int32)
    ids = pa.array([], col.type)
    seen: dict[int, tuple[pa.Array, np.ndarray]] = {}  # chunk length → last chunk, codes
    pos = 0
    for ch in col.chunks:
        n = len(ch)
        if not n:
            continue
        prev = seen.get(n)
        if prev is not None and ch.equals(prev[0]):
            codes = prev[1]
        else:
            enc = pc.dictionary_encode(ch)
            local = enc.dictionary
            idx = enc.indices.to_numpy(zero_copy_only=False)
            if local.equals(ids[: len(local)]) and len(local) <= len(ids):
                codes = idx.astype(np.int32)  # same ids in the same order: no remapping
            else:
                where = pc.index_in(local, value_set=ids)
                new = local.filter(pc.is_null(where))
                if len(new):
                    ids = pa.concat_arrays([ids, new])
                    where = pc.index_in(local, value_set=ids)
                codes = where.to_numpy(zero_copy_only=False).astype(np.int32)[idx]
            seen[n] = (ch, codes)
        out[pos : pos + n] = codes
        pos += n
    return [str(x) for x in ids.to_pylist()], out


def build_inputs(
    rollups: pa.Table, registry: Registry | None
) -> tuple[RollupColumns, HouseholdTable]:
    """Join rollup rows to the household universe (registry ∪ households seen in rollups)."""
    if rollups.num_rows:
        dict_ids, row_dict_code = _household_codes(rollups.column("household_id"))
    else:
        dict_ids, row_dict_code = [], np.empty(0, np.int32)
    reg_ids = registry.ids if registry else []
    pos = {h: i for i, h in enumerate(reg_ids)}
    if len(pos) != len(reg_ids):
        raise InputError("registry has duplicate household_id values")
    extra = [h for h in dict_ids if h not in pos]
    for j, h in enumerate(extra):
        pos[h] = len(reg_ids) + j
    dict_to_hh = np.array([pos[h] for h in dict_ids], np.int32)
    household = dict_to_hh[row_dict_code] if len(dict_ids) else row_dict_code
    attrs = _attributes(rollups, registry, row_dict_code, dict_to_hh, len(dict_ids), bool(extra))
    table = _household_table([*reg_ids, *extra], attrs, registry)
    return _rollup_columns(rollups, household), table


_ATTRIBUTES = ("county", "village", "retrofit_type", "priority_group")


def _attributes(
    rollups: pa.Table,
    registry: Registry | None,
    row_dict_code: np.ndarray,
    dict_to_hh: np.ndarray,
    n_dict: int,
    has_extra: bool,
) -> dict[str, list[str]]:
    """Registry attributes, then those of households known only from rollups (first row)."""
    attrs = {
        "county": list(registry.county) if registry else [],
        "village": list(registry.village) if registry else [],
        "retrofit_type": list(registry.retrofit) if registry else [],
        "priority_group": list(registry.priority) if registry else [],
    }
    if has_extra:
        first = np.full(n_dict, -1, np.int64)
        first[row_dict_code[::-1]] = np.arange(len(row_dict_code) - 1, -1, -1)
        n_reg = len(registry.ids) if registry else 0
        take = pa.array(first[np.flatnonzero(dict_to_hh >= n_reg)])  # in `extra` order
        for name in _ATTRIBUTES:
            attrs[name].extend(str(x) for x in rollups.column(name).take(take).to_pylist())
    return attrs


def _household_table(
    ids: list[str], attrs: dict[str, list[str]], registry: Registry | None
) -> HouseholdTable:
    n = len(ids)
    county, village = attrs["county"], attrs["village"]
    c_codes, c_labels = _codes(county)
    v_codes, v_labels = _codes([f"{c}\x1f{v}" for c, v in zip(county, village, strict=True)])
    r_codes, r_labels = _codes(attrs["retrofit_type"])
    p_codes, p_labels = _codes(attrs["priority_group"])
    empty = np.empty(0, np.int32)

    def pad(arr: np.ndarray | None, fill: object, dtype: type) -> np.ndarray:
        out: np.ndarray = np.full(n, fill, dtype=dtype)
        if arr is not None:
            out[: len(arr)] = arr
        return out

    return HouseholdTable(
        ids=ids,
        county=c_codes if n else empty,
        counties=c_labels,
        village=v_codes if n else empty,
        villages=v_labels,
        retrofit=r_codes if n else empty,
        retrofits=r_labels,
        priority=p_codes if n else empty,
        priorities=p_labels,
        old_heating_present=pad(registry.old_heating_present if registry else None, -1, np.int8),
        retrofit_completed=pad(
            registry.retrofit_completed if registry else None, NO_DATE, np.int32
        ),
        lat=pad(registry.lat if registry else None, np.nan, np.float64),
        lon=pad(registry.lon if registry else None, np.nan, np.float64),
        area_m2=pad(
            registry.area_m2 if registry and len(registry.area_m2) else None, np.nan, np.float64
        ),
        **_stations(registry, n),
    )


def _stations(registry: Registry | None, n: int) -> dict[str, Any]:
    """Each household's heat station as a code (-1: none, or not in the registry)."""
    if registry is None or not registry.heat_station:
        return {}
    names = sorted({s for s in registry.heat_station if s})
    pos = {s: i for i, s in enumerate(names)}
    code = np.full(n, -1, np.int32)
    code[: len(registry.heat_station)] = [pos.get(s, -1) for s in registry.heat_station]
    return {"station": code, "stations": names}


def _rollup_columns(rollups: pa.Table, household: np.ndarray) -> RollupColumns:
    def num(name: str, dtype: type) -> np.ndarray:
        col = rollups.column(name).combine_chunks()
        if col.null_count:
            col = pc.fill_null(col, float("nan") if dtype is np.float32 else 0)
        out: np.ndarray = col.to_numpy(zero_copy_only=False).astype(dtype, copy=False)
        return out

    day = rollups.column("day").combine_chunks().cast(pa.int32())
    evidence, evidences = _evidence_codes(rollups)
    return RollupColumns(
        household=household.astype(np.int32, copy=False),
        day=day.to_numpy(zero_copy_only=False).astype(np.int32, copy=False),
        available=num("heating_available_minutes", np.float32),
        outage=num("outage_minutes", np.float32),
        shortfall=num("shortfall_minutes", np.float32),
        no_data=num("no_data_minutes", np.float32),
        interruptions=num("interruptions", np.int32),
        county_min_temp=num("county_min_temp_c", np.float32),
        evidence=evidence,
        evidences=evidences,
        **_use_columns(rollups, num),
    )


def _use_columns(rollups: pa.Table, num: Any) -> dict[str, Any]:
    """The use-and-cost columns when the rollups have them (older files may not)."""
    names = rollups.column_names
    out: dict[str, Any] = {}
    for key, col in (("energy", "energy_kwh"), ("valley", "valley_kwh"), ("gas", "gas_m3"),
                     ("county_mean_temp", "county_mean_temp_c"), ("heat", "heat_kwh"),
                     ("heater", "heater_kwh")):  # fmt: skip
        if col in names:
            out[key] = num(col, np.float32)
    if "heating_device" in names and rollups.num_rows:
        col = rollups.column("heating_device")
        if not pa.types.is_dictionary(col.type):
            col = pc.dictionary_encode(col)
        col = col.unify_dictionaries()
        out["devices"] = [str(x) for x in col.chunk(0).dictionary.to_pylist()]
        out["device"] = np.concatenate(
            [pc.fill_null(ch.indices, -1).cast(pa.int8()).to_numpy(zero_copy_only=False)
             for ch in col.chunks]
        ).astype(np.int8, copy=False)  # fmt: skip
    return out


def _evidence_codes(rollups: pa.Table) -> tuple[np.ndarray, list[str]]:
    """HouseholdDay.evidence as int8 codes into its distinct values (-1: not recorded)."""
    if "evidence" not in rollups.column_names or not rollups.num_rows:
        return np.empty(0, np.int8), []
    col = rollups.column("evidence")
    if not pa.types.is_dictionary(col.type):
        col = pc.dictionary_encode(col)
    col = col.unify_dictionaries()
    labels = [str(x) for x in col.chunk(0).dictionary.to_pylist()] if col.num_chunks else []
    if len(labels) > 127:
        raise InputError(f"daily rollups: {len(labels)} distinct evidence values (at most 127)")
    # int8 per chunk: the whole city's season is 23 M rows (int32 codes would be 93 MB)
    codes = np.concatenate(
        [
            pc.fill_null(ch.indices, -1).cast(pa.int8()).to_numpy(zero_copy_only=False)
            for ch in col.chunks
        ]
    )
    return codes.astype(np.int8, copy=False), labels


def village_name(label: str) -> str:
    """Village labels are ``county\\x1fvillage`` (village names repeat across counties)."""
    return label.split("\x1f", 1)[-1]


def load_incidents(path: Path) -> list[Incident]:
    _require(path, "incidents JSONL")
    out = []
    with path.open("rb") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                out.append(Incident.model_validate(orjson.loads(line)))
            except (orjson.JSONDecodeError, ValidationError) as exc:
                raise InputError(f"{path}:{n}: not an Incident: {exc}") from None
    return out


def run_rollups(run: Path) -> Path | None:
    """The embedded runner's rollups file in a run directory, if any."""
    for cand in ("rollups/household_days.parquet", "rollups/household_days.jsonl"):
        if (run / cand).exists():
            return run / cand
    return None


@dataclass(frozen=True)
class RunInputs:
    """What the reports read, from a replay directory or from the production store."""

    rollups: RollupSource | None
    incidents: list[Incident]
    registry: Registry | None


def run_dir_inputs(run: Path, registry: Path | None = None) -> RunInputs:
    if not run.is_dir():
        raise InputError(f"run directory not found: {run}")
    roll = run_rollups(run)
    reg_path = registry or run / "registry.csv"
    return RunInputs(
        rollups=rollup_source(roll) if roll is not None else None,
        incidents=load_incidents(run / "incidents.jsonl"),
        registry=load_registry(reg_path) if (registry or reg_path.exists()) else None,
    )


# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InfluxRollups:
    """``household_day`` from the production store, in the same columns and types as the
    Parquet the embedded runner writes (see ``streams.sinks.influx_read`` for the choice)."""

    reader: InfluxReader

    def read(self, first: date, last: date) -> pa.Table:
        span = self.day_range()
        if span is None:
            return ROLLUP_SCHEMA.empty_table().select(ROLLUP_COLUMNS)
        first, last = max(first, span[0]), min(last, span[1])
        if first > last:
            return ROLLUP_SCHEMA.empty_table().select(ROLLUP_COLUMNS)
        try:
            days = [_as_rollup_columns(t) for t in self.reader.household_days(first, last)]
        except InfluxReadError as exc:
            raise InputError(str(exc)) from None
        return pa.concat_tables(days)

    def day_range(self) -> tuple[date, date] | None:
        try:
            return self.reader.household_day_range()
        except InfluxReadError as exc:
            raise InputError(str(exc)) from None


def _as_rollup_columns(tbl: pa.Table) -> pa.Table:
    names = ROLLUP_COLUMNS + [c for c in OPTIONAL_COLUMNS + USE_COLUMNS if c in tbl.column_names]
    schema = pa.schema([ROLLUP_SCHEMA.field(c) for c in names])
    return pa.table({c: pc.cast(tbl.column(c), schema.field(c).type) for c in names},
                    schema=schema)  # fmt: skip


def influx_inputs(
    settings: InfluxSettings,
    registry: Path | None,
    *,
    incidents: bool = True,
    county: str | None = None,
) -> RunInputs:
    """What the reports read, from the production store (InfluxDB) plus a registry file;
    ``county``: read only that county's rollups (filtered in the store)."""
    reader = InfluxReader(settings, county=county)
    try:
        found = reader.incidents() if incidents else []
    except InfluxReadError as exc:
        raise InputError(str(exc)) from None
    return RunInputs(
        rollups=InfluxRollups(reader),
        incidents=found,
        registry=load_registry(registry) if registry is not None else None,
    )


# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DatasetRollups:
    """``household_day`` from the worker's results dataset: the newest revision of each
    household and day, in the Parquet reader's columns and types."""

    roots: tuple[Path, ...]

    def read(self, first: date, last: date) -> pa.Table:
        try:
            return worker_dataset.read_range(
                self.roots, worker_dataset.ROLLUPS, first, last,
                ROLLUP_COLUMNS + OPTIONAL_COLUMNS + USE_COLUMNS,
                DICTIONARY_COLUMNS + OPTIONAL_COLUMNS + USE_DICTIONARY_COLUMNS,
            )  # fmt: skip
        except worker_dataset.DatasetError as exc:
            raise InputError(str(exc)) from None

    def day_range(self) -> tuple[date, date] | None:
        try:
            found = worker_dataset.days(self.roots, worker_dataset.ROLLUPS)
        except worker_dataset.DatasetError as exc:
            raise InputError(str(exc)) from None
        return (found[0], found[-1]) if found else None


def dataset_inputs(
    roots: Sequence[Path], registry: Path | None, *, incidents: bool = True
) -> RunInputs:
    """What the reports read, from the worker's results dataset (one directory, or several
    workers' own) plus a registry file."""
    for root in roots:
        if not root.is_dir():
            raise InputError(f"results dataset not found: {root}")
        if not any((root / t).is_dir() for t in (worker_dataset.ROLLUPS, worker_dataset.INCIDENTS)):
            raise InputError(
                f"{root}: not a results dataset (no {worker_dataset.ROLLUPS}/ or "
                f"{worker_dataset.INCIDENTS}/ in it; the worker writes one under "
                "HEATWATCH_WORKER_DATASET_DIR, default <data dir>/dataset)"
            )
    return RunInputs(
        rollups=DatasetRollups(tuple(roots)),
        incidents=_dataset_incidents(roots) if incidents else [],
        registry=load_registry(registry) if registry is not None else None,
    )


def _dataset_incidents(roots: Sequence[Path]) -> list[Incident]:
    try:
        found = worker_dataset.read_incidents(roots)
    except worker_dataset.DatasetError as exc:
        raise InputError(str(exc)) from None
    out = []
    for raw in found:
        try:
            out.append(Incident.model_validate_json(raw))
        except ValidationError as exc:
            raise InputError(f"results dataset: not an Incident: {exc}") from None
    return sorted(out, key=lambda i: (i.started_at, i.incident_id))
