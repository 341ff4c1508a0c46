"""Replay one simulated directory and print readings/s (wall and CPU), peak RSS and the
incident count: the before/after comparison of two trees on the same input.

    PYTHONPATH=<tree> .venv/bin/python bench/bench_replay_file.py SIM_DIR [LABEL]
        [--gc tuned|default|freeze-only] [--parse-only]

Run it with each tree on PYTHONPATH in turn (it only uses ``load_registry_csv`` and
``replay``, which every tree has), alternating, on a quiet machine.

``--gc``: the replay's collector policy (``streams.embedded.long_lived_state``): ``tuned``
(as shipped: collect, freeze, raised thresholds), ``default`` (Python's own thresholds, no
freeze), ``freeze-only`` (freeze without the collection before it, raised thresholds).
``--parse-only``: afterwards, an ``orjson.loads`` pass over the same file (read and parse
every line, count readings, nothing else) and the replay's share of its rate (issue 23's
target: replay at >= 25% of the parse-only pass), both in CPU time.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import resource
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import orjson

import streams.embedded
from formats.registry_csv import load_registry_csv
from streams.embedded import replay


@contextlib.contextmanager
def _default_gc() -> Iterator[None]:
    yield


@contextlib.contextmanager
def _freeze_only() -> Iterator[None]:
    gc.freeze()
    old = gc.get_threshold()
    gc.set_threshold(200_000, 50, 1_000)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


def parse_only(path: Path) -> tuple[int, float]:
    """(readings, CPU seconds) of reading and ``orjson.loads``-ing every line."""
    readings = 0
    cpu0 = time.process_time()
    loads = orjson.loads
    with path.open("rb") as fh:
        for line in fh:
            try:
                obj = loads(line)
            except orjson.JSONDecodeError:
                readings += 1
                continue
            batch = type(obj) is dict and obj.get("kind") == "batch"
            readings += len(obj["readings"]) if batch else 1
    return readings, time.process_time() - cpu0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sim", type=Path)
    ap.add_argument("label", nargs="?")
    ap.add_argument("--gc", choices=["tuned", "default", "freeze-only"], default="tuned")
    ap.add_argument("--parse-only", action="store_true")
    args = ap.parse_args()
    sim: Path = args.sim
    label = args.label or str(sim)
    if args.gc == "default":
        streams.embedded.long_lived_state = _default_gc  # type: ignore[assignment]
    elif args.gc == "freeze-only":
        streams.embedded.long_lived_state = _freeze_only  # type: ignore[assignment]
    registry, _ = load_registry_csv(sim / "registry.csv")
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as out:
        wall0, cpu0 = time.perf_counter(), time.process_time()
        summary = replay(registry, sim / "readings.jsonl", Path(out))
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    n = summary.data["readings_received"]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{label}: {n:,} readings, wall {wall:.1f} s ({n / wall:,.0f}/s), "
        f"CPU {cpu:.1f} s ({n / cpu:,.0f}/s), incidents {summary.data.get('incidents')}, "
        f"peak RSS {rss_mb:.0f} MB",
        flush=True,
    )
    if args.parse_only:
        parsed, parse_cpu = parse_only(sim / "readings.jsonl")
        print(
            f"{label}: orjson parse-only {parsed:,} readings, CPU {parse_cpu:.2f} s "
            f"({parsed / parse_cpu:,.0f}/s); replay at {(n / cpu) / (parsed / parse_cpu):.1%} of it"
        )


if __name__ == "__main__":
    main()
