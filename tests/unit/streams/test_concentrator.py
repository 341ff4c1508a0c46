"""One page per concentrator: a transformer area whose meters all go silent together
(no last gasps) is one feeder-level comm_loss with the households as children."""

from __future__ import annotations

from tests.unit.streams.scenario import electric, household, run

AREA = [household(f"A{i}", feeder_id="F-A") for i in range(5)]
OTHER = [household(f"B{i}", feeder_id="F-B") for i in range(5)]


def _stream(silent_area: range, silent_single: range = range(0)) -> list:  # type: ignore[type-arg]
    readings = []
    for s in range(1, 97):
        for hh in AREA:
            if s not in silent_area:
                readings.append(electric(hh.household_id, s))
        for hh in OTHER:
            if not (hh.household_id == "B0" and s in silent_single):
                readings.append(electric(hh.household_id, s))
    return readings


def test_a_silent_concentrator_is_one_page_with_the_households_as_children() -> None:
    out, _ = run(AREA + OTHER, _stream(range(40, 52)))
    comm = out.of_kind("comm_loss")
    (area,) = [i for i in comm if i.entity_type.value == "feeder"]
    assert (area.entity_id, area.households_affected, area.severity.value) == ("F-A", 5, "warning")
    children = [i for i in comm if i.entity_type.value == "household"]
    assert sorted(i.entity_id for i in children) == [h.household_id for h in AREA]
    assert {i.parent_id for i in children} == {area.incident_id}
    assert area.ended_at is not None and all(i.ended_at is not None for i in children)
    assert area.started_at == min(i.started_at for i in children)


def test_one_silent_meter_on_a_feeder_stays_a_household_page() -> None:
    out, _ = run(AREA + OTHER, _stream(range(0), silent_single=range(40, 52)))
    comm = out.of_kind("comm_loss")
    assert [(i.entity_type.value, i.entity_id, i.parent_id) for i in comm] == [
        ("household", "B0", None)
    ]
