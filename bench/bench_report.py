"""Benchmark: the whole city (191,634 households x 121 season days) through `report season`.

    PYTHONPATH=. .venv/bin/python bench/bench_report.py [--households N] [--dir DIR]
    PYTHONPATH=. .venv/bin/python bench/bench_report.py --influx-days 3   # production store

``--influx-days D`` instead writes the first D days of the synthetic rollups to a scratch
bucket of the running stack (HEATWATCH_STACK_DIR/stack.env or HEATWATCH_INFLUX_*), reads
them back through the report's InfluxDB source in a fresh process (time, peak RSS) and
extrapolates to the season: the source reads one day per query, so the season costs
121 × a day. The bucket is deleted afterwards.

Synthesises rollups as Parquet (one row group per day, vectorised) and a registry CSV, then
times load + evaluate + render (PDF, HTML, XLSX, CSV) in a fresh process and prints seconds,
peak RSS and rows/s.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from contract.geography import COUNTY_NAMES as COUNTIES

RETROFITS = {
    "district_heating": 60836, "boiler_ultra_low_emission": 61200, "coal_to_electric": 37321,
    "coal_to_gas": 10266, "biomass_chp": 11917, "biomass_district": 4037, "wind_electric": 800,
    "solar": 5257,
}  # fmt: skip
DEVICE = {"coal_to_electric": "storage_heater", "coal_to_gas": "gas_boiler",
          "wind_electric": "direct_electric", "solar": "solar_thermal"}  # fmt: skip
PRIORITY = ["none", "kindergarten", "school", "elderly_home", "hardship"]
SEASON_START = date(2021, 11, 15)
SEASON_DAYS = 121


def synthesise(n: int, out: Path, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / "rollups").mkdir(exist_ok=True)
    ids = np.char.add("HH", np.char.zfill(np.arange(n).astype(str), 7))
    county = rng.integers(0, len(COUNTIES), n)
    village = rng.integers(0, 120, n)
    shares = np.array(list(RETROFITS.values()), float)
    retrofit = rng.choice(len(shares), n, p=shares / shares.sum())
    rnames = np.array(list(RETROFITS))
    prio = rng.choice(len(PRIORITY), n, p=[0.97, 0.003, 0.007, 0.005, 0.015])
    is_gas = rnames[retrofit] == "coal_to_gas"
    lat = 38.4 + county * 0.08 + rng.normal(0, 0.02, n) + village * 0.001
    lon = 111.6 + (county % 5) * 0.3 + rng.normal(0, 0.02, n) + village * 0.001
    county_names = np.array(COUNTIES)[county]
    village_names = np.char.add(np.char.add(county_names, "第"), village.astype(str)) + "村"
    devices = np.array([DEVICE.get(r, "district") for r in rnames])[retrofit]
    old = rng.random(n) < 0.9
    reg = pa.table({
        "household_id": ids, "county": county_names, "village": village_names,
        "retrofit_type": rnames[retrofit], "heating_device": devices,
        # the contract: coal-to-gas households have a gas station and no feeder
        "feeder_id": np.where(is_gas, "", np.char.add("F", (county * 1000 + village).astype(str))),
        "gas_station_id": np.where(is_gas, np.char.add("G", village.astype(str)), ""),
        "priority_group": np.array(PRIORITY)[prio], "rated_kw": np.full(n, 8.0),
        "lat": np.round(lat, 5), "lon": np.round(lon, 5),
        "retrofit_completed": np.full(n, "2021-10-10"),
        "old_heating_present": np.where(old, "true", "false"),
    })  # fmt: skip
    pacsv.write_csv(reg, out / "registry.csv")

    # Per-household propensities: most systems are fine, some are flaky, some lose data.
    p_out = np.where(rng.random(n) < 0.08, 0.06, 0.004)
    p_gap = np.where(rng.random(n) < 0.05, 0.25, 0.01)
    p_short = np.where(is_gas, np.where(rng.random(n) < 0.2, 0.04, 0.003), 0.0)
    ids_a = pa.array(ids)
    # What the minutes rest on (HouseholdDay.evidence): networks on their station, 5 % of
    # them with an indoor sensor; the others on their own meter.
    network = ~np.isin(rnames[retrofit], list(DEVICE))
    sensor = network & (rng.random(n) < 0.05)
    evidence = np.where(is_gas, "gas_meter", np.where(network, np.where(
        sensor, "heat_station+indoor", "heat_station"), "electric_meter"))  # fmt: skip
    consts = {
        "county": pa.array(county_names).dictionary_encode(),
        "village": pa.array(village_names).dictionary_encode(),
        "retrofit_type": pa.array(rnames[retrofit]).dictionary_encode(),
        "heating_device": pa.array(devices).dictionary_encode(),
        "priority_group": pa.array(np.array(PRIORITY)[prio]).dictionary_encode(),
        "evidence": pa.array(evidence).dictionary_encode(),
    }
    writer = None
    for k in range(SEASON_DAYS):
        d = SEASON_START + timedelta(days=k)
        seasonal = -10 * np.cos((k - 60) / 121 * np.pi)  # coldest mid-January
        cidx = np.arange(len(COUNTIES))
        ctemp = (-6 + seasonal - cidx * 0.5 + rng.normal(0, 3, len(COUNTIES))).astype(np.float32)
        gap = rng.random(n) < p_gap
        ep = rng.random(n) < p_out
        sh = rng.random(n) < p_short
        outage = np.where(ep, np.minimum(rng.exponential(150, n), 1440), 0).astype(np.float32)
        short = np.where(sh, np.minimum(rng.exponential(90, n), 1440 - outage), 0)
        short = short.astype(np.float32)
        no_data = np.where(gap, 1440 - outage - short, 0).astype(np.float32)
        avail = (1440 - outage - short - no_data).astype(np.float32)
        tbl = pa.table({
            "household_id": ids_a, "day": pa.array(np.full(n, d), pa.date32()),
            **{k2: v for k2, v in consts.items() if k2 in ("county", "village")},
            "retrofit_type": consts["retrofit_type"],
            "heating_device": consts["heating_device"],
            "priority_group": consts["priority_group"],
            "readings": np.where(gap, 0, 96).astype(np.int32),
            "heating_available_minutes": avail, "outage_minutes": outage,
            "shortfall_minutes": short, "no_data_minutes": no_data,
            "interruptions": (ep.astype(np.int32) + sh.astype(np.int32)),
            "energy_kwh": rng.uniform(20, 60, n).astype(np.float32),
            "valley_kwh": rng.uniform(10, 40, n).astype(np.float32),
            "valley_share": pa.nulls(n, pa.float32()),
            "gas_m3": np.where(is_gas, rng.uniform(3, 9, n), 0).astype(np.float32),
            "county_min_temp_c": ctemp[county],
            "county_mean_temp_c": (ctemp[county] + 6).astype(np.float32),
            "evidence": consts["evidence"],
        })  # fmt: skip
        if writer is None:
            writer = pq.ParquetWriter(out / "rollups" / "household_days.parquet", tbl.schema)
        writer.write_table(tbl, row_group_size=n)
    assert writer is not None
    writer.close()


def measure(run: Path, out: Path, lang: str) -> dict[str, float]:
    from heatwatch.report.loading import ParquetRollups, load_registry
    from heatwatch.report.season import run_season
    from heatwatch.report.stability import StabilityPolicy

    marks: dict[str, float] = {}
    t0 = time.perf_counter()
    last = [t0]

    def step(name: str) -> None:
        now = time.perf_counter()
        marks[f"before_{name}"] = round(now - last[0], 2)
        last[0] = now

    reg = load_registry(run / "registry.csv")
    marks["registry"] = round(time.perf_counter() - t0, 2)
    last[0] = time.perf_counter()
    res = run_season(
        ParquetRollups(run / "rollups" / "household_days.parquet"),
        reg,
        StabilityPolicy(),
        "2021-2022",
        out,
        lang,
        step=step,
    )
    total = time.perf_counter() - t0
    marks["pdf"] = round(time.perf_counter() - last[0], 2)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    counts = np.bincount(res.result.verdict, minlength=3).tolist()
    return {
        "households": res.households,
        "rows": res.rows,
        "seconds": round(total, 2),
        "peak_rss_mb": round(rss_mb, 1),
        "rows_per_s": round(res.rows / total),
        "eligible_notyet_insufficient": counts,
        "steps_s": marks,
        "pdf_kb": res.pdf.stat().st_size // 1024,
        "xlsx_mb": round(res.xlsx.stat().st_size / 2**20, 1),
    }


def _influx_settings(bucket: str) -> Any:
    import os
    import re

    from pydantic import SecretStr

    from streams.settings import InfluxSettings

    env = dict(os.environ)
    stack = Path(os.environ.get("HEATWATCH_STACK_DIR", ".stack")) / "stack.env"
    if stack.is_file():
        for line in stack.read_text(encoding="utf-8").splitlines():
            m = re.match(r"^\s*(?:export\s+)?(HEATWATCH_INFLUX_[A-Z_]+)=(.*)$", line)
            if m:
                env.setdefault(m.group(1), m.group(2).strip("'\""))
    return InfluxSettings(
        url=env.get("HEATWATCH_INFLUX_URL", "http://127.0.0.1:8086"),
        token=SecretStr(env.get("HEATWATCH_INFLUX_TOKEN", "heatwatch-dev-token")),
        org=env.get("HEATWATCH_INFLUX_ORG", "heatwatch"),
        bucket=bucket,
    )


def _post(req: Any, tries: int = 30) -> None:
    """The shared stack may be restarted by others meanwhile: wait for it, then retry."""
    import urllib.error
    import urllib.request

    for attempt in range(tries):
        try:
            with urllib.request.urlopen(req, timeout=300) as resp:
                assert resp.status == 204
                return
        except (urllib.error.URLError, ConnectionError) as exc:
            if attempt == tries - 1:
                raise
            why = exc.read()[:200] if isinstance(exc, urllib.error.HTTPError) else b""
            print(f"write failed ({exc} {why!r}); retrying in 5 s", file=sys.stderr)
            time.sleep(5)


def influx_load(run: Path, settings: Any, days: int) -> int:
    """The first ``days`` days of the rollups as the worker writes them (points.py)."""
    import gzip
    import urllib.request

    from contract.rollups import HouseholdDay
    from streams.sinks.points import household_day_line

    pf = pq.ParquetFile(run / "rollups" / "household_days.parquet")
    url = (f"{settings.url}/api/v2/write?org={settings.org}&bucket={settings.bucket}"
           "&precision=s")  # fmt: skip
    headers = {"Authorization": f"Token {settings.token.get_secret_value()}",
               "Content-Encoding": "gzip"}  # fmt: skip
    n = 0
    for g in range(min(days, pf.num_row_groups)):
        rows = pf.read_row_group(g).to_pylist()
        for k in range(0, len(rows), 5_000):
            body = b"\n".join(
                household_day_line(HouseholdDay.model_validate(r)) for r in rows[k : k + 5_000]
            )
            _post(urllib.request.Request(url, gzip.compress(body, 1), headers, method="POST"))
        n += len(rows)
    return n


def influx_measure(bucket: str, days: int) -> dict[str, object]:
    from heatwatch.report.loading import InfluxRollups
    from streams.sinks.influx_read import InfluxReader

    src = InfluxRollups(InfluxReader(_influx_settings(bucket)))
    t0 = time.perf_counter()
    span = src.day_range()
    t1 = time.perf_counter()
    assert span is not None
    tbl = src.read(SEASON_START, SEASON_START + timedelta(days=SEASON_DAYS - 1))
    t2 = time.perf_counter()
    per_day = (t2 - t1) / days
    return {
        "days_read": days,
        "rows": tbl.num_rows,
        "day_range_query_s": round(t1 - t0, 2),
        "read_s": round(t2 - t1, 2),
        "per_day_s": round(per_day, 2),
        "season_estimate_s": round(t1 - t0 + per_day * SEASON_DAYS, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "arrow_mb_per_day": round(tbl.nbytes / 2**20 / days, 1),
    }


def influx_bench(args: argparse.Namespace, run: Path) -> None:
    from influxdb_client import InfluxDBClient

    settings = _influx_settings(f"hw-bench-report-{int(time.time())}")
    client = InfluxDBClient(url=settings.url, token=settings.token.get_secret_value(),
                            org=settings.org, timeout=600_000)  # fmt: skip
    bucket = client.buckets_api().create_bucket(bucket_name=settings.bucket, org=settings.org)
    try:
        t0 = time.perf_counter()
        rows = influx_load(run, settings, args.influx_days)
        print(f"wrote {rows} household_day points in {time.perf_counter() - t0:.1f}s")
        cmd = [sys.executable, __file__, "--influx-measure", settings.bucket,
               "--influx-days", str(args.influx_days)]  # fmt: skip
        res = subprocess.run(cmd, check=True, capture_output=True, text=True)
        for k, v in json.loads(res.stdout.strip().splitlines()[-1]).items():
            print(f"{k:>30}: {v}")
    finally:
        client.buckets_api().delete_bucket(bucket)
        client.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--households", type=int, default=191_634)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/heatwatch-bench"))
    ap.add_argument("--lang", default="zh")
    ap.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--influx-days", type=int, default=0)
    ap.add_argument("--influx-measure", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    run = args.dir / f"run-{args.households}"
    if args.influx_measure:
        print(json.dumps(influx_measure(args.influx_measure, args.influx_days)))
        return
    if args.measure:
        print(json.dumps(measure(run, args.dir / f"out-{args.households}", args.lang)))
        return
    if not (run / "rollups" / "household_days.parquet").exists():
        t0 = time.perf_counter()
        synthesise(args.households, run)
        print(
            f"synthesised {args.households} x {SEASON_DAYS} rows in {time.perf_counter() - t0:.1f}s"
        )
    if args.influx_days:
        influx_bench(args, run)
        return
    cmd = [sys.executable, __file__, "--measure", "--households", str(args.households),
           "--dir", str(args.dir), "--lang", args.lang]  # fmt: skip
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    figures = json.loads(res.stdout.strip().splitlines()[-1])
    for k, v in figures.items():
        print(f"{k:>30}: {v}")


if __name__ == "__main__":
    main()
