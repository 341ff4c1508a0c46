"""Reports from the production store equal reports from `heatwatch replay` on the same input.

simulator → Kafka → Faust worker → InfluxDB and the worker's results dataset, then `report
season|monthly` from each; the same readings through the embedded runner, then the same
reports from its directory. The ledgers, the monthly tables and the rendered HTML must be
identical, verdict for verdict and figure for figure. A concentrator's late upload (its day
closed, then revised) must end in the same season report as the replay of ordered input.
"""

from __future__ import annotations

import shutil
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from formats import worker_dataset
from formats.registry_csv import load_registry_csv
from heatwatch.cli.report import app as report_app
from heatwatch.report.loading import (
    DatasetRollups,
    InfluxRollups,
    RunInputs,
    dataset_inputs,
    influx_inputs,
    run_dir_inputs,
)
from heatwatch.report.monthly import run_monthly
from heatwatch.report.season import run_season
from heatwatch.report.season_sections import IssueInfo
from heatwatch.report.stability import StabilityPolicy
from producers.simulate import SimulationConfig, simulate
from streams.embedded import replay
from streams.settings import InfluxSettings
from streams.sinks.influx_read import InfluxReader
from tests.integration.conftest import _read_env_file, _stack_dir
from tests.integration.pipeline_support import PipelineEnv, stop, wait_for_lag_zero

# the pipeline tests' environment, producer and cleanup of Faust's own topics
from tests.integration.test_pipeline import _APP_IDS, _delete_app_topics, _env, _produce  # noqa: F401
from tests.unit.streams.pipeline.test_dataset import withhold_upload

PARTITIONS = 3
NOW = datetime(2022, 3, 20, 2, 0, tzinfo=UTC)
ISSUE = IssueInfo(issuer="忻州市清洁取暖工作领导小组办公室", contact="0350-0000000")


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    simulate(SimulationConfig(households=300, days=2, batches=True, faults=True), out)
    return out


def _report_token(env: PipelineEnv) -> str:
    """The report's own read-only token when the stack has one (a secured stack's
    env/report.env, docs/security.md), else the stack's token."""
    stack_dir = _stack_dir()
    same_stack = _read_env_file(stack_dir / "stack.env").get("HEATWATCH_INFLUX_URL")
    report = _read_env_file(stack_dir / "env" / "report.env")
    if (
        same_stack
        and same_stack.rstrip("/") == env.influx_url
        and report.get("HEATWATCH_INFLUX_TOKEN")
    ):
        return report["HEATWATCH_INFLUX_TOKEN"]
    return env.influx_token


def _settings(env: PipelineEnv) -> InfluxSettings:
    return InfluxSettings(url=env.influx_url, token=SecretStr(env.influx_token),
                          org=env.influx_org, bucket=env.bucket)  # fmt: skip


def _wait_for_rollups(env: PipelineEnv, expected: int, timeout: float) -> int:
    """The worker closes the last day when its partitions go idle: wait for every row."""
    rollups = InfluxRollups(InfluxReader(_settings(env)))
    deadline = time.monotonic() + timeout
    n = 0
    while time.monotonic() < deadline:
        n = rollups.read(date(2021, 11, 1), date(2022, 4, 1)).num_rows
        if n >= expected:
            return n
        time.sleep(1)
    return n


def _wait_for_dataset(root: Path, expected: int, timeout: float) -> int:
    """Rows (newest revisions) in the worker's results dataset: written just after InfluxDB
    acknowledged the same commit point, so a moment later."""
    rollups = DatasetRollups((root,))
    deadline = time.monotonic() + timeout
    n = 0
    while time.monotonic() < deadline:
        if root.is_dir():
            n = rollups.read(date(2021, 11, 1), date(2022, 4, 1)).num_rows
            if n >= expected:
                return n
        time.sleep(1)
    return n


def _reports(inputs: RunInputs, out: Path) -> dict[str, bytes]:
    assert inputs.rollups is not None
    season = run_season(inputs.rollups, inputs.registry, StabilityPolicy(), "2021-2022",
                        out, issue=ISSUE, now=NOW, notices=True)  # fmt: skip
    monthly = run_monthly("2021-12", inputs.incidents, inputs.rollups, inputs.registry, out,
                          now=NOW)  # fmt: skip
    files = [season.csv, season.html, *(p for p in season.files if p.suffix == ".html")]
    files += [p for p in monthly if p.suffix in (".csv", ".html")]
    return {p.name: p.read_bytes() for p in files}


