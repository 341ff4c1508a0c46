"""Ground-truth households: each designed to pass or to fail exactly one criterion."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from contract.registry import RetrofitType
from heatwatch.report.stability import (
    HouseholdTable,
    Reason,
    RollupColumns,
    StabilityPolicy,
    Verdict,
    evaluate_season,
    policy_from_mapping,
)
from heatwatch.report.stability.columns import NO_DATE, day_number
from heatwatch.report.stability.reasons import reason_codes, reason_text, reason_texts, reasons_in

SEASON = "2021-2022"
START = date(2021, 11, 15)
N_DAYS = 121  # 2021-11-15 .. 2022-03-15 inclusive
COLD = {date(2022, 1, 10) + timedelta(days=i) for i in range(10)}  # the 10 coldest days
DAYS = [START + timedelta(days=i) for i in range(N_DAYS)]
WARM = [d for d in DAYS if d not in COLD]

Day = tuple[float, float, float, int]  # available, outage, shortfall, interruptions
FULL: Day = (1440.0, 0.0, 0.0, 0)


def temp(d: date) -> float:
    return -25.0 if d in COLD else -5.0 + (d.toordinal() % 7)


class Builder:
    def __init__(self) -> None:
        self.ids: list[str] = []
        self.county: list[int] = []
        self.completed: list[int] = []
        self.retrofit: list[int] = []
        self.evidence: list[str | None] = []
        self.retrofits = [rt.value for rt in RetrofitType]
        self.rows: list[tuple[int, date, Day, float]] = []
        self.counties = ["忻府区", "无温县"]

    def add(
        self,
        hid: str,
        days: dict[date, Day],
        county: int = 0,
        completed: date | None = None,
        with_temp: bool = True,
        retrofit: str = "coal_to_electric",
        evidence: str | None = None,
    ) -> None:
        """``evidence``: HouseholdDay.evidence of every day; ``a|b`` alternates a and b."""
        code = len(self.ids)
        self.ids.append(hid)
        self.county.append(county)
        self.retrofit.append(self.retrofits.index(retrofit))
        choices = evidence.split("|") if evidence else [None]
        self.completed.append(day_number(completed) if completed else NO_DATE)
        for k, (d, v) in enumerate(days.items()):
            self.rows.append((code, d, v, temp(d) if with_temp else float("nan")))
            self.evidence.append(choices[k % len(choices)])

    def build(self) -> tuple[RollupColumns, HouseholdTable]:
        n = len(self.ids)
        table = HouseholdTable(
            ids=self.ids,
            county=np.array(self.county, np.int32),
            counties=self.counties,
            village=np.zeros(n, np.int32),
            villages=["村"],
            retrofit=np.array(self.retrofit, np.int32),
            retrofits=self.retrofits,
            priority=np.zeros(n, np.int32),
            priorities=["none"],
            retrofit_completed=np.array(self.completed, np.int32),
        )
        r = self.rows
        labels = sorted({e for e in self.evidence if e is not None})
        cols = RollupColumns(
            household=np.array([x[0] for x in r], np.int32),
            day=np.array([day_number(x[1]) for x in r], np.int32),
            available=np.array([x[2][0] for x in r], np.float32),
            outage=np.array([x[2][1] for x in r], np.float32),
            shortfall=np.array([x[2][2] for x in r], np.float32),
            no_data=np.array([1440 - sum(x[2][:3]) for x in r], np.float32),
            interruptions=np.array([x[2][3] for x in r], np.int32),
            county_min_temp=np.array([x[3] for x in r], np.float32),
            evidence=np.array(
                [-1 if e is None else labels.index(e) for e in self.evidence], np.int8
            ),
            evidences=labels,
        )
        return cols, table


def full_season(**overrides: Day) -> dict[date, Day]:
    days = dict.fromkeys(DAYS, FULL)
    for k, v in overrides.items():
        days[date.fromisoformat(k)] = v
    return days


def build_cases() -> Builder:
    b = Builder()
    b.add("good", full_season())
    b.add("coverage", {d: FULL for d in DAYS[:100]} | {d: FULL for d in COLD})
    b.add("availability", {d: ((1400.0, 40.0, 0.0, 1) if d in WARM else FULL) for d in DAYS})
    b.add(
        "long_count",
        full_season(**{f"2021-12-0{i}": (1140.0, 300.0, 0.0, 1) for i in range(1, 5)}),
    )
    b.add(
        "longest",
        full_season(
            **{
                "2021-12-10": (840.0, 600.0, 0.0, 1),
                "2021-12-11": (0.0, 1440.0, 0.0, 0),
                "2021-12-12": (1140.0, 300.0, 0.0, 0),
            }
        ),
    )
    b.add(
        "gas",
        full_season(**{f"2021-12-{10 + i}": (1320.0, 0.0, 120.0, 1) for i in range(10)}),
        retrofit="coal_to_gas",
    )
    b.add("cold", {d: ((1260.0, 180.0, 0.0, 3) if d in COLD else FULL) for d in DAYS})
    b.add("no_data", {})
    b.add("cold_no_data", {d: FULL for d in WARM})
    b.add("partial", full_season(), completed=date(2021, 12, 1))
    b.add("no_temp", full_season(), county=1, with_temp=False)
    return b


EXPECTED: dict[str, tuple[Verdict, set[str]]] = {
    "good": (Verdict.ELIGIBLE, {"all_criteria_met"}),
    "coverage": (Verdict.INSUFFICIENT_DATA, {"coverage_low"}),
    "availability": (Verdict.NOT_YET, {"availability_low"}),
    "long_count": (Verdict.NOT_YET, {"too_many_long_interruptions"}),
    "longest": (Verdict.NOT_YET, {"interruption_too_long"}),
    "gas": (Verdict.NOT_YET, {"gas_shortfall"}),
    "cold": (Verdict.NOT_YET, {"cold_availability_low"}),
    "no_data": (Verdict.INSUFFICIENT_DATA, {"no_data"}),
    "cold_no_data": (Verdict.INSUFFICIENT_DATA, {"cold_days_no_data"}),
    "partial": (Verdict.NOT_YET, {"partial_season"}),
    "no_temp": (Verdict.INSUFFICIENT_DATA, {"cold_temperature_unknown"}),
}


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    cols, table = build_cases().build()
    return evaluate_season(cols, table, StabilityPolicy(), SEASON)


@pytest.mark.parametrize("hid", sorted(EXPECTED))
def test_verdict_and_reasons(result, hid: str) -> None:  # type: ignore[no-untyped-def]
    i = result.index_of(hid)
    verdict, codes = EXPECTED[hid]
    assert result.verdict_of(i) is verdict
    assert set(reason_codes(int(result.reasons[i]))) == codes


def test_measured_values(result) -> None:  # type: ignore[no-untyped-def]
    g = result.index_of("good")
    assert result.season_days[g] == N_DAYS
    assert result.days_with_data[g] == N_DAYS
    assert result.availability[g] == pytest.approx(1.0)
    assert result.interruptions[g] == 0
    c = result.index_of("coverage")
    assert result.days_with_data[c] == 100  # the cold days fall inside the first 100
    lo = result.index_of("longest")
    assert result.longest_h[lo] == pytest.approx(39.0)  # 10 h + 24 h + 5 h across midnight
    assert result.interruptions[lo] == 1
    assert result.long_interruptions[lo] == 1
    lc = result.index_of("long_count")
    assert result.long_interruptions[lc] == 4
    assert result.longest_h[lc] == pytest.approx(5.0)
    assert result.gas_shortfall_h[result.index_of("gas")] == pytest.approx(20.0)
    cold = result.index_of("cold")
    assert result.cold_availability[cold] == pytest.approx(1260 / 1440)
    assert result.interruptions[cold] == 30
    assert result.long_interruptions[cold] == 0
    av = result.index_of("availability")
    assert result.availability[av] == pytest.approx(1 - 40 * 111 / (1440 * 121))
    assert result.counties.cold_days[0] == sorted(COLD)
    assert result.counties.cold_days[1] == []


def test_reliability_indices(result) -> None:  # type: ignore[no-untyped-def]
    c = 0  # 忻府区: all households but no_temp
    ids = [h for h in EXPECTED if h != "no_temp"]
    idx = [result.index_of(h) for h in ids]
    assert result.counties.households[c] == len(ids)
    total_h = float(result.lost_h[idx].sum())
    assert result.counties.saidi_h[c] == pytest.approx(total_h / len(ids))
    assert result.counties.saifi[c] == pytest.approx(result.interruptions[idx].sum() / len(ids))
    assert result.interruptions_by_month[c].sum() == result.interruptions[idx].sum()


def test_reason_texts_quote_values(result) -> None:  # type: ignore[no-untyped-def]
    pol = StabilityPolicy()
    i = result.index_of("coverage")
    zh = reason_text(Reason.COVERAGE_LOW, result.values_for(i, pol), "zh")
    assert zh == "采暖季有效数据天数 100/121 天，低于 90% 的要求"
    i = result.index_of("availability")
    en = reason_text(Reason.AVAILABILITY_LOW, result.values_for(i, pol), "en")
    assert en == "heat available 97.4% of the season, below the 98% required"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_reason_texts_match_per_household_texts(result, lang: str) -> None:  # type: ignore[no-untyped-def]
    """The vectorised ledger texts equal the per-household ones, for every household."""
    pol = StabilityPolicy()
    idx = np.arange(len(result.table))[::-1].astype(np.int32)  # any order
    sep = "；" if lang == "zh" else "; "
    expected = [
        sep.join(reason_text(x, result.values_for(i, pol), lang) for x in reasons_in(int(m)))
        for i, m in zip(idx.tolist(), result.reasons[idx].tolist(), strict=True)
    ]
    cols = result.values_columns(pol, idx)
    assert cols == {k: [result.values_for(i, pol)[k] for i in idx.tolist()] for k in cols}
    assert reason_texts(result.reasons[idx].tolist(), cols, lang) == expected
    assert len(set(expected)) > 5


def test_failure_beats_missing_data() -> None:
    """A household with little data but a 30 h outage is not_yet, with both reasons, once the
    data cover the season (another household reports all season)."""
    b = Builder()
    days = {d: FULL for d in DAYS[:40]}
    days[DAYS[5]] = (0.0, 1440.0, 0.0, 1)
    days[DAYS[6]] = (1080.0, 360.0, 0.0, 0)
    b.add("x", days)
    b.add("y", full_season())
    cols, table = b.build()
    res = evaluate_season(cols, table, StabilityPolicy(), SEASON)
    assert res.verdict_of(0) is Verdict.NOT_YET
    assert {"interruption_too_long", "coverage_low"} <= set(reason_codes(int(res.reasons[0])))


def test_no_not_yet_while_the_data_do_not_cover_the_season() -> None:
    """A 3-day run: the 30 h outage is reported, but as insufficient data, not not_yet."""
    b = Builder()
    b.add("x", {DAYS[0]: (0.0, 1440.0, 0.0, 1), DAYS[1]: (0.0, 1440.0, 0.0, 0), DAYS[2]: FULL})
    b.add("y", {d: FULL for d in DAYS[:3]})
    cols, table = b.build()
    res = evaluate_season(cols, table, StabilityPolicy(), SEASON)
    assert not res.fully_covered and res.data_span == "2021-11-15 – 2021-11-17"
    assert [res.verdict_of(i) for i in range(2)] == [Verdict.INSUFFICIENT_DATA] * 2
    codes = set(reason_codes(int(res.reasons[0])))
    assert {"interruption_too_long", "season_not_covered", "coverage_low"} <= codes
    text = reason_text(Reason.SEASON_NOT_COVERED, res.values_for(0, StabilityPolicy()), "zh")
    assert "2021-11-15 – 2021-11-17" in text and "2022-03-15" in text


def test_county_season_override_and_out_of_season_rows() -> None:
    pol = policy_from_mapping(
        {"season": {"counties": {"忻府区": {"start": "12-01", "end": "02-28"}}}}
    )
    b = Builder()
    # A long outage in November falls outside 忻府区's season and must not count.
    b.add("x", full_season(**{"2021-11-20": (0.0, 1440.0, 0.0, 1)}))
    cols, table = b.build()
    res = evaluate_season(cols, table, pol, SEASON)
    assert res.season_days[0] == 90
    assert res.counties.season_start[0] == date(2021, 12, 1)
    assert res.verdict_of(0) is Verdict.ELIGIBLE
    assert res.interruptions[0] == 0
