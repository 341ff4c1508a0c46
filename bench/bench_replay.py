"""Benchmark: the embedded replay (the detection core end to end on one core).

Prints readings/s over a simulated file of >= 5 M readings (parse + validate + detect + write
results), peak RSS, and detector state bytes per household (measured with tracemalloc on a
separate, smaller run so that tracing does not slow the throughput run).

    python bench/bench_replay.py [--households 60000] [--days 1] [--batches] [--keep DIR]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from formats.registry_csv import load_registry_csv
from producers.simulate import SimulationConfig, simulate
from streams.core.engine import Engine
from streams.core.settings import DetectionSettings
from streams.embedded import replay


def throughput(sim_dir: Path, out_dir: Path) -> None:
    registry, _ = load_registry_csv(sim_dir / "registry.csv")
    summary = replay(registry, sim_dir / "readings.jsonl", out_dir)
    data = summary.data
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size_mb = (sim_dir / "readings.jsonl").stat().st_size / 1e6
    print(f"input               {size_mb:,.0f} MB, {data['lines_read']:,} lines")
    print(f"readings            {data['readings_received']:,}")
    print(f"elapsed             {data['elapsed_s']:.2f} s")
    print(f"readings/s          {data['readings_per_s']:,}  (one core, end to end)")
    print(f"incidents           {data['incidents']:,} {data['incidents_by_kind']}")
    print(f"dead letters        {data['rejected']:,}; duplicates {data['duplicates']:,}")
    print(f"rollup rows         {data['rollup_rows']:,}")
    print(f"peak RSS            {rss_mb:,.0f} MB")


class _Discard:
    def incident(self, change: object, incident: object) -> None: ...
    def rollups(self, days: object) -> None: ...
    def metric(self, metric: object) -> None: ...


def state_size(sim_dir: Path) -> None:
    """Bytes the engine holds per household after a day of data (registry excluded)."""
    from contract.telemetry import WIRE_ADAPTER, Batch

    registry, _ = load_registry_csv(sim_dir / "registry.csv")
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    engine = Engine(registry, DetectionSettings(), _Discard())  # type: ignore[arg-type]
    with (sim_dir / "readings.jsonl").open("rb") as fh:
        for line in fh:
            try:
                msg = WIRE_ADAPTER.validate_json(line)
            except Exception:
                continue
            try:
                if isinstance(msg, Batch):
                    engine.push_batch(msg)
                else:
                    engine.push(msg)
            except Exception:
                continue
    engine.flush()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    n = len(registry)
    print(
        f"state per household {(after - before) / n:,.0f} bytes "
        f"({n:,} households, after {engine.counters.days_closed} day(s), incl. feeders/stations/buffer)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, default=60_000)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--batches", action="store_true")
    parser.add_argument("--state-households", type=int, default=20_000)
    parser.add_argument("--keep", type=Path, help="keep the simulated files here")
    parser.add_argument("--phase", choices=["all", "throughput", "state"], default="all")
    parser.add_argument("--sim-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "throughput":
        throughput(args.sim_dir, args.sim_dir / "run")
        return
    if args.phase == "state":
        state_size(args.sim_dir)
        return
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        big, small = base / "big", base / "small"
        t0 = time.perf_counter()
        simulate(
            SimulationConfig(households=args.households, days=args.days, batches=args.batches), big
        )
        simulate(
            SimulationConfig(households=args.state_households, days=1, batches=args.batches), small
        )
        print(f"simulated inputs in {time.perf_counter() - t0:.1f} s")
        # Each phase in a fresh process: peak RSS and GC state are the replay's own.
        for phase, sim_dir in (("throughput", big), ("state", small)):
            subprocess.run(
                [sys.executable, __file__, "--phase", phase, "--sim-dir", str(sim_dir)], check=True
            )


if __name__ == "__main__":
    main()
