"""What a table panel shows, without a Grafana server: field overrides applied to query rows.

Applies, per column, what the generated panel JSON tells Grafana to do — display name, value
mappings (value and range), a handful of units — so tests and the docs gallery can check the
words and values a dispatcher reads. Not a Grafana renderer: column order is the query's,
units cover only those the heatwatch tables use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

BEIJING = timezone(timedelta(hours=8))


def column_config(panel: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{column: {"displayName": …, "unit": …, "mappings": […]}}`` from the byName overrides."""
    out: dict[str, dict[str, Any]] = {}
    for override in panel.get("fieldConfig", {}).get("overrides", []):
        if override["matcher"]["id"] == "byName":
            props = out.setdefault(override["matcher"]["options"], {})
            for prop in override["properties"]:
                if prop["id"] == "mappings":
                    props.setdefault("mappings", []).extend(prop["value"])
                else:
                    props[prop["id"]] = prop["value"]
    return out


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp() * 1000.0  # Grafana holds times as epoch milliseconds
    return None


def mapped(value: Any, mappings: Sequence[Mapping[str, Any]]) -> str | None:
    """The text of the first value mapping that matches (Grafana: value maps, then ranges)."""
    for mapping in mappings:
        if mapping["type"] == "value":
            key = value if isinstance(value, str) else _value_key(value)
            hit = mapping["options"].get(key)
            if hit is not None:
                return str(hit["text"])
        elif mapping["type"] == "range":
            n = _number(value)
            opts = mapping["options"]
            if n is not None and opts["from"] <= n <= opts["to"]:
                return str(opts["result"]["text"])
    return None


def _value_key(value: Any) -> str:
    n = _number(value)
    if n is not None and n == int(n):
        return str(int(n))
    return str(value)


def formatted(value: Any, unit: str | None) -> str:
    """A few Grafana units as they read on screen (times in Beijing time)."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        local = value.astimezone(BEIJING)
        if unit and unit.startswith("time:"):
            fmt = unit[5:].replace("YYYY", "%Y").replace("MM", "%m").replace("DD", "%d")
            return local.strftime(fmt.replace("HH", "%H").replace("mm", "%M"))
        return local.strftime("%Y-%m-%d %H:%M:%S")
    if unit and unit.startswith("suffix:"):
        return f"{_plain(value)}{unit[len('suffix:') :]}"
    if unit == "percentunit" and isinstance(value, int | float):
        return f"{value * 100:.1f}%"
    if unit == "s" and isinstance(value, int | float):
        return _duration(float(value))
    suffix = {"kwatt": " kW", "kvoltamp": " kVA", "m3": " m³", "m": " min", "celsius": " °C",
              "conmgm3": " mg/m³"}.get(unit or "", "")  # fmt: skip
    return f"{_plain(value)}{suffix}"


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hour"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.0f} s"


def table_view(
    panel: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], columns: Sequence[str]
) -> tuple[list[str], list[list[str]]]:
    """Header and cells as the table panel shows ``rows`` (only ``columns``, in that order;
    a column the panel hides (``custom.hidden``) is not shown)."""
    config = column_config(panel)
    columns = [c for c in columns if not config.get(c, {}).get("custom.hidden")]
    header = [str(config.get(c, {}).get("displayName", c)) for c in columns]
    cells = []
    for row in rows:
        line = []
        for c in columns:
            conf = config.get(c, {})
            text = mapped(row.get(c), conf.get("mappings", []))
            line.append(text if text is not None else formatted(row.get(c), conf.get("unit")))
        cells.append(line)
    return header, cells


def markdown(header: Sequence[str], cells: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells]
    return "\n".join(lines) + "\n"
