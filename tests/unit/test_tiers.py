"""The two tiers of tests/unit: the fast one (`make unit`, ``-m "not slow"``) does no I/O beyond
temporary files — the autouse guard in conftest.py refuses subprocesses and network sockets
there — and `make test` still runs every tier."""

from __future__ import annotations

import re
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_fast_tier_refuses_a_subprocess() -> None:
    with pytest.raises(pytest.fail.Exception, match="started a subprocess"):
        subprocess.run(["true"], check=False)


def test_the_fast_tier_refuses_network_sockets() -> None:
    with socket.socket() as s, pytest.raises(pytest.fail.Exception, match="network socket"):
        s.connect(("127.0.0.1", 9))
    with socket.socket() as s, pytest.raises(pytest.fail.Exception, match="network socket"):
        s.bind(("127.0.0.1", 0))
        s.listen()
    with pytest.raises(pytest.fail.Exception, match="network address"):
        socket.getaddrinfo("example.org", 443)


def test_the_fast_tier_keeps_local_socket_pairs() -> None:
    a, b = socket.socketpair()  # what an asyncio event loop wakes itself with
    with a, b:
        a.sendall(b"x")
        assert b.recv(1) == b"x"


@pytest.mark.slow
def test_the_slow_tier_may_start_a_subprocess() -> None:
    assert subprocess.run(["true"], check=False).returncode == 0


def _recipe(target: str) -> str:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    m = re.search(rf"^{target}:[^\n]*\n((?:\t[^\n]*\n)+)", text, re.MULTILINE)
    assert m, f"no `{target}` target in the Makefile"
    return m[1]


def test_make_unit_is_the_fast_tier_and_make_test_runs_every_tier() -> None:
    assert 'pytest tests/unit -m "not slow"' in _recipe("unit")
    assert "pytest tests/unit -m slow" in _recipe("slow")
    test = _recipe("test")
    assert "pytest" in test and " -m " not in test, "make test must run every tier"
    addopts = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert not re.search(r"^addopts = .*-m ", addopts, re.MULTILINE), "addopts must not filter"
