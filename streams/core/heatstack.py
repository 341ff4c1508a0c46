"""A boiler house's stack (CEMS, 烟气在线监测): hourly means at the reference O₂, operating
states (HJ 75-2017: start-up, shutdown and stopped hours flagged, not judged), exceedance
of the ultra-low emission limits, and each day's data completeness. Owns ``StackState``."""

from __future__ import annotations

from typing import Any

from contract.incidents import EntityType, IncidentKind, Severity
from contract.telemetry import StackEmissionReading
from streams.core.clock import DAY_S, day_start_s
from streams.core.context import DetectorContext, Metric
from streams.core.heatnormal import design_of
from streams.core.revisions import note_gap
from streams.core.settings import DetectionSettings
from streams.core.state import StackState

_POLLUTANTS = ("particulates", "so2", "nox")


# --- stack emissions (CEMS) --------------------------------------------------------------
# Operating states of a boiler-house hour (HJ 75-2017 flags start-up, shutdown and stopped
# data apart from normal operation; only running hours are judged against the limits).
RUNNING, STARTUP, SHUTDOWN, STOPPED = "running", "startup", "shutdown", "stopped"
_LONG_RUNNING = 1_000_000  # run_hours of a boiler already running when the stream began


def reference_o2(s: DetectionSettings, sk: StackState) -> float:
    """The reference O₂ of the stack's limits, by the boiler house's fuel (registry)."""
    design = design_of(s, sk.station)
    if design.fuel is not None:
        return s.emission_reference_o2_by_fuel.get(design.fuel.value, s.emission_reference_o2_pct)
    return s.emission_reference_o2_pct


def firing(s: DetectionSettings, sk: StackState, r: StackEmissionReading) -> bool:
    """Whether the boiler fired in normal operation during the reading: combustion gas (O₂
    below near-ambient), a running fan (flue flow not collapsed against its own running
    flow), not banked (high O₂ at low draught) and, when reported, a warm stack."""
    if r.o2_pct >= s.cems_firing_o2_max_pct or r.flue_flow_m3h <= 0:
        return False
    if r.flue_temp_c is not None and r.flue_temp_c < s.cems_firing_flue_temp_c:
        return False
    n, mean = sk.flue_norm
    learned = n >= s.heat_normal_min_readings
    if learned and r.flue_flow_m3h < s.cems_firing_flow_share * mean:
        return False  # a stopped fan
    # banked (压火): minimum fire at low draught, O₂ near ambient; the conversion would
    # multiply its small concentrations several times. Air blown in to dilute the flue gas
    # raises the flow as well as the O₂, so that is still judged (once the running flow is
    # known: before, high O₂ alone is taken as banked).
    low_draught = not learned or r.flue_flow_m3h < s.cems_banked_flow_share * mean
    return not (r.o2_pct >= s.cems_banked_o2_min_pct and low_draught)


def on_stack(ctx: DetectorContext, sk: StackState, r: StackEmissionReading, ts: int) -> None:
    """Average an hour (by interval start) of the firing readings at the reference O₂; judge
    it when the next begins (or when its day closes)."""
    s = ctx.settings
    if sk.last_ts and ts - r.interval_s > sk.last_ts:  # a late upload may fill it
        note_gap(sk, sk.last_ts, ts - r.interval_s)
    sk.last_ts = ts
    hour = (ts - r.interval_s) // 3600
    if hour != sk.em_hour:
        if sk.em_hour >= 0 and sk.em_n:
            _judge_hour(ctx, sk)
        sk.em_hour, sk.em_n, sk.em_fire, sk.em_s = hour, 0, 0, 0
        sk.em_pm, sk.em_so2, sk.em_nox = 0.0, 0.0, 0.0
    fired = firing(s, sk, r)
    sk.em_s += min(r.interval_s, 3600)
    if sk.em_n == 0:
        sk.em_first_fire = fired
    sk.em_last_fire = fired
    sk.em_n += 1
    if not fired:
        return  # near-ambient O₂: a reference-O₂ conversion would only multiply noise
    sk.em_fire += 1
    _fold_flue(s, sk, r.flue_flow_m3h)
    pm, so2, nox = at_reference_o2(s, r, reference_o2(s, sk))
    sk.em_pm += pm
    sk.em_so2 += so2
    sk.em_nox += nox


def _fold_flue(s: DetectionSettings, sk: StackState, flow: float) -> None:
    n = sk.flue_norm[0] + 1
    sk.flue_norm[0] = n
    sk.flue_norm[1] += (flow - sk.flue_norm[1]) * max(s.heat_normal_weight, 1.0 / n)


def at_reference_o2(
    s: DetectionSettings, r: StackEmissionReading, ref_o2: float | None = None
) -> tuple[float, float, float]:
    """Particulates, SO₂ and NOx of one firing reading converted to the reference O₂."""
    ref = s.emission_reference_o2_pct if ref_o2 is None else ref_o2
    factor = (21.0 - ref) / (21.0 - min(r.o2_pct, s.cems_firing_o2_max_pct))
    return r.particulates_mg_m3 * factor, r.so2_mg_m3 * factor, r.nox_mg_m3 * factor


