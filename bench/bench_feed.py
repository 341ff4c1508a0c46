"""One partition's feed without Kafka: the records ``heatwatch produce`` would send (grouped
by key and instant), decoded and pushed into one engine in batches of 1,000, as the worker's
``Pipeline.handle_batch`` does; prints readings per CPU second (the before/after comparison
of two trees on the same input, without the broker's and the machine's noise).

    PYTHONPATH=<tree> .venv/bin/python bench/bench_feed.py SIM_DIR [LABEL] [--reps 3]

Works on trees whose ``RecordFeed`` has ``add``/``push_added`` (one engine call per batch)
and on older ones (``push`` per record). Run each tree in turn, alternating.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections import Counter
from pathlib import Path
from typing import Any

from formats.registry_csv import load_registry_csv
from producers.kafka_producer import Grouped, Grouper, Router
from streams.core.engine import Engine
from streams.core.settings import DetectionSettings
from streams.records import RecordFeed


class _Discard:
    def incident(self, *_: Any) -> None: ...
    def rollups(self, *_: Any) -> None: ...
    def metric(self, *_: Any) -> None: ...


def grouped_records(sim: Path, registry: Any) -> list[tuple[bytes | None, bytes, Any]]:
    router, grouper = Router(registry), Grouper()
    records: list[tuple[bytes | None, bytes, Any]] = []

    def take(due: list[Grouped]) -> None:
        records.extend((g.key, g.value, g.headers) for g in due)

    with (sim / "readings.jsonl").open("rb") as fh:
        for n, raw in enumerate(fh, 1):
            line = raw.strip()
            if not line:
                continue
            key, _, reading = router.route_reading(line)
            if key is not None and reading is not None:
                take(grouper.add(key, reading.get("ts"), n, line))
            else:
                take(grouper.flush())
                records.append((key, line, [("line", str(n).encode())]))
    take(grouper.flush())
    return records


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sim", type=Path)
    ap.add_argument("label", nargs="?", default="")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    registry, _ = load_registry_csv(args.sim / "registry.csv")
    records = grouped_records(args.sim, registry)
    for rep in range(args.reps):
        engine = Engine(registry, DetectionSettings(), _Discard())
        feed: Any = RecordFeed(0, engine, lambda k, v: None, Counter())
        batched = hasattr(feed, "add")
        gc.collect()
        gc.freeze()  # the worker's GC policy (tune_gc)
        old = gc.get_threshold()
        gc.set_threshold(200_000, 50, 1_000)
        cpu0 = time.process_time()
        for start in range(0, len(records), 1000):
            chunk = enumerate(records[start : start + 1000], start)
            if batched:
                for offset, (key, value, headers) in chunk:
                    feed.add(offset, key, value, headers)
                feed.push_added()
                feed.clear()
            else:
                for offset, (key, value, headers) in chunk:
                    feed.push(offset, key, value, headers)
        engine.flush()
        cpu = time.process_time() - cpu0
        gc.set_threshold(*old)
        gc.unfreeze()
        print(
            f"{args.label} rep {rep + 1}: {len(records):,} records, {feed.readings:,} readings, "
            f"{cpu:.2f} CPU s, {feed.readings / cpu:,.0f} readings per CPU second",
            flush=True,
        )


if __name__ == "__main__":
    main()
