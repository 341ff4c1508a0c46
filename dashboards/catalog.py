"""The dashboards by file name, and their JSON with the stable panel ids links rely on."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from dashboards import dispatch, gas, heat, power, season
from dashboards.common import DEFAULT_BUCKET

BUILDERS: dict[str, Callable[[str], dashboard_builders.Dashboard]] = {
    "dispatch-overview": dispatch.build,
    "power": power.build,
    "gas": gas.build,
    "season-stability": season.build,
    "heat": heat.build,
}


def dashboard_json(name: str, bucket: str = DEFAULT_BUCKET) -> dict[str, Any]:
    built = BUILDERS[name](bucket).build()
    data: dict[str, Any] = json.loads(json.dumps(built, cls=JSONEncoder))
    # Stable, unique panel ids (the SDK leaves rows at 0); data links and alerts rely on them.
    for i, panel in enumerate(data.get("panels", []), start=1):
        panel["id"] = i
    return data
