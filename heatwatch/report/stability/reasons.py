"""Verdicts, reason codes and the words a county officer reads (zh default, en)."""

from __future__ import annotations

from enum import IntFlag, StrEnum
from typing import Any, Literal

from contract.glossary import EVIDENCE_NOT_RECORDED, EVIDENCE_SOURCES, VERDICTS, label


class Verdict(StrEnum):
    ELIGIBLE = "eligible"
    NOT_YET = "not_yet"
    INSUFFICIENT_DATA = "insufficient_data"
    # Supply was stable but the new heating was barely used (or the home stood empty): the
    # county visits before anything is dismantled (issue 24).
    VISIT_REQUIRED = "visit_required"


# Appended, never reordered: verdict arrays hold indices into this tuple.
VERDICT_ORDER = (
    Verdict.ELIGIBLE,
    Verdict.NOT_YET,
    Verdict.INSUFFICIENT_DATA,
    Verdict.VISIT_REQUIRED,
)


class Reason(IntFlag):
    """Why a verdict was reached; stored per household as a bit mask."""

    NO_DATA = 1
    COVERAGE_LOW = 2
    COLD_DAYS_NO_DATA = 4
    COLD_TEMPERATURE_UNKNOWN = 8
    AVAILABILITY_LOW = 16
    TOO_MANY_LONG_INTERRUPTIONS = 32
    INTERRUPTION_TOO_LONG = 64
    GAS_SHORTFALL = 128
    COLD_AVAILABILITY_LOW = 256
    PARTIAL_SEASON = 512
    ALL_CRITERIA_MET = 1024
    SEASON_NOT_COVERED = 2048
    COLD_HOME_DAYS = 4096
    UNDER_USED = 8192  # 疑似未使用/复烧: far below peers on cold days with supply
    HOME_EMPTY = 16384  # 疑似空置: empty for weeks, too few days to judge use


# Reasons that make a household not_yet (the system did not work well enough).
FAILURE_REASONS = (
    Reason.AVAILABILITY_LOW
    | Reason.TOO_MANY_LONG_INTERRUPTIONS
    | Reason.INTERRUPTION_TOO_LONG
    | Reason.GAS_SHORTFALL
    | Reason.COLD_AVAILABILITY_LOW
    | Reason.PARTIAL_SEASON
    | Reason.COLD_HOME_DAYS
)
# Reasons that turn an otherwise eligible household into visit_required (use, issue 24).
USE_REASONS = Reason.UNDER_USED | Reason.HOME_EMPTY
# Reasons that make a household insufficient_data (we cannot tell yet).
DATA_REASONS = (
    Reason.NO_DATA
    | Reason.COVERAGE_LOW
    | Reason.COLD_DAYS_NO_DATA
    | Reason.COLD_TEMPERATURE_UNKNOWN
    | Reason.SEASON_NOT_COVERED
)

REASON_ORDER: tuple[Reason, ...] = (
    Reason.PARTIAL_SEASON,
    Reason.AVAILABILITY_LOW,
    Reason.COLD_AVAILABILITY_LOW,
    Reason.INTERRUPTION_TOO_LONG,
    Reason.TOO_MANY_LONG_INTERRUPTIONS,
    Reason.GAS_SHORTFALL,
    Reason.COLD_HOME_DAYS,
    Reason.UNDER_USED,
    Reason.HOME_EMPTY,
    Reason.NO_DATA,
    Reason.COVERAGE_LOW,
    Reason.COLD_DAYS_NO_DATA,
    Reason.COLD_TEMPERATURE_UNKNOWN,
    Reason.SEASON_NOT_COVERED,
    Reason.ALL_CRITERIA_MET,
)

REASON_CODES: dict[Reason, str] = {r: (r.name or "").lower() for r in REASON_ORDER}

Lang = str  # "zh" | "en"

