"""A registry cell's problem in the clerk's words: what was found, what is accepted.

The loader (``registry_csv``) knows the row, the column, the value as typed and the
validator's complaint; this module turns the complaint into one Chinese and one English
sentence naming the accepted forms from the glossary. Forms the loader already reads (是/否,
2021/9/5, the glossary's Chinese terms) are listed as accepted, so a message never says a
form is refused when the real problem was another (a month 13, "不确定").
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from contract.glossary import (
    DATE_FORMS,
    HEAT_FUELS,
    HEAT_STATION_KINDS,
    HEATING_DEVICES,
    PRIORITY_GROUPS,
    REGISTRY_COLUMNS,
    RETROFIT_TYPES,
    YES_NO_FORMS,
    Term,
)

# Columns whose cells are one of the glossary's terms (the Chinese term or the code).
TERM_COLUMNS: dict[str, dict[str, Term]] = {
    "retrofit_type": RETROFIT_TYPES,
    "heating_device": HEATING_DEVICES,
    "priority_group": PRIORITY_GROUPS,
    "heat_station_kind": HEAT_STATION_KINDS,
    "heat_station_fuel": HEAT_FUELS,  # 燃煤 / 燃气 / 生物质 (issue 20)
}

_DATE = re.compile(r"^(\d{4})\s*[/.年-]\s*(\d{1,2})\s*[/.月-]\s*(\d{1,2})\s*日?$")


def column_label(column: str) -> str:
    """The column's Chinese label (the template header), or its code."""
    term = REGISTRY_COLUMNS.get(column)
    return term.zh if term is not None else column


def accepted_terms(column: str) -> tuple[str, str]:
    """(zh, en) list of the accepted values of a term column."""
    vocabulary = TERM_COLUMNS[column]
    zh = "、".join(f"“{t.zh}”" for c, t in vocabulary.items() if t.zh)
    en = ", ".join(c for c in vocabulary)
    if column == "priority_group":
        zh += "，或留空（非重点群体）"
        en += " (or empty)"
    return f"{zh}（或代码 {'、'.join(c for c in vocabulary if c != 'none')}）", en


def _bound(ctx: dict[str, Any]) -> tuple[str, str]:
    for key, zh, en in (
        ("gt", "大于", "greater than"),
        ("ge", "大于或等于", "at least"),
        ("lt", "小于", "less than"),
        ("le", "小于或等于", "at most"),
    ):
        if key in ctx:
            return f"{zh} {ctx[key]:g}", f"{en} {ctx[key]:g}"
    return "", ""


_NUMBER_RANGES: dict[str, tuple[str, str]] = {
    "rated_kw": (
        "大于 0、不超过 1000 的千瓦数，如 8.5",
        "a number of kW above 0 up to 1000, e.g. 8.5",
    ),
    "lat": ("-90 到 90 之间的纬度，如 38.88", "a latitude from -90 to 90, e.g. 38.88"),
    "lon": ("-180 到 180 之间的经度，如 111.73", "a longitude from -180 to 180, e.g. 111.73"),
    "gas_quota_m3": ("不小于 0 的立方米数，如 4500", "a number of m³, 0 or more, e.g. 4500"),
}


def _date_problem(raw: str) -> tuple[str, str]:
    m = _DATE.match(raw)
    if m:
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
        if not 1 <= mo <= 12:
            return f"没有 {mo} 月", f"there is no month {mo}"
        try:
            date(y, mo, d)
        except ValueError:
            return f"{y} 年 {mo} 月没有 {d} 日", f"{y}-{mo:02d} has no day {d}"
    return "不是日期", "not a date"


def describe(column: str, raw: str | None, err: dict[str, Any]) -> tuple[str, str]:
    """(zh, en): why the cell was refused, what is accepted. ``err`` is pydantic's error dict
    (``type``, ``msg``, ``ctx``); ``raw`` the cell as typed (None when empty)."""
    kind = str(err.get("type", ""))
    msg = str(err.get("msg", ""))
    found_zh = f"填的是“{raw}”" if raw else "是空的"
    found_en = f"found {raw!r}" if raw else "it is empty"
    if kind == "missing" or (raw in (None, "") and kind in ("string_too_short",)):
        return "必填，不能为空", "required, may not be empty"
    if column in TERM_COLUMNS:
        zh, en = accepted_terms(column)
        return (
            f"{found_zh}，不是可选的类别；可填：{zh}",
            f"{found_en}, not a known value; accepted: {en}",
        )
    if column == "old_heating_present":
        return (
            f"{found_zh}，无法判断是否保留；可填：{YES_NO_FORMS.zh}",
            f"{found_en}, which says neither yes nor no; accepted: {YES_NO_FORMS.en}",
        )
    if column == "retrofit_completed":
        zh, en = _date_problem(raw or "")
        return (
            f"{found_zh}，{zh}；日期可写作 {DATE_FORMS.zh}",
            f"{found_en}: {en}; write dates as {DATE_FORMS.en}",
        )
    if column in _NUMBER_RANGES:
        want_zh, want_en = _NUMBER_RANGES[column]
        if kind in ("float_parsing", "int_parsing", "float_type"):
            return (
                f"{found_zh}，不是数字；应填{want_zh}",
                f"{found_en}, not a number; expected {want_en}",
            )
        bound_zh, bound_en = _bound(err.get("ctx") or {})
        return (
            f"{found_zh}，应{bound_zh}；应填{want_zh}",
            f"{found_en}, must be {bound_en}; expected {want_en}",
        )
    if kind == "string_too_long":
        limit = (err.get("ctx") or {}).get("max_length")
        return f"{found_zh}，太长（最多 {limit} 个字符）", f"{found_en}, too long (at most {limit})"
    if kind.startswith("value_error"):
        return supply_link_zh(msg.removeprefix("Value error, ")), msg.removeprefix("Value error, ")
    return f"{found_zh}：{msg}", f"{found_en}: {msg}"


def supply_link_zh(message: str) -> str:
    """The contract's supply-link rules (``supply_link_problems``) in Chinese."""
    label = {code: term.zh for code, term in RETROFIT_TYPES.items()}
    if m := re.fullmatch(r"(\w+) is required for (\w+) households", message):
        return f"{label.get(m[2], m[2])}用户必须填{column_label(m[1])}"
    if m := re.fullmatch(r"(\w+) must be empty for (\w+) households.*", message):
        return (
            f"{label.get(m[2], m[2])}用户的{column_label(m[1])}应留空（这一列只用于其他改造类型）"
        )
    if message.startswith("heat_station_kind is given without"):
        return f"填了{column_label('heat_station_kind')}，却没有{column_label('heat_station_id')}"
    return message
