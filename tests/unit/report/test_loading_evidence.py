"""HouseholdDay.evidence reaches the season evaluation from Parquet (with and without the
column: rollups written before issue 12 have none) and from JSONL."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from contract.rollups import HouseholdDay
from formats.rollup_parquet import rollups_to_table
from heatwatch.report.loading import ParquetRollups, build_inputs, write_rollups_jsonl
from heatwatch.report.stability import StabilityPolicy, evaluate_season
from heatwatch.report.stability.reasons import evidence_texts

START = date(2021, 11, 15)


def _days() -> list[HouseholdDay]:
    out = []
    for k in range(5):
        for hid, rt, ev in (
            ("N1", "district_heating", "heat_station+indoor" if k % 2 else "heat_station"),
            ("E1", "coal_to_electric", "electric_meter"),
            ("G1", "coal_to_gas", None),
        ):
            out.append(
                HouseholdDay.model_validate(
                    {
                        "household_id": hid,
                        "day": START + timedelta(days=k),
                        "county": "忻府区",
                        "village": "东楼村",
                        "retrofit_type": rt,
                        "heating_device": "district" if rt == "district_heating" else "heat_pump",
                        "priority_group": "none",
                        "readings": 96,
                        "heating_available_minutes": 1440,
                        "outage_minutes": 0,
                        "shortfall_minutes": 0,
                        "no_data_minutes": 0,
                        "interruptions": 0,
                        "energy_kwh": 0,
                        "valley_kwh": 0,
                        "gas_m3": 0,
                        "evidence": ev,
                    }
                )
            )
    return out


def _evidence_by_household(path: Path) -> dict[str, str]:
    from heatwatch.report.loading import rollup_source

    rows, table = build_inputs(rollup_source(path).read(START, START + timedelta(days=200)), None)
    res = evaluate_season(rows, table, StabilityPolicy(), "2021-2022")
    texts = evidence_texts(res.evidence.tolist(), res.evidence_parts, "zh")
    return dict(zip(table.ids, texts, strict=True))


def test_parquet_and_jsonl_carry_the_evidence(tmp_path: Path) -> None:
    days = _days()
    pq.write_table(rollups_to_table(days), tmp_path / "r.parquet")
    write_rollups_jsonl(days, tmp_path / "r.jsonl")
    expected = {"N1": "换热站供热＋室温采集", "E1": "电表", "G1": "未记录"}
    assert _evidence_by_household(tmp_path / "r.parquet") == expected
    assert _evidence_by_household(tmp_path / "r.jsonl") == expected


def test_parquet_written_before_the_evidence_field_still_loads(tmp_path: Path) -> None:
    old = rollups_to_table(_days()).drop_columns(["evidence"])
    pq.write_table(old, tmp_path / "old.parquet")
    assert (
        "evidence"
        not in ParquetRollups(tmp_path / "old.parquet")
        .read(START, START + timedelta(days=10))
        .column_names
    )
    assert set(_evidence_by_household(tmp_path / "old.parquet").values()) == {"未记录"}
