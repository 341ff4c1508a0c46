"""Reading back what the sink wrote: daily household rollups and incidents from InfluxDB.

Why InfluxDB (docs/stability-report.md, "Reports from the production store"): the worker
already writes every ``household_day`` there, and a late-data revision of a day is written
with the same measurement, tags and timestamp, so InfluxDB keeps exactly the newest version
— the store needs no compaction and the report no deduplication. At city scale
(191,634 households × 121 days) the rollups are read **one day per query** with InfluxQL
(``/query``, the bucket's virtual v1 database): ``SELECT`` of the tags and the fields the
reports use gives one row per household and day straight from the storage engine, as CSV
that Arrow parses in C; a few days are in flight at a time. (A Flux ``pivot`` of the same day
took 254 s against InfluxQL's 28 s on the bench machine: Flux builds one table per series,
191 k × 8 of them.) Incidents are few and read with Flux.

Only HTTP and Arrow: no client library, no pandas.
"""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from contract.incidents import Incident
from formats.incident_points import BEIJING, newest_incidents
from streams.settings import InfluxSettings

# Fields of ``household_day`` the reports read, with their Arrow types.
ROLLUP_FIELDS: dict[str, pa.DataType] = {
    "village": pa.string(),
    "priority_group": pa.string(),
    "heating_available_minutes": pa.float64(),
    "outage_minutes": pa.float64(),
    "shortfall_minutes": pa.float64(),
    "no_data_minutes": pa.float64(),
    "interruptions": pa.int64(),
    "county_min_temp_c": pa.float64(),
    "evidence": pa.string(),  # absent before issue 12: read as null
    # Use and cost (issue 24): the heating energy, the county's mean temperature, the device.
    "energy_kwh": pa.float64(),
    "valley_kwh": pa.float64(),
    "gas_m3": pa.float64(),
    "county_mean_temp_c": pa.float64(),
    "heating_device": pa.string(),
    "heat_kwh": pa.float64(),  # a network home's delivered heat (issue 24): absent → null
    "heater_kwh": pa.float64(),  # a storage heater's part of the meter (issue 24)
}
ROLLUP_TAGS = ("household_id", "county", "retrofit_type")


class InfluxReadError(Exception):
    """InfluxDB refused or failed a query; the message says which and why."""


def day_start_utc(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=BEIJING).astimezone(UTC)


def _rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _flux_string(s: str) -> str:
    return json.dumps(s)  # a JSON string literal is a valid Flux string literal


