"""Why a record was refused, in words an integrator can act on (shared by all adapters)."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from heatwatch.contract.telemetry import Reading

_READING_ADAPTER: TypeAdapter[Any] = TypeAdapter(Reading)

_TIME_TYPES = {"datetime_parsing", "datetime_type", "datetime_from_date_parsing", "timezone_aware"}
_TYPE_ERRORS = {
    "float_type",
    "float_parsing",
    "int_type",
    "int_parsing",
    "int_from_float",
    "string_type",
    "bool_type",
    "list_type",
    "model_type",
    "dict_type",
    "literal_error",
    "model_attributes_type",
}


def describe_validation_error(exc: ValidationError) -> str:
    """``<category>: <field>: <message>`` for the first error (and how many more)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    etype = first["type"]
    loc = ".".join(str(p) for p in first["loc"] if not _is_union_tag(p)) or "-"
    field = str(first["loc"][-1]) if first["loc"] else ""
    if etype == "json_invalid":
        category = "malformed JSON"
    elif etype in ("union_tag_invalid", "union_tag_not_found"):
        category = "unknown kind" if etype == "union_tag_invalid" else "missing kind"
    elif etype in _TIME_TYPES or field == "ts":
        category = "unparseable time"
    elif etype in ("greater_than_equal", "greater_than") and field in ("kwh", "m3"):
        category = "negative energy" if field == "kwh" else "negative volume"
    elif etype == "missing":
        category = "missing field"
    elif etype in _TYPE_ERRORS:
        category = "wrong type"
    else:
        category = "invalid value"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    message = first["msg"]
    if category == "unparseable time" and etype == "string_pattern_mismatch":
        message = (
            "expected RFC 3339 with a UTC offset, e.g. 2021-12-01T08:15:00+08:00; "
            f"got {first['input']!r}"
        )
    return f"{category}: {loc}: {message}{more}"


def _is_union_tag(part: Any) -> bool:
    return part in ("electric", "gas", "feeder", "gas_station", "weather", "batch")


def validate_batch_readings(line: bytes) -> list[tuple[int, Any, bytes, str]] | None:
    """Validate a batch's readings one by one: ``(index, reading or None, raw, reason)``.

    Returns None when the line is not a batch at all (then the whole line is dead-lettered).
    """
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict) or obj.get("kind") != "batch":
        return None
    readings = obj.get("readings")
    if not isinstance(readings, list) or not isinstance(obj.get("source"), str):
        return None
    out: list[tuple[int, Any, bytes, str]] = []
    for i, item in enumerate(readings):
        raw = orjson.dumps(item)
        try:
            out.append((i, _READING_ADAPTER.validate_json(raw), raw, ""))
        except ValidationError as exc:
            out.append((i, None, raw, describe_validation_error(exc)))
    return out
