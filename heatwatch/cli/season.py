"""The heating season's last day for the detection core, from the stability policy.

Season dates live in one place, ``deploy/policy/stability.yaml`` (read by the report layer).
The core may not read it, so the entry points (``replay``, ``demo``, ``worker``) pass the
policy's season end (MM-DD) down in ``DetectionSettings.season_end``; the core projects gas
quotas to its next occurrence, so both runners agree whatever the wall clock says.
An explicit ``HEATWATCH_DETECT_SEASON_END`` still wins (an operator's override).

Per-county season overrides in the policy are used by the reports only: the quota
projection uses the default season.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from heatwatch.cli.common import EXIT_INPUT, CliError, print_error
from heatwatch.cli.report import load_policy
from heatwatch.report.loading import InputError
from heatwatch.report.stability import PolicyError
from streams.core.settings import DetectionSettings
from streams.settings import DetectionEnvSettings

SEASON_END_ENV = "HEATWATCH_DETECT_SEASON_END"


def detection_settings(policy: Path | None = None) -> DetectionSettings:
    """``HEATWATCH_DETECT_*`` settings with the season end of the stability policy.

    Exits with code 2 (bad input) when the policy file is missing or invalid.
    """
    settings = DetectionEnvSettings().core()
    if SEASON_END_ENV in os.environ:
        return settings
    try:
        season_end = load_policy(policy).season.default.end
    except CliError as exc:
        print_error(exc.line())
        raise typer.Exit(exc.code) from exc
    except (InputError, PolicyError) as exc:
        print_error(str(exc))
        raise typer.Exit(EXIT_INPUT) from exc
    data = settings.model_dump()
    data["season_end"] = season_end
    return DetectionSettings.model_validate(data)