_TEXT: dict[str, dict[Reason | str, str]] = {
    "zh": {
        Reason.NO_DATA: "采暖季内没有任何有效数据（请核查计量表和通信）",
        Reason.COVERAGE_LOW: "采暖季有效数据天数 {days_with_data}/{season_days} 天，"
        "低于 {min_coverage:.0%} 的要求",
        Reason.COLD_DAYS_NO_DATA: "最冷的 {coldest_days} 天中仅 {cold_days_with_data} 天有数据，"
        "少于 {min_cold_days_with_data} 天，无法判断严寒天气下的运行情况",
        Reason.COLD_TEMPERATURE_UNKNOWN: "本县采暖季缺少气温数据，无法确定最冷的日子",
        Reason.AVAILABILITY_LOW: (
            "采暖季供热可用率 {availability:.1%}，低于 {min_availability:.0%} 的要求"
        ),
        Reason.COLD_AVAILABILITY_LOW: "最冷的 {coldest_days} 天供热可用率 {cold_availability:.1%}，"
        "低于 {min_cold_availability:.0%} 的要求",
        Reason.INTERRUPTION_TOO_LONG: (
            "最长一次中断 {longest_h:.1f} 小时，超过 {max_h:g} 小时的上限"
        ),
        Reason.TOO_MANY_LONG_INTERRUPTIONS: "超过 {long_h:g} 小时的中断 {long_count} 次，"
        "超过 {max_long} 次的上限",
        Reason.GAS_SHORTFALL: "燃气供应不足累计 {gas_h:.1f} 小时，超过 {max_gas_h:g} 小时的上限",
        Reason.COLD_HOME_DAYS: "供水低于供热曲线或室温不达标超过 {cold_home_day_hours:g} 小时的天数 "
        "{cold_home_days} 天，超过 {max_cold_home_days} 天的上限",
        Reason.PARTIAL_SEASON: "改造于 {completed} 完工，晚于采暖季开始（{season_start}），"
        "尚未运行满一个完整采暖季",
        Reason.ALL_CRITERIA_MET: "各项指标均达标：有效数据 {days_with_data}/{season_days} 天，"
        "供热可用率 {availability:.1%}，最冷 {coldest_days} 天可用率 {cold_availability:.1%}，"
        "最长中断 {longest_h:.1f} 小时",
        Reason.SEASON_NOT_COVERED: "数据只覆盖 {data_span}，不是完整的采暖季"
        "（{season_start} 至 {season_end}）：季末前不作“暂不拆除”结论",
        Reason.UNDER_USED: "疑似未使用/复烧：有供热的寒冷日 {use_judged_days} 天中 {use_low_days} 天"
        "用能远低于{use_scope}同类户（单位采暖度日用能中位数为同类户的 {use_ratio:.0%}，"
        "连续 {use_window_days} 天内 {use_worst_share:.0%} 的判定日低于同类户的 "
        "{use_far_ratio:.0%}），须入户核实后再拆除",
        Reason.HOME_EMPTY: "疑似空置：连续 {use_longest_empty} 天几乎无用能，"
        "可判定用能的寒冷日仅 {use_judged_days} 天，不能证明新设施已承担取暖，须入户核实",
    },
    "en": {
        Reason.NO_DATA: "no usable data in the heating season (check the meter and its link)",
        Reason.COVERAGE_LOW: "usable data on {days_with_data}/{season_days} season days, "
        "below the {min_coverage:.0%} required",
        Reason.COLD_DAYS_NO_DATA: "data on only {cold_days_with_data} of the {coldest_days} "
        "coldest days (needs {min_cold_days_with_data}); cold-weather performance unknown",
        Reason.COLD_TEMPERATURE_UNKNOWN: "no county temperature data: coldest days unknown",
        Reason.AVAILABILITY_LOW: "heat available {availability:.1%} of the season, "
        "below the {min_availability:.0%} required",
        Reason.COLD_AVAILABILITY_LOW: "heat available {cold_availability:.1%} on the "
        "{coldest_days} coldest days, below the {min_cold_availability:.0%} required",
        Reason.INTERRUPTION_TOO_LONG: "longest interruption {longest_h:.1f} h, "
        "above the {max_h:g} h limit",
        Reason.TOO_MANY_LONG_INTERRUPTIONS: "{long_count} interruptions longer than {long_h:g} h, "
        "above the limit of {max_long}",
        Reason.GAS_SHORTFALL: (
            "gas shortfall {gas_h:.1f} h in total, above the {max_gas_h:g} h limit"
        ),
        Reason.COLD_HOME_DAYS: "{cold_home_days} days with more than {cold_home_day_hours:g} h "
        "of supply below the heating curve or a cold home, above the limit of "
        "{max_cold_home_days}",
        Reason.PARTIAL_SEASON: "retrofit completed {completed}, after the season start "
        "({season_start}): not yet a full heating season",
        Reason.ALL_CRITERIA_MET: "all criteria met: data on {days_with_data}/{season_days} days, "
        "heat available {availability:.1%}, {cold_availability:.1%} on the {coldest_days} "
        "coldest days, longest interruption {longest_h:.1f} h",
        Reason.SEASON_NOT_COVERED: "the data cover only {data_span}, not the whole season "
        "({season_start} to {season_end}): no 'not yet' verdict before the season is observed",
        Reason.UNDER_USED: "suspected unused / back to coal: on {use_low_days} of "
        "{use_judged_days} cold days with supply, use was far below {use_scope_en} peers of the "
        "same type (median use per degree-day {use_ratio:.0%} of peers; {use_worst_share:.0%} of "
        "judged days in {use_window_days} days below {use_far_ratio:.0%}); visit before "
        "dismantling",
        Reason.HOME_EMPTY: "suspected empty: almost no energy for {use_longest_empty} days in a "
        "row and only {use_judged_days} cold days to judge use: no evidence the new heating "
        "carried the home; visit before dismantling",
    },
}


