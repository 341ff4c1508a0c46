"""JSON Schemas generated from the contract models (the models are the single source)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import TypeAdapter

from contract import Household, HouseholdDay, Incident
from contract.telemetry import WireMessage

SCHEMAS: dict[str, TypeAdapter[object]] = {
    "registry-row": TypeAdapter(Household),
    "telemetry": TypeAdapter(WireMessage),
    "incident": TypeAdapter(Incident),
    "household-day": TypeAdapter(HouseholdDay),
}


def render_schemas() -> dict[str, str]:
    """File name → deterministic JSON text."""
    out = {}
    for name, adapter in SCHEMAS.items():
        schema = adapter.json_schema(mode="validation")
        schema["$id"] = f"https://heatwatch.invalid/schemas/v1/{name}.schema.json"
        schema.setdefault("title", name)
        out[f"{name}.schema.json"] = (
            json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        )
    return out


def write_schemas(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in render_schemas().items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