def test_reports_from_influx_equal_reports_from_the_replay(
    stack: Any, sim: Path, tmp_path: Path, unique_topic_factory: Any, unique_bucket_factory: Any
) -> None:
    registry, _ = load_registry_csv(sim / "registry.csv")
    summary = replay(registry, sim / "readings.jsonl", tmp_path / "replay")
    expected_rows = int(summary.data["rollup_rows"])
    assert expected_rows > 0
    env = _env(stack, sim, tmp_path, unique_topic_factory, unique_bucket_factory, PARTITIONS)
    _produce(env, sim)
    worker = env.start_worker("w1", tmp_path)
    try:
        wait_for_lag_zero(env, 180, [worker])
        assert _wait_for_rollups(env, expected_rows, 60) == expected_rows
        dataset = env.data_dir / "w1" / "dataset"  # the default: <worker data dir>/dataset
        assert _wait_for_dataset(dataset, expected_rows, 30) == expected_rows
        time.sleep(2)  # the incidents' last points ride in the same flush
    finally:
        stop(worker)

    from_influx = influx_inputs(_settings(env), sim / "registry.csv")
    from_replay = run_dir_inputs(tmp_path / "replay", sim / "registry.csv")
    assert sorted(i.incident_id for i in from_influx.incidents) == sorted(
        i.incident_id for i in from_replay.incidents
    )
    a = _reports(from_influx, tmp_path / "influx")
    b = _reports(from_replay, tmp_path / "replay-out")
    assert a.keys() == b.keys()
    for name in b:
        assert a[name] == b[name], name
    # The CLI's production path: settings from HEATWATCH_INFLUX_*, with the report's own
    # read-only token where the stack made one (the k8s CronJob's case).
    cli_out = tmp_path / "cli"
    res = CliRunner().invoke(
        report_app,
        ["monthly", "--month", "2021-12", "--source", "influx", "--registry",
         str(sim / "registry.csv"), "--out", str(cli_out)],
        env={"HEATWATCH_INFLUX_URL": env.influx_url, "HEATWATCH_INFLUX_TOKEN": _report_token(env),
             "HEATWATCH_INFLUX_ORG": env.influx_org, "HEATWATCH_INFLUX_BUCKET": env.bucket},
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert (cli_out / "monthly-2021-12.csv").read_bytes() == b["monthly-2021-12.csv"]

    # the worker's results dataset: the same reports, as written and once compacted
    from_dataset = dataset_inputs([dataset], sim / "registry.csv")
    assert [i.model_dump_json() for i in from_dataset.incidents] == [
        i.model_dump_json() for i in from_replay.incidents
    ]
    c = _reports(from_dataset, tmp_path / "dataset")
    assert c.keys() == b.keys()
    for name in b:
        assert c[name] == b[name], name
    assert worker_dataset.compact(dataset)
    c = _reports(dataset_inputs([dataset], sim / "registry.csv"), tmp_path / "dataset-compacted")
    assert all(c[name] == b[name] for name in b)
    ds_out = tmp_path / "cli-dataset"
    res = CliRunner().invoke(
        report_app,
        ["monthly", "--month", "2021-12", "--source", "dataset", "--dataset", str(dataset),
         "--registry", str(sim / "registry.csv"), "--out", str(ds_out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert (ds_out / "monthly-2021-12.csv").read_bytes() == b["monthly-2021-12.csv"]
    ledger = b["stability-2021-2022.csv"].decode("utf-8-sig")
    assert ledger.count("\n") == len(registry) + 1  # every household, with a verdict
    assert "数据不足" in ledger
    assert "影响户数" in b["monthly-2021-12.csv"].decode("utf-8-sig")


def _season(inputs: RunInputs, out: Path) -> dict[str, bytes]:
    assert inputs.rollups is not None
    season = run_season(inputs.rollups, inputs.registry, StabilityPolicy(), "2021-2022",
                        out, issue=ISSUE, now=NOW, notices=True)  # fmt: skip
    files = [season.csv, season.html, *(p for p in season.files if p.suffix == ".html")]
    return {p.name: p.read_bytes() for p in files}


def test_a_late_upload_revises_the_dataset_to_the_replays_season_report(
    stack: Any, sim: Path, tmp_path: Path, unique_topic_factory: Any, unique_bucket_factory: Any
) -> None:
    """A concentrator's GPRS outage: its batches of 21:00–23:45 arrive the next morning, after
    their day closed. The worker emits the day, then a revision per backfilled interval; the
    replay (which reads its input in event-time order) never sees them late. The season
    report from the worker's dataset must equal the replay's."""
    lines = (sim / "readings.jsonl").read_bytes().splitlines()
    source = orjson.loads(lines[0])["source"]
    late_sim = tmp_path / "late-sim"
    late_sim.mkdir()
    late = withhold_upload(
        lines, source, "2021-12-01T21:00", "2021-12-01T23:45", "2021-12-02T06:00"
    )
    (late_sim / "readings.jsonl").write_bytes(b"\n".join(late) + b"\n")
    shutil.copy(sim / "registry.csv", late_sim / "registry.csv")
    registry, _ = load_registry_csv(late_sim / "registry.csv")
    summary = replay(registry, late_sim / "readings.jsonl", tmp_path / "replay")
    expected_rows = int(summary.data["rollup_rows"])
    env = _env(stack, late_sim, tmp_path, unique_topic_factory, unique_bucket_factory, PARTITIONS)
    _produce(env, late_sim)
    worker = env.start_worker("w1", tmp_path)
    dataset = env.data_dir / "w1" / "dataset"
    try:
        wait_for_lag_zero(env, 180, [worker])
        assert _wait_for_dataset(dataset, expected_rows, 60) == expected_rows
    finally:
        stop(worker)
    written = sum(
        pq.read_metadata(p).num_rows for p in (dataset / worker_dataset.ROLLUPS).rglob("*.parquet")
    )
    assert written > expected_rows  # closed days were revised (re-emitted) by the late upload
    from_replay = run_dir_inputs(tmp_path / "replay", late_sim / "registry.csv")
    a = _season(dataset_inputs([dataset], late_sim / "registry.csv"), tmp_path / "dataset")
    b = _season(from_replay, tmp_path / "replay-out")
    assert a.keys() == b.keys()
    for name in b:
        assert a[name] == b[name], name
