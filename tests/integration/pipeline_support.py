"""Helpers for the production-path integration tests: run workers, wait for lag 0, read back."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from streams import inspect
from streams.inspect import (
    committed_lag,
    committed_offsets,
    count_in_influx,
    dead_letters,
    household_day_points,
    incident_points,
    incidents_in_influx,
)

__all__ = [
    "PipelineEnv",
    "committed_lag",
    "committed_offsets",
    "count_in_influx",
    "dead_letters",
    "free_port",
    "household_day_points",
    "incident_points",
    "incidents_in_influx",
    "stop",
    "wait_for_lag_zero",
]

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PipelineEnv(inspect.PipelineEnv):
    """The product's ``PipelineEnv`` with the tests' worker settings and process start.

    Default store (``rocksdb://``); a worker's data directory is ``data_dir/<name>``, so a
    worker restarted under the same name reuses it, as in production."""

    def environ(self, name: str, pythonpath: Path | None = None) -> dict[str, str]:
        env = super().environ(name, pythonpath or REPO_ROOT)
        test_settings = {
            "HEATWATCH_WORKER_IDLE_RELEASE_S": "3",
            "HEATWATCH_WORKER_SESSION_TIMEOUT_S": "6",
            "HEATWATCH_WORKER_CHECKPOINT_INTERVAL_S": "1",
            "HEATWATCH_WORKER_HEARTBEAT_INTERVAL_S": "2",
            "HEATWATCH_WORKER_WEB_PORT": str(free_port()),
            "HEATWATCH_WORKER_LOGLEVEL": "info",
        }
        env.update({k: v for k, v in test_settings.items() if k not in self.extra})
        return env

    def start_worker(self, name: str, log_dir: Path) -> subprocess.Popen[bytes]:
        log = (log_dir / f"{name}.log").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "heatwatch.cli.main", "worker"],
            env=self.environ(name),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(REPO_ROOT),
        )


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def wait_for_lag_zero(
    env: PipelineEnv, timeout: float, procs: list[subprocess.Popen[bytes]] | None = None
) -> dict[int, int]:
    deadline = time.monotonic() + timeout
    lag: dict[int, int] = {}
    while time.monotonic() < deadline:
        lag = committed_lag(env)
        if all(v == 0 for v in lag.values()):
            return lag
        for proc in procs or []:
            if proc.poll() is not None:
                raise AssertionError(f"worker exited with {proc.returncode}")
        time.sleep(1)
    raise AssertionError(f"lag did not reach 0 in {timeout} s: {lag}")