def check_lang(lang: str) -> str:
    if lang not in _TEXT:
        raise ValueError(f"unknown language {lang!r}; use one of: {', '.join(_TEXT)}")
    return lang


def verdict_text(verdict: Verdict, lang: str = "zh") -> str:
    """The verdict's term from the one glossary."""
    return label(VERDICTS, verdict.value, "zh" if check_lang(lang) == "zh" else "en")


def reason_text(reason: Reason, values: dict[str, Any], lang: str = "zh") -> str:
    template = _TEXT[check_lang(lang)][reason]
    try:
        return template.format(**values)
    except (KeyError, ValueError, TypeError):
        return template.split("{")[0].rstrip("：: ,，") or REASON_CODES[reason]


def reason_texts(
    masks: list[int], values: dict[str, list[Any]], lang: str = "zh", sep: str | None = None
) -> list[str]:
    """``sep.join(reason_text(r, values_i, lang) for r in reasons_in(masks[i]))`` for every
    household ``i`` (``values``: one list per key, as ``SeasonResult.values_columns``).

    The reasons of each distinct mask are decoded once; a household's values dict is built
    from the columns only when one of its reasons quotes figures.
    """
    check_lang(lang)
    if sep is None:
        sep = "；" if lang == "zh" else "; "
    keys = list(values)
    cols = [values[k] for k in keys]
    by_mask: dict[int, tuple[list[Reason], str | None]] = {}
    out: list[str] = []
    append = out.append
    for i, m in enumerate(masks):
        hit = by_mask.get(m)
        if hit is None:
            rs = reasons_in(m)
            # Masks whose texts quote nothing are the same for every household.
            fixed = (
                None
                if any("{" in _TEXT[lang][r] for r in rs)
                else sep.join(reason_text(r, {}, lang) for r in rs)
            )
            hit = by_mask[m] = (rs, fixed)
        rs, fixed = hit
        if fixed is not None:
            append(fixed)
            continue
        vals = {k: col[i] for k, col in zip(keys, cols, strict=True)}
        append(sep.join([reason_text(r, vals, lang) for r in rs]))
    return out


def evidence_texts(masks: list[int], parts: tuple[str, ...], lang: str = "zh") -> list[str]:
    """What each verdict rests on, in the glossary's words: ``换热站供热＋室温采集`` for a bit
    mask over ``parts`` (``SeasonResult.evidence``); 未记录 when no day recorded it."""
    check_lang(lang)
    sep = "＋" if lang == "zh" else " + "
    cache: dict[int, str] = {}
    out: list[str] = []
    for m in masks:
        text = cache.get(m)
        if text is None:
            lg: Literal["zh", "en"] = "zh" if lang == "zh" else "en"
            names = [label(EVIDENCE_SOURCES, p, lg) for b, p in enumerate(parts) if m & (1 << b)]
            none = EVIDENCE_NOT_RECORDED.zh if lang == "zh" else EVIDENCE_NOT_RECORDED.en
            text = cache[m] = sep.join(names) or none
        out.append(text)
    return out


def reasons_in(mask: int) -> list[Reason]:
    return [r for r in REASON_ORDER if mask & r]


def reason_codes(mask: int) -> list[str]:
    return [REASON_CODES[r] for r in reasons_in(mask)]
