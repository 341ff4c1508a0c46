"""Heat networks (issue 12): detection against the simulator's ground truth per kind, replay
speed, and the checkpoint bytes per heat station, stack and network home.

    PYTHONPATH=. .venv/bin/python bench/bench_heat.py [--households 20000] [--days 2]
        [--seeds 1 2 3] [--start 2021-11-15T00:00:00+08:00] [--no-state]

Prints one table per seed (expected / found / unexpected per incident kind, then found /
missed per heat fault kind, and the heat side's false incidents per station-day) and the
state figures. Figures, not assertions: the scoring tests assert correctness.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime
from pathlib import Path

import orjson

from formats.registry_csv import load_registry_csv
from producers.scoring import read_dead_letter_lines, read_incidents, score
from producers.simulate import SimulationConfig, simulate
from streams.core.engine import Engine
from streams.core.persist import export_state
from streams.core.settings import DetectionSettings
from streams.embedded import DirectoryOutput, replay
from streams.ingest import Tally, record_feeder

HEAT_FAULTS = (
    "heat_station_trip",
    "heat_source_loss",
    "heat_low_then_lost",
    "heat_supply_low",
    "cold_home",
    "emission_exceedance",
    "heat_station_silent",
    "indoor_sensor_silent",
    "heat_meter_no_heat",
)
HEAT_KINDS = {
    "heat_supply_interruption",
    "heat_supply_low",
    "indoor_temp_low",
    "emission_exceedance",
}


def _score_seed(households: int, days: int, seed: int, tmp: Path, start: str) -> None:
    sim, run = tmp / f"sim-{seed}", tmp / f"run-{seed}"
    config = SimulationConfig(
        households=households,
        days=days,
        faults=True,
        seed=seed,
        start=datetime.fromisoformat(start),
    )
    simulate(config, sim)
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
    fleet = orjson.loads((sim / "fleet.json").read_bytes())
    stations = fleet["heat_stations"]
    homes = {h for hs in stations for h in hs["households"]}
    print(f"{'heat fault':24} {'found':>6} {'missed':>7}")
    for fault in HEAT_FAULTS:
        found = sum(1 for e, _ in result.found if e.fault == fault)
        missed = sum(1 for e in result.missed if e.fault == fault)
        print(f"{fault:24} {found:>6} {missed:>7}")
    false = [
        i
        for i in result.unexpected
        if i.kind.value in HEAT_KINDS
        or (i.kind.value == "comm_loss" and (i.entity_id.startswith("HS-") or i.entity_id in homes))
    ]
    station_days = len(stations) * days
    sizes = sorted(len(hs["households"]) for hs in stations)
    print(f"heat stations {len(stations)} ({sizes[0]}-{sizes[-1]} homes), network homes "
          f"{len(homes)}; unexpected heat incidents {len(false)} = "
          f"{len(false) / station_days:.4f} per station-day over {station_days} station-days")  # fmt: skip


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
        entities = state[part]["rows"]  # each entity kind: its class's rows
        rows = len(entities)
        size = len(orjson.dumps(entities))
        per = size / rows if rows else 0.0
        print(f"  {part:14} {rows:>7} entities  {size:>10,} B  {per:7.0f} B per {noun}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=2)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--start", default="2021-12-01T00:00:00+08:00")
    ap.add_argument("--no-state", action="store_true", help="skip the checkpoint-size figures")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-heat-") as tmp:
        for seed in args.seeds:
            _score_seed(args.households, args.days, seed, Path(tmp), args.start)
        if not args.no_state:
            _state_bytes(args.households, Path(tmp))


if __name__ == "__main__":
    main()
