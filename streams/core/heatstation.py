"""A heat station's supply (换热站, 锅炉房): no useful heat — an interruption, one page with
its households as children — and a secondary supply below its heating curve, judged against
its own design and learned normal; the curve is its registry's, else learned while its
sampled homes are warm, else its kind's. Owns the supply side of ``HeatStationState`` (its
runs, its pages, its learned normal, what its homes last said)."""

from __future__ import annotations

import math

from contract.incidents import EntityType, IncidentKind, Severity
from contract.registry import HeatStationKind
from contract.telemetry import HeatStationReading
from streams.core.context import DetectorContext, Metric, location_fields
from streams.core.heathomes import occupied_at, sensor_every
from streams.core.heatnormal import (
    Reference,
    StationDesign,
    band_of,
    curve_at,
    design_of,
    learn,
    learn_supply,
    learned_curve_at,
    reference,
)
from streams.core.revisions import note_gap
from streams.core.settings import DetectionSettings
from streams.core.state import HeatStationState


# --- station supply: interruption and the heating curve --------------------------------
def curve_supply_c(
    settings: DetectionSettings,
    kind: HeatStationKind,
    outdoor_c: float,
    design: StationDesign | None = None,
) -> float:
    """The minimum secondary supply for ``outdoor_c`` on a station of ``kind`` (its own
    curve when its design is given: registry override or rescaled to its design supply)."""
    if design is not None:
        return curve_at(design.curve, outdoor_c)
    curves = settings.heat_curves
    return curve_at(curves.get(kind.value) or curves.get("boiler_house") or (45.0, 68.0), outdoor_c)


def on_heat_station(
    ctx: DetectorContext, ss: HeatStationState, r: HeatStationReading, ts: int
) -> None:
    s = ctx.settings
    if ss.accounted_until and ts - s.interval_s > ss.accounted_until:  # a late upload may
        note_gap(ss, ss.accounted_until, ts - s.interval_s, ss.comm)  # fill it (revisions)
        # Runs are runs in time: a state is not assumed to last through missing data (the
        # readings that fill the gap later do not re-run detection).
        ss.down_streak.clear()
        ss.low_streak.clear()
    if ss.comm is not None:
        ctx.book.resolve(ss.comm, ts)
        ss.comm = None
    supply = r.secondary_supply_c
    outdoor = ss.weather.outdoor_before(ts)
    note_homes(s, ss, ts)
    trigger, low, curve, ref = judge_reading(s, ss, r, outdoor, ts)
    down = trigger is not None
    covered_from = max(ss.accounted_until, ts - s.interval_s)
    if down:
        ss.d_down += ts - covered_from
        ss.d_down_ts.append(ts)
    elif low:
        ss.d_low += ts - covered_from
    else:
        ss.d_ok += ts - covered_from
    ss.accounted_until = ts
    if ts != ss.last_ts:
        ss.down_prior, ss.prior_ts = ss.down_now, ss.last_ts
    ss.down_now = down
    ss.last_ts = ts
    _judge_interruption(ctx, ss, r, ts, trigger, ref)
    if ss.interruption is None and not down:
        if curve is not None:
            _judge_supply_low(ctx, ss, supply, curve, ts)
        elif outdoor is not None and station_curve(s, ss, design_of(s, ss), outdoor, ts)[1] == (
            "homes_warm"
        ):
            _not_judged_low(ctx, ss, supply, ts)  # unlearned, its warm homes say enough
    if trigger is None and ss.interruption is None and outdoor is not None:
        _learn_curve(s, ss, supply, outdoor, ts, low)
    if ss.cold_count:
        ss.dirty.add(ss)  # its cold homes follow its pages (``roll_up_cold_homes``)
    if not down and not low and ss.interruption is None and ss.supply_low is None:
        # only what is judged healthy is learned: a fault never becomes the normal
        delta = r.secondary_supply_c - r.secondary_return_c
        learn(s, ss.normal, outdoor, r.flow_m3h, delta, r.heat_kw)
    station_metric(ctx, ss, r, curve, ts)


