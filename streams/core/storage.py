"""Off-peak storage use: valley share of storage heaters (peak charging) and feeder load
against rated capacity, including the rebound peak when the valley window opens."""

from __future__ import annotations

from contract.incidents import EntityType, IncidentKind, Severity
from contract.telemetry import FeederReading
from streams.core.clock import day_start_s
from streams.core.context import DetectorContext, Metric, location_fields
from streams.core.revisions import note_gap
from streams.core.state import FeederState, HouseholdState, PeakCharging

# A part of the day (valley, outside it) teaches the base only with this much of it not
# spent charging: a day the heater ran nearly throughout says little about the rest.
_MIN_BASE_S = 2 * 3600


def judge_valley_day(ctx: DetectorContext, st: HouseholdState, day: int) -> float | None:
    """At day close: the household's (whole meter's) valley share, and the peak-charging
    incident's state, judged on the heater's part of the meter.

    A storage home's meter also carries its appliances — and in a village, often a shop or a
    workshop: tens of kWh in the day-time, every day. The whole meter's valley share then
    says how much the home uses by day, not when the heater charges: a healthy heater in a
    shop home, or one barely used or stopped, would read as peak charging. So the judgement
    takes only the heater's part: intervals drawing at least half its rated kW above the
    household's own base draw for that part of the day (``PeakCharging.add``), counted above
    that base. The base is learned per household from its intervals that were not the
    heater, not from a share of its day-time energy: a heater charging on peak every day
    would be learned as "base" by any low percentile of its day-time energy, and mild days
    are not there to learn from when the season starts cold. Rated-kW steps are as clear on
    hourly meters as on 15-min ones (an element is on at full power or cycling at 55-70%).
    A household's first day with readings only teaches the base: its judgement starts a day
    later (the simulator's truth matches daily kinds within two days).

    A day whose heater part is under ``peak_charging_min_rated_hours`` of rated power is not
    judged: the heater barely ran (a mild day, an empty home, or one that stopped heating or
    went back to coal) — that home is the use judgement's case (疑似未使用,
    ``heatwatch/report/stability/use.py``), not this detector's. Such a day leaves an open
    ``peak_charging`` as it is, and the run of bad days too: a day without heating says
    nothing about when the heater charges, and closing it would reopen the same fault as a
    new incident on the next cold day (a timer or contactor wired to the wrong window does not
    mend itself while the heater is off). It closes on a heating day at or above the clear
    share."""
    share = st.d_valley / st.d_energy if st.d_energy > 0 else None
    peak = st.storage
    if peak is None:
        return share
    s = ctx.settings
    hh = st.household
    heat_valley, heat_day = peak.d_heat_valley, peak.d_heat_day
    # Before its first day the household's base is unknown, and a shop's busiest hours may
    # reach half a heater's rating on their own: that day only teaches the base.
    known = peak.base_days > 0
    _learn_base(peak, s.peak_charging_base_days)
    heating_kwh = heat_valley + heat_day
    min_kwh = max(s.peak_charging_min_kwh, s.peak_charging_min_rated_hours * hh.rated_kw)
    if not known or heating_kwh < min_kwh:
        return share
    heater_share = heat_valley / heating_kwh
    details = {"valley_share": round(heater_share, 3), "heating_kwh": round(heating_kwh, 1)}
    if heater_share < s.peak_charging_valley_share:
        days = peak.streak.add(day)
        if peak.peak is None and days >= s.peak_charging_min_days:
            peak.peak = ctx.book.open_household(
                IncidentKind.PEAK_CHARGING,
                hh,
                day_start_s(peak.streak.first),
                Severity.INFO,
                details={"feeder_id": hh.feeder_id, **details},
            )
        elif peak.peak is not None:
            ctx.book.update(peak.peak, details={**peak.peak.details, **details})
    elif heater_share >= s.peak_charging_clear_share:
        peak.streak.clear()
        if peak.peak is not None:
            ctx.book.resolve(peak.peak, day_start_s(day))
            peak.peak = None
    return share


def _learn_base(peak: PeakCharging, days: float) -> None:
    """The day's non-heater draw in and out of the valley into the household's base: the
    mean of its first days, then a running mean over about ``days`` days. A part of the day
    is learned from with 2 h of non-heater intervals — or with any, while it has no base at
    all (a heater that charged nearly all day on its first day leaves little else to see)."""
    peak.settle()
    seen = peak.d_rest_valley_s + peak.d_rest_day_s
    if not seen and not peak.d_heat_valley and not peak.d_heat_day:
        return  # no readings today: nothing to learn, and not a day of the household's
    peak.base_days += 1
    weight = max(1.0 / days, 1.0 / peak.base_days)
    if peak.d_rest_valley_s >= _MIN_BASE_S or (
        peak.base_valley_kw is None and peak.d_rest_valley_s
    ):
        kw = peak.d_rest_valley_kwh * 3600 / peak.d_rest_valley_s
        old = peak.base_valley_kw
        peak.base_valley_kw = kw if old is None else old + weight * (kw - old)
    if peak.d_rest_day_s >= _MIN_BASE_S or (peak.base_day_kw is None and peak.d_rest_day_s):
        kw = peak.d_rest_day_kwh * 3600 / peak.d_rest_day_s
        old = peak.base_day_kw
        peak.base_day_kw = kw if old is None else old + weight * (kw - old)


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