def hour_metric(
    sk: StackState,
    hour: int,
    n: int,
    sums: tuple[float, float, float],
    fired: int | None = None,
    state: str | None = None,
) -> Metric:
    """The ``stack_emission_hourly`` point of an hour (keyed by station and hour start):
    means over its firing readings, its operating state when judged."""
    ss = sk.station
    fired = n if fired is None else fired
    means = {
        k: round(v / fired, 2) if fired else 0.0 for k, v in zip(_POLLUTANTS, sums, strict=True)
    }
    extra: dict[str, Any] = {"firing_readings": fired}
    if state is not None:
        extra["operating_state"] = state
    return Metric(
        "stack_emission_hourly",
        {"county": ss.county, "village": ss.village, "heat_station_id": ss.station_id},
        {**{f"{k}_mg_m3": v for k, v in means.items()}, "readings": n, **extra},
        hour * 3600,
    )


def hour_state(s: DetectionSettings, sk: StackState) -> str:
    """The operating state of the hour being closed (updates the start-up count)."""
    if sk.em_fire == 0:
        sk.run_hours = 0
        return STOPPED
    if sk.em_fire < sk.em_n:  # fired part of the hour: lit (start-up) or put out (shutdown)
        sk.run_hours = 0
        return SHUTDOWN if sk.em_first_fire and not sk.em_last_fire else STARTUP
    sk.run_hours = min(sk.run_hours + 1, _LONG_RUNNING)
    return STARTUP if sk.run_hours <= s.cems_startup_hours else RUNNING


def _judge_hour(ctx: DetectorContext, sk: StackState) -> None:
    s = ctx.settings
    ss = sk.station
    hour_start = sk.em_hour * 3600
    state = hour_state(s, sk)
    sk.last_state = state
    complete = (
        sk.em_n >= s.emission_min_readings_per_hour
        and sk.em_s >= s.emission_min_minutes_per_hour * 60
    )
    sums = (sk.em_pm, sk.em_so2, sk.em_nox)
    fired = sk.em_fire
    means = {
        k: round(v / fired, 2) if fired else 0.0 for k, v in zip(_POLLUTANTS, sums, strict=True)
    }
    ref_o2 = reference_o2(s, sk)
    limits = {
        "particulates": s.emission_particulates_mg_m3,
        "so2": s.emission_so2_mg_m3,
        "nox": s.emission_nox_mg_m3,
    }
    ctx.output.metric(hour_metric(sk, sk.em_hour, sk.em_n, sums, fired, state))
    hours = sk.d_hours
    hours[state] = hours.get(state, 0) + 1
    if state == RUNNING and complete:
        hours["running_valid"] = hours.get("running_valid", 0) + 1
    if s.revision_horizon_s and sk.em_n < 3600 // s.interval_s:  # a late upload may fill it
        hour = [sk.em_hour, sk.em_n, *sums, fired, state]
        if sk.hours is None:
            sk.hours = [hour]
        else:
            sk.hours.append(hour)
    if state != RUNNING:
        # start-up, shutdown and stopped hours are flagged, not judged; an exceedance ends
        # when the boiler leaves normal operation (its emissions are no longer comparable)
        if sk.emission is not None:
            ctx.book.resolve(sk.emission, hour_start, ended_by=state)
            sk.emission = None
        return
    if not complete:
        return  # an hour with too few readings is neither a breach nor a recovery
    over = {k: v for k, v in means.items() if v > limits[k]}
    if over and sk.emission is None:
        sk.emission = ctx.book.open_group(
            IncidentKind.EMISSION_EXCEEDANCE,
            (EntityType.HEAT_STATION, ss.station_id),
            ss,
            hour_start,
            Severity.WARNING,
            affected=(0, 0),  # the air around it, not its households' heat
            details={
                "pollutants": sorted(over),
                "hourly_means_mg_m3": means,
                "limits_mg_m3": limits,
                "reference_o2_pct": ref_o2,
                "fuel": sk.station.design.fuel.value if sk.station.design.fuel else None,
                "operating_state": state,
            },
        )
    elif not over and sk.emission is not None:
        ctx.book.resolve(sk.emission, hour_start, hours_compliant_from=hour_start)
        sk.emission = None


def close_stack_day(ctx: DetectorContext, sk: StackState, day: int) -> None:
    """Judge the day's last hour (all its readings are in when the day closes) and write the
    stack's ``stack_emission_daily`` point: hours by operating state and data completeness
    (valid running hours of running hours: the share the county can rely on)."""
    day_end = day_start_s(day) + DAY_S
    if sk.em_hour >= 0 and sk.em_n and sk.em_hour * 3600 < day_end:
        _judge_hour(ctx, sk)
        sk.em_hour, sk.em_n, sk.em_fire, sk.em_s = -1, 0, 0, 0
        sk.em_pm, sk.em_so2, sk.em_nox = 0.0, 0.0, 0.0
    hours = sk.d_hours
    if not hours and not sk.last_ts:
        return  # a stack that never reported: its silence is the station's comm_loss
    reported = sum(hours.get(k, 0) for k in (RUNNING, STARTUP, SHUTDOWN, STOPPED))
    running = hours.get(RUNNING, 0)
    fields: dict[str, Any] = {
        "hours_running": running,
        "hours_running_valid": hours.get("running_valid", 0),
        "hours_startup": hours.get(STARTUP, 0),
        "hours_shutdown": hours.get(SHUTDOWN, 0),
        "hours_stopped": hours.get(STOPPED, 0),
        "hours_missing": max(0, 24 - reported),
    }
    if running:
        fields["completeness"] = round(hours.get("running_valid", 0) / running, 4)
    ss = sk.station
    ctx.output.metric(
        Metric(
            "stack_emission_daily",
            {"county": ss.county, "heat_station_id": ss.station_id},
            fields,
            day_start_s(day),
        )
    )
    sk.d_hours = {}