def sampled_at(s: DetectionSettings, ss: HeatStationState, ts: int) -> tuple[int, int, int]:
    """(reporting, warm, cold) sampled homes of a station at its step ``ts``: each home's
    latest indoor reading before the step (the one before that if its reading of this step
    was handled first: the same answer in either order), if within two of its intervals.
    Warm: at or above ``indoor_low_c``; cold: below it in occupied hours (a night setback is
    neither)."""
    reporting = warm = cold = 0
    for home in ss.homes:
        d = home.indoor
        if not d.last_ts:
            continue
        seen, temp = (d.prior_ts, d.prior_temp_c) if d.last_ts >= ts else (d.last_ts, d.temp_c)
        if not seen or seen < ts - 2 * sensor_every(s, home):
            continue
        reporting += 1
        if temp >= s.indoor_low_c:
            warm += 1
        elif occupied_at(s, seen):
            cold += 1
    return reporting, warm, cold


def station_curve(
    s: DetectionSettings, ss: HeatStationState, design: StationDesign, outdoor: float, ts: int
) -> tuple[float | None, str]:
    """(the minimum supply the station is judged against at ``outdoor`` or None, where it
    comes from): the registry's curve, else what its warm homes taught (its kind's curve if
    that fits, else its learned curve), else — not known yet — its kind's guess while no
    sampled home reports or enough of them are cold, else none (``heat_curve_learn_readings``
    says why)."""
    if design.curve_from_registry:
        return curve_at(design.curve, outdoor), "registry"
    learned = learned_curve_at(s, design, ss.normal.supply, outdoor)
    if learned is not None:
        return learned
    reporting, warm, cold = sampled_at(s, ss, ts)
    said = _homes_say(s, reporting, warm, cold)
    if reporting and said is None:
        return None, "unknown"  # a night setback: neither warm nor cold, nothing is judged
    if ss.homes_warm if said is None else said:
        return None, "homes_warm"  # they show (or last showed) the supply is enough
    return curve_at(design.curve, outdoor), "kind"


def note_homes(s: DetectionSettings, ss: HeatStationState, ts: int) -> None:
    """Keep in ``homes_warm`` what the station's reporting sampled homes say at its live step
    ``ts``, for the steps none reports. Noted at every live step, also before the outdoor
    temperature is known: a sensor silent for a while (its upload comes late) then leaves the
    judgement where its last readings put it, as the ordered readings would. (Only here: a
    late reading judged on revision does not move it.)"""
    if design_of(s, ss).curve_from_registry:
        return  # judged against its registry curve: what its homes say is not needed
    said = _homes_say(s, *sampled_at(s, ss, ts))
    if said is not None:
        ss.homes_warm = said


def _homes_say(s: DetectionSettings, reporting: int, warm: int, cold: int) -> bool | None:
    """True: enough reporting sampled homes warm; False: enough cold; None: none reports,
    or a night setback (neither)."""
    if not reporting:
        return None
    if cold >= max(1, math.ceil(s.indoor_station_share * reporting)):
        return False
    if _warm_enough(s, reporting, warm):
        return True
    return None


def _learn_curve(
    s: DetectionSettings, ss: HeatStationState, supply: float, outdoor: float, ts: int, low: bool
) -> None:
    """A station without a registry curve learns its own while its sampled homes are warm:
    what is judged low against its curve is never learned, but what is not judged (a
    low-temperature network before its curve is known) is."""
    design = design_of(s, ss)
    if design.curve_from_registry or low:
        return
    entry = ss.normal.supply.get(band_of(s, outdoor))
    if entry is not None and entry[0] >= s.heat_curve_learn_readings:
        return  # that band is learned (and fixed)
    reporting, warm, _ = sampled_at(s, ss, ts)
    if _warm_enough(s, reporting, warm) or (not reporting and ss.homes_warm):
        learn_supply(s, design, ss.normal.supply, outdoor, supply)


def _warm_enough(s: DetectionSettings, reporting: int, warm: int) -> bool:
    """Enough of a station's reporting sampled homes warm that its supply is evidently
    enough: all but a share that would not roll up as a station problem."""
    return warm > 0 and warm >= (1.0 - s.indoor_station_share) * reporting


