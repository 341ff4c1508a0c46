"""Benchmark: generate and serialise a city-day (191,634 households, 15-minute cadence)."""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from producers.simulate import Simulation, SimulationConfig


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=191_634)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--batches", action="store_true")
    parser.add_argument("--no-faults", action="store_true")
    args = parser.parse_args()
    config = SimulationConfig(
        households=args.households,
        days=args.days,
        batches=args.batches,
        faults=not args.no_faults,
    )
    t0 = time.perf_counter()
    sim = Simulation(config)
    t_build = time.perf_counter() - t0
    written = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "readings.jsonl"
        t1 = time.perf_counter()
        with path.open("wb") as fh:
            for chunk in sim.chunks():
                fh.write(chunk)
                written += len(chunk)
        t_gen = time.perf_counter() - t1
    total = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"households        {sim.fleet.size:,}")
    print(f"intervals         {sim.n_intervals}")
    print(f"lines             {sim.lines:,}")
    print(f"readings          {sim.readings:,}")
    print(f"fleet+plan build  {t_build:.2f} s")
    print(f"generate+write    {t_gen:.2f} s")
    print(f"total             {total:.2f} s")
    print(f"readings/s        {sim.readings / t_gen:,.0f}")
    print(f"MB written        {written / 1e6:,.1f}")
    print(f"peak RSS          {rss_mb:,.0f} MB")


if __name__ == "__main__":
    main()