@dataclass(frozen=True)
class InfluxReader:
    settings: InfluxSettings
    parallel_days: int = 3
    county: str | None = None  # only this county's households (a tag: an index lookup)

    # ---- HTTP --------------------------------------------------------------------------
    def query_csv(self, flux: str) -> bytes:
        """The query's result as CSV with one header row (no annotations)."""
        s = self.settings
        body = orjson.dumps(
            {
                "query": flux,
                "type": "flux",
                "dialect": {"header": True, "annotations": [], "delimiter": ","},
            }
        )
        req = urllib.request.Request(
            f"{s.url.rstrip('/')}/api/v2/query?org={urllib.parse.quote(s.org)}",
            data=body,
            method="POST",
            headers={
                "Authorization": f"Token {s.require_token()}",
                "Content-Type": "application/json",
                "Accept": "application/csv",
                "Accept-Encoding": "identity",
            },
        )
        return self._fetch(req, "Flux")

    def _fetch(self, req: urllib.request.Request, what: str) -> bytes:
        s = self.settings
        try:
            with urllib.request.urlopen(req, timeout=max(s.timeout_ms / 1000, 600)) as resp:
                data: bytes = resp.read()
                return data
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode(errors="replace")
            raise InfluxReadError(
                f"InfluxDB {what} query failed: HTTP {exc.code}: {detail}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            raise InfluxReadError(f"InfluxDB at {s.url} unreachable: {exc}") from None

    def query_table(self, flux: str, types: dict[str, pa.DataType]) -> pa.Table | None:
        data = self.query_csv(flux)
        if not data.strip():
            return None
        return _parse_csv(data, types)

    # ---- household_day (InfluxQL) ------------------------------------------------------
    def influxql_csv(self, query: str) -> bytes:
        s = self.settings
        params = urllib.parse.urlencode({"db": s.bucket, "q": query, "epoch": "s"})
        req = urllib.request.Request(
            f"{s.url.rstrip('/')}/query?{params}",
            headers={
                "Authorization": f"Token {s.require_token()}",
                "Accept": "application/csv",
            },
        )
        return self._fetch(req, "InfluxQL")

    def household_day_influxql(self, day: date) -> str:
        cols = ", ".join(f'"{c}"' for c in (*ROLLUP_TAGS, *ROLLUP_FIELDS))
        where = (
            f"time >= '{_rfc3339(day_start_utc(day))}' "
            f"AND time < '{_rfc3339(day_start_utc(day + timedelta(days=1)))}'"
        )
        if self.county is not None:
            quoted = self.county.replace("\\", "\\\\").replace("'", "\\'")
            where += f" AND \"county\" = '{quoted}'"
        return f"SELECT {cols} FROM household_day WHERE {where}"

    def household_day(self, day: date) -> pa.Table:
        """One day's rollups: the tags, the fields and ``day`` (date32)."""
        types = {**dict.fromkeys(ROLLUP_TAGS, pa.string()), **ROLLUP_FIELDS}
        data = self.influxql_csv(self.household_day_influxql(day))
        tbl = _parse_csv(data, types) if data.strip() else None
        if tbl is None or tbl.num_rows == 0:
            return _empty_rollups()
        out = {c: _column(tbl, c, t) for c, t in types.items()}
        return pa.table({"day": pa.array([day] * tbl.num_rows, pa.date32()), **out})

    def household_days(self, first: date, last: date) -> Iterator[pa.Table]:
        """Day by day, ``parallel_days`` queries in flight, in day order."""
        days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
        with ThreadPoolExecutor(max_workers=max(self.parallel_days, 1)) as pool:
            yield from pool.map(self.household_day, days)

    def household_day_range(self) -> tuple[date, date] | None:
        """First and last day with any rollup."""
        ends = []
        for fn in ("first", "last"):
            data = self.influxql_csv(f'SELECT {fn}("readings") FROM household_day')
            if not data.strip():
                return None
            tbl = _parse_csv(data, {"time": pa.int64()})
            if tbl.num_rows == 0:
                return None
            epoch = int(tbl.column("time")[0].as_py())
            ends.append(datetime.fromtimestamp(epoch, BEIJING).date())
        return ends[0], ends[1]

    # ---- incidents ---------------------------------------------------------------------
    def incidents(self) -> list[Incident]:
        """Each incident's newest state: the ``resolved`` point wins over ``open`` ones; of
        several open points (a severity change makes a new series) the most severe."""
        flux = (
            f"from(bucket: {_flux_string(self.settings.bucket)})\n"
            "  |> range(start: 1970-01-01T00:00:00Z)\n"
            '  |> filter(fn: (r) => r._measurement == "incident")\n'
            '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")\n'
            "  |> group()\n"
        )
        types = {k: pa.string() for k in ("incident_id", "kind", "entity_type", "entity_id",
                 "county", "village", "severity", "state", "parent_id", "details")}  # fmt: skip
        types.update({k: pa.int64() for k in ("households_affected", "priority_households",
                      "started_at", "ended_at")})  # fmt: skip
        tbl = self.query_table(flux, types)
        if tbl is None:
            return []
        return newest_incidents(tbl.select([c for c in types if c in tbl.column_names]).to_pylist())


def _parse_csv(data: bytes, types: dict[str, pa.DataType]) -> pa.Table:
    # Flux writes one header per result table; after group() there is one table, but an
    # empty line or a repeated header may still follow (a schema change): parse each part.
    parts = [p for p in data.replace(b"\r\n", b"\n").split(b"\n\n") if p.strip()]
    tables = []
    for part in parts:
        header = part.split(b"\n", 1)[0].decode().split(",")
        convert = pacsv.ConvertOptions(
            column_types={c: t for c, t in types.items() if c in header and c != "_time"},
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            timestamp_parsers=[pacsv.ISO8601],
        )
        tbl = pacsv.read_csv(
            io.BytesIO(part),
            read_options=pacsv.ReadOptions(block_size=64 << 20),
            convert_options=convert,
        )
        if "_time" in tbl.column_names and "_time" in types:
            tbl = tbl.set_column(
                tbl.column_names.index("_time"), "_time", pc.cast(tbl["_time"], types["_time"])
            )
        tables.append(tbl.select([c for c in tbl.column_names if c in types]))
    return pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]


def _column(tbl: pa.Table, name: str, typ: pa.DataType) -> pa.Array | pa.ChunkedArray:
    if name not in tbl.column_names:
        return pa.nulls(tbl.num_rows, typ)
    col = tbl.column(name)
    return col if col.type == typ else pc.cast(col, typ)


def _empty_rollups() -> pa.Table:
    cols = {"day": pa.array([], pa.date32())}
    cols.update({c: pa.array([], pa.string()) for c in ROLLUP_TAGS})
    cols.update({c: pa.array([], t) for c, t in ROLLUP_FIELDS.items()})
    return pa.table(cols)


__all__ = ["ROLLUP_FIELDS", "InfluxReadError", "InfluxReader", "day_start_utc"]