def judge_reading(
    s: DetectionSettings,
    ss: HeatStationState,
    r: HeatStationReading,
    outdoor: float | None,
    ts: int,
) -> tuple[str | None, bool, float | None, Reference]:
    """(why it gives no useful heat or None, below its curve, the curve, the thresholds) of
    one station reading, against the station's own design and learned normal.

    No useful heat: the pumps stopped (flow below a share of its normal), the supply below its
    design's dead line, or the heat source lost while the pumps run (supply–return difference
    collapsed to a share of its normal at this outdoor temperature: flow × ΔT, the heat
    output, is then ~0 although the network's water is still warm)."""
    design = design_of(s, ss)
    ref = reference(s, design, ss.normal, outdoor)
    supply = r.secondary_supply_c
    delta = supply - r.secondary_return_c
    curve = station_curve(s, ss, design, outdoor, ts)[0] if outdoor is not None else None
    trigger: str | None = None
    if r.flow_m3h <= ref.flow_stopped_m3h:
        trigger = "flow_stopped"
        if (
            not ref.flow_learned
            and not design.flow_from_registry
            and r.flow_m3h > s.heat_flow_floor_m3h
            and supply >= ref.dead_supply_c + s.heat_restore_margin_k
            and delta >= ref.delta_lost_k
            and (curve is None or supply >= curve - s.heat_low_margin_c)
        ):
            # a design flow guessed from the number of homes is no better than 2-3×: a
            # circulating station delivering heat on its curve is running, and its flow is
            # learned (never a season-long "interruption" of a small or undersized network)
            trigger = None
    elif supply < ref.dead_supply_c:
        trigger = "supply_temperature"
    elif delta < ref.delta_lost_k or (
        # the station's heat meter reads ~no output while the difference is already falling
        ref.heat_normal_kw
        and ref.delta_normal_k
        and r.heat_kw <= s.heat_source_loss_heat_share * ref.heat_normal_kw
        and delta < 0.5 * ref.delta_normal_k
    ):
        trigger = "heat_source_lost"
    low = trigger is None and curve is not None and supply < curve - s.heat_low_margin_c
    return trigger, low, curve, ref


def supply_state(
    s: DetectionSettings,
    ss: HeatStationState,
    r: HeatStationReading,
    outdoor: float | None,
    ts: int,
) -> tuple[bool, bool, float | None]:
    """(down: no useful heat, low: below the heating curve, the curve) of one reading."""
    trigger, low, curve, _ = judge_reading(s, ss, r, outdoor, ts)
    return trigger is not None, low, curve


def station_metric(
    ctx: DetectorContext,
    ss: HeatStationState,
    r: HeatStationReading,
    curve: float | None,
    ts: int,
) -> None:
    """The ``heat_station`` point: supply vs curve (no curve field before any weather)."""
    curve_field = {"curve_supply_c": round(curve, 2)} if curve is not None else {}
    ctx.output.metric(
        Metric(
            "heat_station",
            {"county": ss.county, "village": ss.village, "heat_station_id": ss.station_id},
            {
                "secondary_supply_c": r.secondary_supply_c,
                "secondary_return_c": r.secondary_return_c,
                **curve_field,
                "flow_m3h": r.flow_m3h,
                "heat_kw": r.heat_kw,
                "households": len(ss.homes),
                "cold_homes": ss.cold_count,
                "interrupted": int(ss.interruption is not None),
                "supply_low": int(ss.supply_low is not None),
                **location_fields(ss.location),
            },
            ts,
        )
    )


def _judge_interruption(
    ctx: DetectorContext,
    ss: HeatStationState,
    r: HeatStationReading,
    ts: int,
    trigger: str | None,
    ref: Reference,
) -> None:
    s = ctx.settings
    if trigger is not None:
        run = ss.down_streak.add(ts)
        ss.low_streak.clear()  # an interruption is not also a low supply
        if ss.interruption is None and run >= s.heat_interruption_min_readings:
            _open_interruption(ctx, ss, r, trigger, ref)
        return
    ss.down_streak.clear()
    restored = r.secondary_supply_c >= ref.dead_supply_c + s.heat_restore_margin_k
    if ss.interruption is not None and restored:
        for home in ss.homes:
            if home.interruption is not None:
                ctx.book.resolve(home.interruption, ts)
                home.interruption = None
        ctx.book.resolve(ss.interruption, ts, restored_supply_c=r.secondary_supply_c)
        ss.interruption = None


