"""The pure mapping to line protocol: schema shape, escaping, deterministic timestamps."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract.incidents import EntityType, Incident, IncidentKind, Severity
from contract.registry import HeatingDevice, PriorityGroup, RetrofitType
from contract.rollups import HouseholdDay
from streams.core.clock import CST
from streams.core.context import Metric
from streams.core.incidents import Change
from streams.sinks.points import (
    active_incidents_line,
    household_day_line,
    incident_line,
    line,
    metric_line,
    worker_line,
)

START = datetime(2021, 12, 1, 8, 0, tzinfo=CST)


def _incident(**kw: object) -> Incident:
    base: dict[str, object] = {
        "incident_id": "feeder_outage-abc",
        "kind": IncidentKind.FEEDER_OUTAGE,
        "entity_type": EntityType.FEEDER,
        "entity_id": "F-XF-0001",
        "county": "忻府区",
        "village": "东楼村",
        "started_at": START,
        "severity": Severity.CRITICAL,
        "households_affected": 60,
        "priority_households": 2,
        "details": {"b": 1, "a": "x y"},
    }
    base.update(kw)
    return Incident.model_validate(base)


def test_open_incident_is_stamped_at_its_start() -> None:
    text = incident_line(Change.OPENED, _incident(), now_s=int(START.timestamp()) + 900).decode()
    head, fields, ts = (
        text.rsplit(" ", 2)[0],
        text.split(" ", 1)[1].rsplit(" ", 1)[0],
        text.rsplit(" ", 1)[1],
    )
    assert head.startswith("incident,")
    assert (
        "county=忻府区" in head and "state=open" in head and "incident_id=feeder_outage-abc" in head
    )
    assert int(ts) == int(START.timestamp())
    assert "ended_at=0i" in fields and "duration_s=900i" in fields and 'parent_id=""' in fields
    assert 'details="{\\"a\\":\\"x y\\",\\"b\\":1}"' in fields
    assert "households_affected=60i" in fields


def test_resolved_incident_is_stamped_at_its_end() -> None:
    end = datetime(2021, 12, 1, 9, 30, tzinfo=CST)
    text = incident_line(Change.RESOLVED, _incident(ended_at=end)).decode()
    assert "state=resolved" in text
    assert text.endswith(f" {int(end.timestamp())}")
    assert "duration_s=5400i" in text


def test_same_incident_gives_the_same_bytes() -> None:
    a = incident_line(Change.UPDATED, _incident(), now_s=1)
    b = incident_line(Change.UPDATED, _incident(), now_s=1)
    assert a == b


def test_metric_with_partition_tag_and_types() -> None:
    m = Metric(
        "active_incidents",
        {"county": "a b", "kind": "k", "severity": "info"},
        {"count": 3, "ratio": 0.5, "flag": True},
        1_700_000_000,
    )
    text = metric_line(m, {"partition": "2"}).decode()
    assert text == (
        "active_incidents,county=a\\ b,kind=k,partition=2,severity=info "
        "count=3i,ratio=0.5,flag=true 1700000000"
    )


def test_household_day_at_local_midnight_and_none_fields_dropped() -> None:
    day = HouseholdDay(
        household_id="H1",
        day=date(2021, 12, 2),
        county="忻府区",
        village="东楼村",
        retrofit_type=RetrofitType.COAL_TO_ELECTRIC,
        heating_device=HeatingDevice.HEAT_PUMP,
        priority_group=PriorityGroup.NONE,
        readings=96,
        heating_available_minutes=1440,
        outage_minutes=0,
        shortfall_minutes=0,
        no_data_minutes=0,
        interruptions=0,
        energy_kwh=30.0,
        valley_kwh=10.0,
        valley_share=None,
        gas_m3=0.0,
    )
    text = household_day_line(day).decode()
    assert text.endswith(f" {int(datetime(2021, 12, 2, tzinfo=CST).timestamp())}")
    assert "valley_share" not in text and "county_min_temp_c" not in text
    assert "readings=96i" in text and 'heating_device="heat_pump"' in text
    assert "heating_available_minutes=1440.0" in text


def test_worker_line() -> None:
    text = worker_line(
        "w1", "t", 3, lag=5, watermark=10, readings=7, dead_letters=1, last_write=9, now_s=11
    ).decode()
    assert (
        text
        == "worker,partition=3,topic=t,worker=w1 lag=5i,watermark=10i,readings=7i,dead_letters=1i,last_write=9i 11"
    )


def test_nan_fields_dropped_and_empty_point_refused() -> None:
    assert b"x=" not in line("m", {}, {"x": float("nan"), "y": 1}, 0)
    with pytest.raises(ValueError):
        line("m", {"t": "v"}, {"x": None}, 0)


@given(st.text(min_size=1, max_size=20), st.text(max_size=20))
def test_escaping_keeps_one_line_and_three_sections(tag: str, value: str) -> None:
    text = line("m", {"t": tag}, {"s": value}, 5).decode()
    assert "\n" not in text
    assert text.endswith(" 5")


@given(
    st.dictionaries(st.text(min_size=1, max_size=6), st.text(max_size=6), max_size=4),
    st.dictionaries(
        st.text(min_size=1, max_size=6),
        st.one_of(st.integers(), st.floats(), st.booleans(), st.text(max_size=6), st.none()),
        min_size=1,
        max_size=4,
    ),
)
def test_metric_line_fast_path_matches_line(
    tags: dict[str, str], fields: dict[str, object]
) -> None:
    metric = Metric("m x", tags, fields, 1700000000)  # type: ignore[arg-type]
    extra = {"partition": "3"}
    try:
        expected = line("m x", {**tags, **extra}, fields, 1700000000)  # type: ignore[arg-type]
    except ValueError:
        with pytest.raises(ValueError):
            metric_line(metric, extra)
        return
    assert metric_line(metric, extra) == expected
    assert metric_line(metric, extra) == expected  # cached series key: same bytes again


def test_active_incidents_line_matches_metric_line() -> None:
    metric = Metric(
        "active_incidents",
        {"county": "忻府 区", "kind": "feeder_outage", "severity": "critical"},
        {"count": 2, "households_affected": 60, "priority_households": 1, "top_level": 2},
        1638316800,
    )
    got = active_incidents_line(
        "忻府 区", "feeder_outage", "critical", "4", 2, 60, 1, 2, 1638316800
    )
    assert got == metric_line(metric, {"partition": "4"})


def test_a_heat_comm_loss_row_is_tagged_with_its_domain_and_other_rows_are_not() -> None:
    tags = {"county": "代县", "kind": "comm_loss", "severity": "warning"}
    fields = {"count": 1, "households_affected": 4, "priority_households": 0, "top_level": 1}
    heat = active_incidents_line("代县", "comm_loss", "warning", "0", 1, 4, 0, 1, 60, "heat")
    meter = active_incidents_line("代县", "comm_loss", "warning", "0", 1, 4, 0, 1, 60)
    assert heat == metric_line(
        Metric("active_incidents", {**tags, "domain": "heat"}, fields, 60), {"partition": "0"}
    )
    assert meter == metric_line(Metric("active_incidents", tags, fields, 60), {"partition": "0"})
    assert b"domain=heat" in heat and b"domain" not in meter
