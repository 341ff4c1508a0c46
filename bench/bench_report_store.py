"""Benchmark: `report season` of the whole city from the worker's results dataset.

    PYTHONPATH=. .venv/bin/python bench/bench_report_store.py [--households N] [--dir DIR]
        [--partitions 24] [--revised 0.02]

Builds a city-scale results dataset (191,634 households x 121 days) directly in the worker's
layout (``formats/worker_dataset.py``), not through Kafka: the synthetic rollups of
``bench/bench_report.py`` split into one segment per partition and day, as the workers write
them, plus a share of households whose day was first emitted with a communication gap and
then revised by a late upload the next morning (a second segment with a later offset, in the
same day directory). Then, each in a fresh process with its wall time and peak RSS:

1. ``heatwatch report season --source dataset`` on the segments as written (the reader
   de-duplicates every day);
2. ``heatwatch dataset compact --all`` (one file per day);
3. ``heatwatch report season --source dataset`` on the compacted dataset.

Both reports' CSV ledgers must equal the ledger from the source Parquet (the revisions carry
the true figures, the first emissions do not): checked, so the timing is of a right answer.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.bench_report import synthesise
from formats import worker_dataset as wd

OFFSETS_PER_DAY = 1_000_000  # a partition's records a day (the offset scale; any will do)


def build_dataset(
    source: Path, root: Path, partitions: int, revised: float, seed: int = 11
) -> dict[str, int]:
    """The source Parquet's days as the workers would have written them."""
    rng = np.random.default_rng(seed)
    pf = pq.ParquetFile(source)
    files = rows = 0
    for k in range(pf.num_row_groups):
        day = pf.read_row_group(k)
        day = day.cast(
            pa.schema(
                [
                    f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f
                    for f in day.schema
                ]
            )
        )
        n = day.num_rows
        part = np.arange(n) % partitions
        late = rng.random(n) < revised
        for p in range(partitions):
            mine = part == p
            base = k * OFFSETS_PER_DAY
            # the day close, at the record that moved the watermark past midnight; the late
            # households' rows as first emitted: their last hours missing (a comm gap)
            first = day.filter(pa.array(mine))
            gap = late[mine]
            first = _with_gap(first, gap)
            files += _write(root, p, base, base + OFFSETS_PER_DAY - 1, first, base + 500_000)
            if gap.any():  # the concentrator's upload next morning: the true figures
                nxt = base + OFFSETS_PER_DAY
                revision = day.filter(pa.array(mine)).filter(pa.array(gap))
                files += _write(root, p, nxt, nxt + 99_999, revision, nxt + 50_000)
            rows += first.num_rows + int(gap.sum())
    return {"files": files, "rows_written": rows}


def _with_gap(tbl: pa.Table, gap: np.ndarray) -> pa.Table:
    if not gap.any():
        return tbl
    g = pa.array(gap)
    avail = tbl.column("heating_available_minutes")
    no_data = tbl.column("no_data_minutes")
    lost = pc.min_element_wise(avail, pa.scalar(180.0, pa.float32()))
    tbl = tbl.set_column(tbl.schema.get_field_index("heating_available_minutes"),
                         "heating_available_minutes", pc.if_else(g, pc.subtract(avail, lost), avail))  # fmt: skip
    return tbl.set_column(tbl.schema.get_field_index("no_data_minutes"), "no_data_minutes",
                          pc.if_else(g, pc.add(no_data, lost), no_data))  # fmt: skip


def _write(root: Path, partition: int, first: int, last: int, rows: pa.Table, offset: int) -> int:
    n = rows.num_rows
    for f in wd.ROLLUP_ROWS_SCHEMA:  # columns the synthetic rollups leave out (evidence)
        if f.name not in rows.column_names and f.name not in ("partition", "offset"):
            rows = rows.append_column(f, pa.nulls(n, f.type))
    rows = rows.append_column("partition", pa.array(np.full(n, partition, np.int32)))
    rows = rows.append_column("offset", pa.array(np.full(n, offset, np.int64)))
    return len(wd.write_segment(root, wd.ROLLUPS, partition, first, last, rows))


def timed(cmd: list[str]) -> dict[str, object]:
    """Wall time and peak RSS of a fresh process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read().decode() if proc.stdout else ""
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({status}):\n{out}")
    return {"seconds": round(time.perf_counter() - t0, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024),
            "output": out.strip().splitlines()[:2]}  # fmt: skip


def report_cmd(dataset: Path, registry: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "heatwatch.cli.main", "report", "season", "--season", "2021-2022",
            "--source", "dataset", "--dataset", str(dataset), "--registry", str(registry),
            "--out", str(out), "--issuer", "bench"]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--households", type=int, default=191_634)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/heatwatch-bench-store"))
    ap.add_argument("--partitions", type=int, default=24)
    ap.add_argument("--revised", type=float, default=0.02, help="share of household-days revised")
    ap.add_argument("--keep", action="store_true", help="reuse a synthesised source if present")
    args = ap.parse_args()
    src, ds = args.dir / "source", args.dir / "dataset"
    if not (args.keep and (src / "registry.csv").exists()):
        t0 = time.perf_counter()
        synthesise(args.households, src)
        print(
            f"synthesised {args.households:,} households x 121 days in {time.perf_counter() - t0:.0f} s"
        )
    shutil.rmtree(ds, ignore_errors=True)
    t0 = time.perf_counter()
    built = build_dataset(
        src / "rollups" / "household_days.parquet", ds, args.partitions, args.revised
    )
    print(f"dataset: {built} in {time.perf_counter() - t0:.0f} s", flush=True)
    reg = src / "registry.csv"
    results: dict[str, object] = {"load_before": os.getloadavg()}
    results["report_segments"] = timed(report_cmd(ds, reg, args.dir / "out-segments"))
    print(json.dumps(results, ensure_ascii=False), flush=True)
    results["compact"] = timed([sys.executable, "-m", "heatwatch.cli.main", "dataset", "compact",
                                "--all", "--dataset", str(ds)])  # fmt: skip
    print(json.dumps(results["compact"], ensure_ascii=False), flush=True)
    results["report_compacted"] = timed(report_cmd(ds, reg, args.dir / "out-compacted"))
    results["files_after_compaction"] = sum(1 for _ in ds.rglob("*.parquet"))
    results["load_after"] = os.getloadavg()
    # the figures are right: both ledgers equal the one from the source Parquet
    truth = args.dir / "out-parquet"
    subprocess.run([sys.executable, "-m", "heatwatch.cli.main", "report", "season", "--season",
                    "2021-2022", "--rollups", str(src / "rollups" / "household_days.parquet"),
                    "--registry", str(reg), "--out", str(truth), "--issuer", "bench"],
                   check=True, capture_output=True)  # fmt: skip
    ledger = "stability-2021-2022.csv"
    want = (truth / ledger).read_bytes()
    results["ledgers_equal_source"] = all(
        (args.dir / o / ledger).read_bytes() == want for o in ("out-segments", "out-compacted")
    )
    results["cpus"] = os.cpu_count()
    results["self_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
