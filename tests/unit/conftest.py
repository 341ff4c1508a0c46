"""Fixtures for every unit test.

* The command line keeps its language and --debug in a process-wide state: reset it after each
  test so a ``--lang en`` run does not change what later tests (in any package) see.
* The fast tier (``make unit``: ``pytest tests/unit -m "not slow"``) does no I/O beyond
  temporary files: outside the ``slow`` marker a test that starts a subprocess or opens a
  network socket fails and says so. Mark such a test ``@pytest.mark.slow`` (the slower tier
  that ``make slow`` and ``make test`` run), or patch the call it makes.
* The fast tier has a time budget (under 60 s on a quiet machine): a test outside the slow tier
  that uses more than ``FAST_TEST_CPU_S`` of CPU is named at the end of the run, so a new
  simulation-sized test is seen when it lands. CPU time, not wall time: a loaded machine slows
  every test, but hardly changes what each one costs.
* The test process's own heap (every imported library, session fixtures) is kept out of the
  cyclic collector's way while a test runs (``gc.freeze``): each replay starts with a full
  collection (``streams.embedded.long_lived_state``), which in a CLI process scans little but
  here scanned the whole test process, ~0.17 s per replay (~11 s of the fast tier). Every
  ``_FULL_COLLECTION_EVERY`` tests the frozen heap is collected once, so garbage left by
  earlier tests does not pile up.
"""

from __future__ import annotations

import gc
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from heatwatch.cli import common

_LOCAL_FAMILIES = {getattr(socket, "AF_UNIX", None)}  # asyncio's self-pipe is a socketpair
FAST_TEST_CPU_S = 6.0  # the largest fast-tier test used ~4 s under load when this was set
_over_budget: list[tuple[float, str]] = []
_FULL_COLLECTION_EVERY = 100
_tests_run = 0


@pytest.fixture(autouse=True)
def _heap_out_of_the_collectors_way() -> Iterator[None]:
    global _tests_run
    _tests_run += 1
    if _tests_run % _FULL_COLLECTION_EVERY == 0:
        gc.collect()  # earlier tests' cyclic garbage, unfrozen at their teardown
    gc.freeze()
    yield
    gc.unfreeze()


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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    started = time.process_time()
    yield
    used = time.process_time() - started
    if used > FAST_TEST_CPU_S and item.get_closest_marker("slow") is None:
        _over_budget.append((used, item.nodeid))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _over_budget:
        return
    terminalreporter.section("fast tier over its per-test budget")
    terminalreporter.write_line(
        f"These tests are not marked slow and each used more than {FAST_TEST_CPU_S:.0f} s of CPU "
        "(setup included); the fast tier (make unit) must stay under 60 s. Mark them "
        "@pytest.mark.slow or make them cheaper on smaller data:"
    )
    for used, nodeid in sorted(_over_budget, reverse=True):
        terminalreporter.write_line(f"  {used:5.1f} s  {nodeid}")