def _open_interruption(
    ctx: DetectorContext,
    ss: HeatStationState,
    r: HeatStationReading,
    trigger: str,
    ref: Reference,
) -> None:
    """One station incident (the page) and one child per household of the station.

    A station already paged for low supply escalates that incident (same id, now an
    interruption, critical): a failing source is one event for dispatch, whichever symptom
    showed first."""
    details = {
        "heat_station_kind": ss.kind.value,
        "trigger": trigger,
        "secondary_supply_c": r.secondary_supply_c,
        "secondary_return_c": r.secondary_return_c,
        "flow_m3h": r.flow_m3h,
        "heat_kw": r.heat_kw,
        "members": len(ss.homes),
        "reference": "learned" if ref.learned else "design",
        "flow_stopped_below_m3h": round(ref.flow_stopped_m3h, 3),
        "delta_lost_below_k": round(ref.delta_lost_k, 2),
    }
    if ss.supply_low is not None:
        low = ss.supply_low
        ss.supply_low = None
        ss.low_streak.clear()
        ctx.book.update(
            low,
            kind=IncidentKind.HEAT_SUPPLY_INTERRUPTION,
            severity=Severity.CRITICAL,
            details={**low.details, **details, "escalated_from": "heat_supply_low"},
        )
        ss.interruption = low
    else:
        ss.interruption = ctx.book.open_group(
            IncidentKind.HEAT_SUPPLY_INTERRUPTION,
            (EntityType.HEAT_STATION, ss.station_id),
            ss,
            ss.down_streak.first,
            Severity.CRITICAL,
            affected=(len(ss.homes), ss.priority_members),
            details=details,
        )
    ss.d_interruptions += 1
    parent = ss.interruption.incident_id
    for home in ss.homes:
        hh = home.household.household
        home.interruption = ctx.book.open_household(
            IncidentKind.HEAT_SUPPLY_INTERRUPTION,
            hh,
            ss.down_streak.first,
            Severity.CRITICAL if hh.is_priority else Severity.WARNING,
            parent_id=parent,
            details={"heat_station_id": ss.station_id},
        )


def _not_judged_low(ctx: DetectorContext, ss: HeatStationState, supply: float, ts: int) -> None:
    """A reading not judged against a curve (unlearned, its sampled homes warm): no low run,
    and a low-supply page opened on the guess ends (the homes show the supply is enough)."""
    ss.low_streak.clear()
    if ss.supply_low is not None:
        ctx.book.resolve(ss.supply_low, ts, secondary_supply_c=supply, ended_by="homes_warm")
        ss.supply_low = None


def _curve_source(s: DetectionSettings, ss: HeatStationState, ts: int) -> str:
    """``registry``, ``learned`` or ``kind``: the station's curve at ``ts`` (details)."""
    outdoor = ss.weather.outdoor_before(ts)
    return station_curve(s, ss, design_of(s, ss), outdoor, ts)[1] if outdoor is not None else ""


def _judge_supply_low(
    ctx: DetectorContext, ss: HeatStationState, supply: float, curve: float, ts: int
) -> None:
    s = ctx.settings
    if supply < curve - s.heat_low_margin_c:
        run = ss.low_streak.add(ts)
        if ss.supply_low is None and run >= s.heat_low_min_readings:
            ss.supply_low = ctx.book.open_group(
                IncidentKind.HEAT_SUPPLY_LOW,
                (EntityType.HEAT_STATION, ss.station_id),
                ss,
                ss.low_streak.first,
                Severity.WARNING,
                affected=(len(ss.homes), ss.priority_members),
                details={
                    "heat_station_kind": ss.kind.value,
                    "secondary_supply_c": supply,
                    "curve_supply_c": round(curve, 2),
                    "curve": _curve_source(s, ss, ts),
                },
            )
        return
    ss.low_streak.clear()
    if ss.supply_low is not None and supply >= curve - s.heat_low_clear_margin_c:
        ctx.book.resolve(ss.supply_low, ts, secondary_supply_c=supply)
        ss.supply_low = None
