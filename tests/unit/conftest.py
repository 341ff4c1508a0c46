"""The command line keeps its language and --debug in a process-wide state: reset it after each
test so a ``--lang en`` run does not change what later tests (in any package) see."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from heatwatch.cli import common


@pytest.fixture(autouse=True)
def _reset_cli_state() -> Iterator[None]:
    yield
    common.state.lang = "zh"
    common.state.debug = False
