"""`heatwatch dataset compact` and `heatwatch report … --source dataset`: a replay's rollups
and incidents written as worker segments, compacted by the CLI, reported from the dataset
with the same ledger and monthly table as from the replay directory."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from formats import worker_dataset as wd
from formats.registry_csv import load_registry_csv
from heatwatch.cli.dataset import default_before
from heatwatch.cli.main import _mount_subcommands, app
from heatwatch.report.loading import load_incidents
from producers.simulate import SimulationConfig, simulate
from streams.embedded import replay
from streams.sinks.dataset import incident_rows

_mount_subcommands()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    simulate(SimulationConfig(households=120, days=2, seed=3), out / "sim")
    registry, _ = load_registry_csv(out / "sim" / "registry.csv")
    replay(registry, out / "sim" / "readings.jsonl", out / "replay")
    return out


def _as_worker_segments(run: Path, root: Path) -> None:
    """The replay's rows as two partitions' segments, each written twice (a crash replay)."""
    rows = pq.read_table(run / "replay" / "rollups" / "household_days.parquet")
    n = rows.num_rows
    rows = rows.append_column("partition", pa.array([i % 2 for i in range(n)], pa.int32()))
    rows = rows.append_column("offset", pa.array(range(n), pa.int64()))
    for p in (0, 1):
        mine = rows.filter(pa.compute.equal(rows["partition"], p))
        for _ in range(2):
            wd.write_segment(root, wd.ROLLUPS, p, 0, n, mine)
    incidents = load_incidents(run / "replay" / "incidents.jsonl")
    for p in (0, 1):
        mine_i = [
            (k, "opened", i.incident_id, i.started_at.date(), i.model_dump_json())
            for k, i in enumerate(incidents)
            if k % 2 == p
        ]
        wd.write_segment(root, wd.INCIDENTS, p, 0, n, incident_rows(p, mine_i))


@pytest.mark.slow  # four reports rendered (PDF, XLSX) from two sources
def test_reports_from_a_compacted_dataset_equal_the_replays(run: Path, tmp_path: Path) -> None:
    ds = tmp_path / "dataset"
    _as_worker_segments(run, ds)
    cli = CliRunner()
    res = cli.invoke(app, ["--lang", "en", "dataset", "compact", "--all", "--dataset", str(ds)])
    assert res.exit_code == 0, res.output
    # 2 days x (rollups, incidents); 2 partitions a day; the second writes replaced the first
    assert "compacted 4 day partitions (8 files, 0 older revisions or duplicates" in res.output
    assert sorted(p.name[:10] for p in (ds / wd.ROLLUPS).rglob("*.parquet")) == ["compacted-"] * 2
    reg = str(run / "sim" / "registry.csv")
    for source in (["--run", str(run / "replay")], ["--source", "dataset", "--dataset", str(ds)]):
        out = tmp_path / source[0].strip("-")
        month = ["report", "monthly", "--month", "2021-12", "--registry", reg, "--out", str(out)]
        assert cli.invoke(app, [*month, *source]).exit_code == 0
        # A second report set into the same directory is its next version (the first kept).
        season = ["report", "season", "--season", "2021-2022", "--registry", reg,
                  "--out", str(out), "--issue-date", "2022-03-20", "--no-notices",
                  "--new-version"]  # fmt: skip
        res = cli.invoke(app, [*season, *source])
        assert res.exit_code == 0, res.output
    for name in ("monthly-2021-12.csv", "v2/stability-2021-2022.csv"):
        assert (tmp_path / "source" / name).read_bytes() == (tmp_path / "run" / name).read_bytes()


def test_dataset_source_errors_say_what_to_give(tmp_path: Path) -> None:
    cli = CliRunner()
    base = ["--lang", "en", "report", "monthly", "--month", "2021-12", "--out", str(tmp_path)]
    res = cli.invoke(app, [*base, "--source", "dataset"])
    assert res.exit_code == 2 and "--source dataset needs --dataset DIR" in res.output
    res = cli.invoke(app, [*base, "--source", "dataset", "--dataset", str(tmp_path)])
    assert res.exit_code == 2 and "not a results dataset" in res.output
    res = cli.invoke(app, ["--lang", "en", "dataset", "compact", "--dataset", str(tmp_path / "x")])
    assert res.exit_code == 2 and "results dataset not found" in res.output


def test_the_default_compaction_leaves_the_revision_horizon_alone() -> None:
    # a 2-day horizon: a reading of Dec 17 23:45 may arrive until Dec 19 23:45
    assert default_before(date(2021, 12, 20), 2 * 86_400) == date(2021, 12, 17)
