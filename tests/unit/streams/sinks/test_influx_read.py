"""Reading the production store back: query text, CSV parsing and incident states (no server)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa
import pytest

from streams.settings import InfluxSettings
from streams.sinks.influx_read import InfluxReader

HEADER = (
    b"name,tags,time,household_id,county,retrofit_type,village,priority_group,"
    b"heating_available_minutes,outage_minutes,shortfall_minutes,no_data_minutes,interruptions\n"
)


class Canned(InfluxReader):
    def __init__(self, answers: dict[str, bytes]) -> None:
        super().__init__(InfluxSettings(bucket='b"x'))
        object.__setattr__(self, "answers", answers)
        object.__setattr__(self, "asked", [])

    def query_csv(self, flux: str) -> bytes:
        self.asked.append(flux)  # type: ignore[attr-defined]
        for key, answer in self.answers.items():  # type: ignore[attr-defined]
            if key in flux:
                return answer  # type: ignore[no-any-return]
        return b""

    def influxql_csv(self, query: str) -> bytes:
        return self.query_csv(query)


def test_one_day_is_one_influxql_query_typed_by_arrow() -> None:
    body = HEADER + (
        b"household_day,,1638288000,H1,\xe5\x8e\x9f\xe5\xb9\xb3\xe5\xb8\x82,solar,"
        b"\xe5\x8d\x97\xe6\x9d\x91,none,1380.5,59.5,0,0,1\n"
        b"household_day,,1638288000,H2,X,solar,V,school,1440,0,0,0,0\n"
    )
    r = Canned({"2021-11-30T16:00:00Z": body})
    t = r.household_day(date(2021, 12, 1))
    query = r.asked[0]  # type: ignore[attr-defined]
    assert query.startswith('SELECT "household_id", "county", "retrofit_type", "village"')
    assert "time >= '2021-11-30T16:00:00Z' AND time < '2021-12-01T16:00:00Z'" in query
    assert t.column("day").to_pylist() == [date(2021, 12, 1)] * 2
    assert t.column("county").to_pylist() == ["原平市", "X"]
    assert t.column("heating_available_minutes").to_pylist() == [1380.5, 1440.0]
    assert t.column("interruptions").type == pa.int64()
    assert t.column("county_min_temp_c").null_count == 2  # never written: all unknown


def test_one_county_is_filtered_in_the_store() -> None:
    r = Canned({})
    object.__setattr__(r, "county", "O'Brien")
    r.household_day(date(2021, 12, 1))
    assert r.asked[0].endswith(" AND \"county\" = 'O\\'Brien'")  # type: ignore[attr-defined]


def test_empty_day_gives_an_empty_table() -> None:
    assert Canned({}).household_day(date(2021, 12, 1)).num_rows == 0


def test_day_range_from_first_and_last() -> None:
    r = Canned({"first(": b"name,tags,time,first\nhousehold_day,,1638288000,96\n",
                "last(": b"name,tags,time,last\nhousehold_day,,1638460800,96\n"})  # fmt: skip
    assert r.household_day_range() == (date(2021, 12, 1), date(2021, 12, 3))
    assert Canned({}).household_day_range() is None


def _incident_csv(rows: list[dict[str, Any]]) -> bytes:
    cols = ["incident_id", "kind", "entity_type", "entity_id", "county", "village", "severity",
            "state", "parent_id", "details", "households_affected", "priority_households",
            "started_at", "ended_at"]  # fmt: skip
    out = [",result,table," + ",".join(cols)]
    for r in rows:
        out.append(",_result,0," + ",".join(str(r[c]) for c in cols))
    return ("\n".join(out) + "\n").encode()


@pytest.mark.parametrize("resolved_first", [True, False])
def test_resolved_point_wins_and_the_most_severe_open_one(resolved_first: bool) -> None:
    base = {"kind": "feeder_overload", "entity_type": "feeder", "entity_id": "F1",
            "county": "X", "village": "", "parent_id": "", "details": '"{""a"": 1}"',
            "households_affected": 7, "priority_households": 1, "started_at": 1638316800}  # fmt: skip
    rows = [
        {**base, "incident_id": "a", "severity": "warning", "state": "open", "ended_at": 0},
        {**base, "incident_id": "a", "severity": "critical", "state": "resolved",
         "ended_at": 1638320400},
        {**base, "incident_id": "b", "severity": "warning", "state": "open", "ended_at": 0},
        {**base, "incident_id": "b", "severity": "critical", "state": "open", "ended_at": 0},
    ]  # fmt: skip
    if not resolved_first:
        rows.reverse()
    got = {i.incident_id: i for i in Canned({"incident": _incident_csv(rows)}).incidents()}
    assert got["a"].ended_at is not None and got["a"].severity.value == "critical"
    assert got["b"].ended_at is None and got["b"].severity.value == "critical"
    assert got["a"].details == {"a": 1} and got["a"].village is None
    assert got["a"].started_at.utcoffset().total_seconds() == 8 * 3600  # type: ignore[union-attr]
