"""Benchmark: what the per-entity alert queries cost InfluxDB once a minute.

    PYTHONPATH=.:bench .venv/bin/python bench/bench_entity_alerts.py [--households-out-per-day N]

Writes 30 days of ``incident`` points (the worker's own line protocol, open + resolved
points) to a scratch bucket of the running stack (HEATWATCH_STACK_DIR/stack.env or
HEATWATCH_INFLUX_*): feeder outages/overloads and gas shortfalls at city scale plus N
household outages a day (a share of them in priority groups, most of them children of feeder
outages), a handful still open at the end. Then runs each per-entity rule's three queries as
Grafana would at the end of the range and prints the median wall time of 5 runs per query
and the series returned. The bucket is deleted afterwards.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench_report import _influx_settings  # type: ignore[import-not-found]

from contract.incidents import EntityType, Incident, IncidentKind, Severity
from dashboards import alerting
from dashboards.common import render_flux
from streams.core.incidents import Change
from streams.sinks.points import incident_line

DAYS = 30


def _incident(i: int, kind: str, entity: tuple[str, str], start: datetime, **kw: Any) -> Incident:
    return Incident(
        incident_id=f"{kind}-{i:08d}",
        kind=IncidentKind(kind),
        severity=Severity(kw.pop("severity", "critical")),
        entity_type=EntityType(entity[0]),
        entity_id=entity[1],
        county="忻府区",
        village=f"村{i % 1700:04d}",
        started_at=start,
        **kw,
    )


def synthesise(end: datetime, households_per_day: int, seed: int = 7) -> list[bytes]:
    rnd = random.Random(seed)
    lines: list[bytes] = []
    n = 0

    def add(inc: Incident, open_at_end: bool) -> None:
        lines.append(incident_line(Change.OPENED, inc.model_copy(update={"ended_at": None})))
        if not open_at_end:
            lines.append(incident_line(Change.RESOLVED, inc))

    for day in range(DAYS):
        base = end - timedelta(days=DAYS - day)
        per_day = [("feeder_outage", "feeder", 20), ("feeder_overload", "feeder", 60),
                   ("gas_supply_shortfall", "gas_station", 5)]  # fmt: skip
        for kind, etype, count in per_day:
            for _ in range(count):
                n += 1
                start = base + timedelta(minutes=rnd.randrange(0, 1380))
                inc = _incident(n, kind, (etype, f"E{rnd.randrange(4000):05d}"), start,
                                ended_at=start + timedelta(minutes=rnd.randrange(15, 240)),
                                households_affected=rnd.randrange(20, 200),
                                priority_households=rnd.randrange(0, 4))  # fmt: skip
                add(inc, open_at_end=day == DAYS - 1 and n % 40 == 0)
        for _ in range(households_per_day):
            n += 1
            start = base + timedelta(minutes=rnd.randrange(0, 1380))
            inc = _incident(n, "household_outage", ("household", f"H{rnd.randrange(191634):07d}"),
                            start, severity="warning",
                            ended_at=start + timedelta(minutes=rnd.randrange(15, 600)),
                            households_affected=1,
                            priority_households=int(rnd.random() < 0.03),
                            parent_id=None if rnd.random() < 0.2 else f"feeder_outage-{n:08d}")  # fmt: skip
            add(inc, open_at_end=day == DAYS - 1 and n % 500 == 0)
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--households-out-per-day", type=int, default=500)
    args = ap.parse_args()
    from influxdb_client import InfluxDBClient, WritePrecision
    from influxdb_client.client.write_api import SYNCHRONOUS

    settings = _influx_settings(f"hw-bench-entity-{int(time.time())}")
    client = InfluxDBClient(url=settings.url, token=settings.token.get_secret_value(),
                            org=settings.org, timeout=600_000)  # fmt: skip
    bucket = client.buckets_api().create_bucket(bucket_name=settings.bucket, org=settings.org)
    end = datetime.now(UTC).replace(microsecond=0)
    try:
        lines = synthesise(end, args.households_out_per_day)
        t0 = time.perf_counter()
        write = client.write_api(write_options=SYNCHRONOUS)
        for i in range(0, len(lines), 20_000):
            write.write(bucket=settings.bucket, record=lines[i : i + 20_000],
                        write_precision=WritePrecision.S)  # fmt: skip
        print(
            f"wrote {len(lines)} incident points ({DAYS} days) in {time.perf_counter() - t0:.1f}s"
        )
        for spec in [s for s in alerting.rule_specs() if s.labels.get("scope") == "entity"]:
            for ref, query in spec.queries.items():
                q = query.replace('from(bucket: "heatwatch")', f'from(bucket: "{settings.bucket}")')
                q = render_flux(q, {}, start=(end - timedelta(seconds=spec.range_s)).isoformat(),
                                stop=(end + timedelta(seconds=5)).isoformat())  # fmt: skip
                times, series = [], 0
                for _ in range(5):
                    t = time.perf_counter()
                    series = len(client.query_api().query(q))
                    times.append(time.perf_counter() - t)
                print(f"{spec.uid:>30} {ref}: median {statistics.median(times):.3f}s, "
                      f"{series} series")  # fmt: skip
    finally:
        client.buckets_api().delete_bucket(bucket)
        client.close()


if __name__ == "__main__":
    main()
