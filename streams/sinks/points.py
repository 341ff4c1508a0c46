"""Pure mapping of the core's results to InfluxDB line protocol (docs/influx-schema.md).

No client, no I/O: every function returns ``bytes`` lines with **second** precision, and the
timestamp of a point is derived from event time only, so replaying the same input writes the
same points (InfluxDB overwrites a point with the same measurement, tag set and time).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

import orjson

from contract.incidents import Incident
from contract.rollups import HouseholdDay
from streams.core.clock import date_day_index, day_start_s
from streams.core.context import Metric
from streams.core.incidents import Change

FieldValue = float | int | str | bool

_MEASUREMENT_ESCAPES = str.maketrans({",": "\\,", " ": "\\ ", "\n": "\\n"})
_TAG_ESCAPES = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ ", "\n": "\\n"})


def _tag(text: str) -> str:
    return text.translate(_TAG_ESCAPES)


def _field_value(value: FieldValue) -> str | None:
    # bool first: it is an int subclass
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        if not math.isfinite(value):
            return None  # line protocol has no NaN/inf: drop the field
        return repr(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def line(
    measurement: str,
    tags: Mapping[str, str],
    fields: Mapping[str, FieldValue | None],
    ts_s: int,
) -> bytes:
    """One line of line protocol; tags sorted (InfluxDB's preferred order), empty tags and
    ``None`` fields omitted. Raises ``ValueError`` if no field is left."""
    parts = [measurement.translate(_MEASUREMENT_ESCAPES)]
    for key in sorted(tags):
        value = tags[key]
        if value != "":
            parts.append(f"{_tag(key)}={_tag(value)}")
    rendered = []
    for key, field_value in fields.items():
        if field_value is None:
            continue
        text = _field_value(field_value)
        if text is not None:
            rendered.append(f"{_tag(key)}={text}")
    if not rendered:
        raise ValueError(f"{measurement}: a point needs at least one field")
    return f"{','.join(parts)} {','.join(rendered)} {int(ts_s)}".encode()


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def incident_line(change: Change, incident: Incident, now_s: int | None = None) -> bytes:
    """``incident``: time is ``started_at`` while open, ``ended_at`` once resolved.

    ``now_s`` is the engine's event-time watermark when the change happened; it gives an open
    incident's ``duration_s`` so far (deterministic: it comes from the input, not the clock).
    """
    started = _epoch(incident.started_at)
    resolved = incident.ended_at is not None
    ended = _epoch(incident.ended_at) if incident.ended_at is not None else 0
    duration = ended - started if resolved else max(0, (now_s or started) - started)
    del change  # open/update/resolve map onto the same two points (state tag + time)
    return line(
        "incident",
        {
            "kind": incident.kind.value,
            "severity": incident.severity.value,
            "county": incident.county,
            "entity_type": incident.entity_type.value,
            "incident_id": incident.incident_id,
            "state": "resolved" if resolved else "open",
        },
        {
            "entity_id": incident.entity_id,
            "village": incident.village or "",
            "households_affected": incident.households_affected,
            "priority_households": incident.priority_households,
            "parent_id": incident.parent_id or "",
            "started_at": started,
            "ended_at": ended,
            "duration_s": duration,
            "details": orjson.dumps(incident.details, option=orjson.OPT_SORT_KEYS).decode(),
        },
        ended if resolved else started,
    )


# "measurement,tag=value,..." per (measurement, tags): a series' key is rendered once, not per
# point (feeder_load / station_pressure: one point per reading of a few hundred series).
_SERIES_CACHE: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
_FIELD_KEYS: dict[str, str] = {}
_SERIES_CACHE_MAX = 200_000


def _series(measurement: str, tags: Mapping[str, str]) -> str:
    key = (measurement, tuple(tags.items()))
    series = _SERIES_CACHE.get(key)
    if series is None:
        if len(_SERIES_CACHE) >= _SERIES_CACHE_MAX:
            _SERIES_CACHE.clear()
        parts = [measurement.translate(_MEASUREMENT_ESCAPES)]
        for name in sorted(tags):
            value = tags[name]
            if value != "":
                parts.append(f"{_tag(name)}={_tag(value)}")
        series = _SERIES_CACHE[key] = ",".join(parts)
    return series


def _fields(measurement: str, fields: Mapping[str, FieldValue | None]) -> str:
    rendered = []
    for key, value in fields.items():
        if value is None:
            continue
        # the common types first, in the order ``_field_value`` checks them
        if type(value) is float:
            if not math.isfinite(value):
                continue
            text = repr(value)
        elif type(value) is int:
            text = f"{value}i"
        else:
            maybe = _field_value(value)
            if maybe is None:
                continue
            text = maybe
        name = _FIELD_KEYS.get(key)
        if name is None:
            name = _FIELD_KEYS[key] = _tag(key)
        rendered.append(f"{name}={text}")
    if not rendered:
        raise ValueError(f"{measurement}: a point needs at least one field")
    return ",".join(rendered)


def metric_line(metric: Metric, extra_tags: Mapping[str, str] | None = None) -> bytes:
    """A core ``Metric`` is already in schema shape; ``extra_tags`` (e.g. the Kafka partition
    of a county aggregate) keep points from different engines apart. Same bytes as ``line()``."""
    tags = metric.tags
    if extra_tags:
        tags = {**tags, **extra_tags}
    series = _series(metric.measurement, tags)
    return f"{series} {_fields(metric.measurement, metric.fields)} {int(metric.ts)}".encode()


_ACTIVE_CACHE: dict[tuple[str, str, str, str, str], str] = {}


def active_incidents_line(
    county: str,
    kind: str,
    severity: str,
    partition: str,
    count: int,
    households_affected: int,
    priority_households: int,
    top_level: int,
    ts_s: int,
    domain: str = "",
) -> bytes:
    """``active_incidents`` (tagged with the engine's ``partition``, and ``domain`` when the
    row has one: a heat device's comm_loss); the same bytes as ``metric_line`` of the core's
    snapshot ``Metric`` with ``{"partition": partition}``."""
    key = (county, kind, severity, partition, domain)
    series = _ACTIVE_CACHE.get(key)
    if series is None:
        series = _ACTIVE_CACHE[key] = _series(
            "active_incidents",
            {
                "county": county,
                "kind": kind,
                "severity": severity,
                "partition": partition,
                "domain": domain,
            },
        )
    return (
        f"{series} count={count}i,households_affected={households_affected}i,"
        f"priority_households={priority_households}i,top_level={top_level}i {ts_s}"
    ).encode()


def household_day_line(day: HouseholdDay) -> bytes:
    """``household_day`` at the local (CST) day start."""
    return line(
        "household_day",
        {
            "county": day.county,
            "retrofit_type": day.retrofit_type.value,
            "household_id": day.household_id,
        },
        {
            "readings": day.readings,
            "heating_available_minutes": float(day.heating_available_minutes),
            "outage_minutes": float(day.outage_minutes),
            "shortfall_minutes": float(day.shortfall_minutes),
            "no_data_minutes": float(day.no_data_minutes),
            "interruptions": day.interruptions,
            "energy_kwh": float(day.energy_kwh),
            "valley_kwh": float(day.valley_kwh),
            "valley_share": None if day.valley_share is None else float(day.valley_share),
            "gas_m3": float(day.gas_m3),
            "county_min_temp_c": (
                None if day.county_min_temp_c is None else float(day.county_min_temp_c)
            ),
            "county_mean_temp_c": (
                None if day.county_mean_temp_c is None else float(day.county_mean_temp_c)
            ),
            "priority_group": day.priority_group.value,
            "village": day.village,
            "heating_device": day.heating_device.value,
            "evidence": day.evidence,
            # a network home's heat meter (issue 24); absent otherwise, so every other
            # household's line is as before
            "heat_kwh": None if day.heat_kwh is None else float(day.heat_kwh),
            # a storage heater's part of the meter (issue 24); absent for other homes
            "heater_kwh": None if day.heater_kwh is None else float(day.heater_kwh),
        },
        day_start_s(date_day_index(day.day)),
    )


def household_use_line(
    tags: Mapping[str, str],
    day_start: int,
    *,
    energy: float,
    unit: str,
    hdd: float,
    ratio: float | None,
    judged: bool,
    low: bool,
    state: str,
    village: str,
    priority_group: str,
) -> bytes:
    """``household_use`` (issue 24): one household-day of the use judgement at the local (CST)
    day start — heating energy (``unit`` kWh, m³, or kWh_heat: a heat meter's), heating degree-days, the ratio of its
    energy per degree-day to its peers' median (absent when the day is not judged), whether the
    day was judged and low, and the household's season-to-date ``state`` (used, under_used,
    empty, not_judged) with ``under_used`` as a flag. Tags ``county``, ``retrofit_type``,
    ``household_id`` as ``household_day``: the same rollups give the same points, and a later
    publication overwrites them."""
    return line(
        "household_use",
        tags,
        {
            "energy": energy,
            "unit": unit,
            "hdd": hdd,
            "ratio": ratio,
            "judged": judged,
            "low": low,
            "under_used": state == "under_used",
            "state": state,
            "village": village,
            "priority_group": priority_group,
        },
        day_start,
    )


def worker_line(
    worker: str,
    topic: str,
    partition: int,
    *,
    lag: int,
    watermark: int,
    readings: int,
    dead_letters: int,
    last_write: int,
    now_s: int,
    committed: int | None = None,
    committed_lag: int | None = None,
) -> bytes:
    """``worker`` heartbeat (wall clock: this one is about the process, not the data).

    ``committed``/``committed_lag``: the group's committed offset as this worker last set it
    and the records behind it (a partition whose ``committed`` stops moving while
    ``committed_lag`` > 0 is stuck: alert on it)."""
    fields: dict[str, int] = {
        "lag": lag,
        "watermark": watermark,
        "readings": readings,
        "dead_letters": dead_letters,
        "last_write": last_write,
    }
    if committed is not None:
        fields["committed"] = committed
    if committed_lag is not None:
        fields["committed_lag"] = committed_lag
    return line(
        "worker", {"worker": worker, "topic": topic, "partition": str(partition)}, fields, now_s
    )
