"""Fixtures for every unit test.

* The command line keeps its language and --debug in a process-wide state: reset it after each
  test so a ``--lang en`` run does not change what later tests (in any package) see.
* The fast tier (``make unit``: ``pytest tests/unit -m "not slow"``) does no I/O beyond
  temporary files: outside the ``slow`` marker a test that starts a subprocess or opens a
  network socket fails and says so. Mark such a test ``@pytest.mark.slow`` (the slower tier
  that ``make slow`` and ``make test`` run), or patch the call it makes.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from heatwatch.cli import common

_LOCAL_FAMILIES = {getattr(socket, "AF_UNIX", None)}  # asyncio's self-pipe is a socketpair


@pytest.fixture(autouse=True)
def _reset_cli_state() -> Iterator[None]:
    yield
    common.state.lang = "zh"
    common.state.debug = False


def _refuse(what: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        pytest.fail(
            f"a unit test of the fast tier {what}: tests/unit does no I/O beyond temporary "
            "files outside the slow tier. Mark the test @pytest.mark.slow (run by `make slow` "
            "and `make test`) or patch the call.",
            pytrace=True,
        )

    return refuse


@pytest.fixture(autouse=True)
def _fast_tier_does_no_io(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("slow") is not None:
        yield
        return
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(subprocess.Popen, "_execute_child", _refuse("started a subprocess"))
        # connect or listen, not bind: libraries probe IPv6 by binding ::1 when imported
        for name in ("connect", "connect_ex", "listen"):
            original = getattr(socket.socket, name)

            def guarded(self: socket.socket, *a: Any, _o: Any = original, _n: str = name) -> Any:
                if self.family in _LOCAL_FAMILIES:
                    return _o(self, *a)
                return _refuse(f"opened a network socket ({_n} {a[0] if a else ''})")()

            mp.setattr(socket.socket, name, guarded)
        mp.setattr(socket, "getaddrinfo", _refuse("looked up a network address"))
        yield
