"""Off-peak storage use: valley share of storage heaters (peak charging) and feeder load
against rated capacity, including the rebound peak when the valley window opens."""

from __future__ import annotations

from contract.incidents import EntityType, IncidentKind, Severity
from contract.telemetry import FeederReading
from streams.core.clock import day_start_s
from streams.core.context import DetectorContext, Metric, location_fields
from streams.core.revisions import note_gap
from streams.core.state import FeederState, HouseholdState


def judge_valley_day(ctx: DetectorContext, st: HouseholdState, day: int) -> float | None:
    """At day close: the household's valley share, and the peak-charging incident's state."""
    share = st.d_valley / st.d_energy if st.d_energy > 0 else None
    s = ctx.settings
    # Only days with real heating energy: a barely used heater's day is its appliances', whose
    # valley share says nothing about when it charges (see peak_charging_min_rated_hours).
    heating_kwh = max(
        s.peak_charging_min_kwh, s.peak_charging_min_rated_hours * st.household.rated_kw
    )
    if not st.is_storage or share is None or st.d_energy < heating_kwh:
        return share
    peak = st.storage
    assert peak is not None  # a storage heater's (``HouseholdState``)
    if share < s.peak_charging_valley_share:
        days = peak.streak.add(day)
        if peak.peak is None and days >= s.peak_charging_min_days:
            hh = st.household
            peak.peak = ctx.book.open_household(
                IncidentKind.PEAK_CHARGING,
                hh,
                day_start_s(peak.streak.first),
                Severity.INFO,
                details={"feeder_id": hh.feeder_id, "valley_share": round(share, 3)},
            )
        elif peak.peak is not None:
            details = {**peak.peak.details, "valley_share": round(share, 3)}
            ctx.book.update(peak.peak, details=details)
    elif share >= s.peak_charging_clear_share:
        peak.streak.clear()
        if peak.peak is not None:
            ctx.book.resolve(peak.peak, day_start_s(day))
            peak.peak = None
    return share


def on_feeder(ctx: DetectorContext, fs: FeederState, r: FeederReading, ts: int) -> None:
    """Feeder load vs rated capacity with hysteresis and a minimum duration."""
    s = ctx.settings
    ratio = r.kw / (r.rated_kva * ctx.usable_kw_factor)
    interval_mid = ts - s.interval_s / 2
    in_valley = ctx.valley.contains(interval_mid)
    rebound = (
        in_valley
        and ctx.valley.seconds_since_start(ts - s.interval_s) < s.rebound_window_s
        and fs.pre_valley_kw > 0
        and r.kw >= fs.pre_valley_kw * s.rebound_jump
    )
    if not in_valley:
        fs.pre_valley_kw = r.kw
    if fs.last_ts and ts - fs.last_ts > s.interval_s:  # a late upload may fill it
        note_gap(fs, fs.last_ts, ts - s.interval_s)
    fs.last_ts = ts
    if ratio >= s.overload_ratio:
        if fs.over_streak.n == 0:  # a new run: its rebound and (if none open) its peak
            fs.over_rebound = False
            if fs.overload is None:
                fs.max_ratio = ratio
        run = fs.over_streak.add(ts)
        fs.over_rebound = fs.over_rebound or rebound
        fs.under_streak.clear()
        fs.max_ratio = max(fs.max_ratio, ratio)
        if fs.overload is None and run >= s.overload_min_intervals:
            fs.overload = ctx.book.open_group(
                IncidentKind.FEEDER_OVERLOAD,
                (EntityType.FEEDER, fs.feeder_id),
                fs,
                fs.over_streak.first,
                _overload_severity(ctx, fs.max_ratio),
                affected=(len(fs.members), fs.priority_members),
                details={
                    "rated_kva": r.rated_kva,
                    "max_load_ratio": round(fs.max_ratio, 3),
                    "rebound": fs.over_rebound,
                },
            )
        elif fs.overload is not None:
            ctx.book.update(
                fs.overload,
                severity=_overload_severity(ctx, fs.max_ratio),
                details={**fs.overload.details, "max_load_ratio": round(fs.max_ratio, 3)},
            )
    elif ratio < s.overload_clear_ratio:
        fs.over_streak.clear()
        run = fs.under_streak.add(ts)
        if fs.overload is not None and run >= s.overload_min_intervals:
            ctx.book.resolve(fs.overload, fs.under_streak.first)
            fs.overload = None
    else:
        fs.over_streak.clear()
        fs.under_streak.clear()
    ctx.output.metric(feeder_load_metric(fs, r, ts, ratio, rebound))


def feeder_load_metric(
    fs: FeederState, r: FeederReading, ts: int, ratio: float, rebound: bool
) -> Metric:
    """The feeder's point at ``ts`` (a late reading writes it with the state of now)."""
    return Metric(
        "feeder_load",
        {"county": fs.county, "village": fs.village, "feeder_id": fs.feeder_id},
        {
            "kw": r.kw,
            "rated_kva": r.rated_kva,
            "load_ratio": round(ratio, 4),
            "overloaded": int(fs.overload is not None),
            "rebound": int(rebound),
            **location_fields(fs.location),
        },
        ts,
    )


def _overload_severity(ctx: DetectorContext, ratio: float) -> Severity:
    return Severity.CRITICAL if ratio >= ctx.settings.overload_critical_ratio else Severity.WARNING


def storage_day_metrics(
    feeder: FeederState, shares: list[float], peak_chargers: int, day: int
) -> Metric:
    return Metric(
        "storage_daily",
        {"county": feeder.county, "feeder_id": feeder.feeder_id},
        {
            "storage_households": len(shares),
            "valley_share_mean": round(sum(shares) / len(shares), 4) if shares else 0.0,
            "valley_share_min": round(min(shares), 4) if shares else 0.0,
            "peak_chargers": peak_chargers,
        },
        day_start_s(day),
    )


# The severities this module opens its incidents with (see ``engine.OCCURRING_SEVERITIES``).
SEVERITIES: dict[IncidentKind, tuple[Severity, ...]] = {
    IncidentKind.PEAK_CHARGING: (Severity.INFO,),
    IncidentKind.FEEDER_OVERLOAD: (Severity.WARNING, Severity.CRITICAL),
}
