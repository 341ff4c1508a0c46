"""Heat networks (issue 12): detection against the simulator's ground truth per kind, replay
speed, and the checkpoint bytes per heat station, stack and network home.

    PYTHONPATH=. .venv/bin/python bench/bench_heat.py [--households 20000] [--days 2]
        [--seeds 1 2 3]

Prints one table per seed (expected / found / unexpected per incident kind) and the state
figures. Figures, not assertions: the scoring tests assert correctness.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import orjson

from heatwatch.formats.registry_csv import load_registry_csv
from producers.scoring import read_dead_letter_lines, read_incidents, score
from producers.simulate import SimulationConfig, simulate
from streams.core.engine import Engine
from streams.core.persist import export_state
from streams.core.settings import DetectionSettings
from streams.embedded import DirectoryOutput, replay
from streams.ingest import Tally, record_feeder


def _score_seed(households: int, days: int, seed: int, tmp: Path) -> None:
    sim, run = tmp / f"sim-{seed}", tmp / f"run-{seed}"
    simulate(SimulationConfig(households=households, days=days, faults=True, seed=seed), sim)
    registry, _ = load_registry_csv(sim / "registry.csv")
    started = time.perf_counter()
    summary = replay(registry, sim / "readings.jsonl", run)
    wall = time.perf_counter() - started
    readings = summary.data.get("readings_received", 0)
    result = score(
        read_incidents(run / "incidents.jsonl"),
        sim / "ground_truth.jsonl",
        read_dead_letter_lines(run / "dead_letters.jsonl"),
    )
    print(f"\nseed {seed}: {households} households x {days} d, {readings:,} readings, "
          f"replay {wall:.1f} s ({readings / wall:,.0f} readings/s)")  # fmt: skip
    print(f"{'kind':28} {'expected':>9} {'found':>6} {'unexpected':>11}")
    for kind, (exp, found, extra) in result.by_kind().items():
        print(f"{kind:28} {exp:>9} {found:>6} {extra:>11}")
    print(f"missed {len(result.missed)}, wrong parent {len(result.wrong_parent)}")


def _state_bytes(households: int, tmp: Path) -> None:
    """Checkpoint bytes (orjson, before zlib) per heat station, stack and network home, after
    a day: the engine's exported state split by the part that holds it."""
    sim = tmp / "sim-state"
    simulate(SimulationConfig(households=households, days=1, faults=False, seed=5), sim)
    registry, _ = load_registry_csv(sim / "registry.csv")
    engine = Engine(registry, DetectionSettings(), DirectoryOutput(tmp / "state-out"))
    feed = record_feeder(engine, lambda *_: None, Tally())
    with (sim / "readings.jsonl").open("rb") as src:
        for n, line in enumerate(src, start=1):
            feed(line, n)
    state = export_state(engine)
    print(f"\nstate after one day ({households} households, before zlib):")
    for part, noun in (("heat_stations", "station"), ("stacks", "stack"),
                       ("heat_homes", "network home"), ("households", "household")):  # fmt: skip
        entities = state.get(part) or {}
        rows = len(entities)
        size = len(orjson.dumps(entities))
        per = size / rows if rows else 0.0
        print(f"  {part:14} {rows:>7} entities  {size:>10,} B  {per:7.0f} B per {noun}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=2)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-heat-") as tmp:
        for seed in args.seeds:
            _score_seed(args.households, args.days, seed, Path(tmp))
        _state_bytes(args.households, Path(tmp))


if __name__ == "__main__":
    main()
