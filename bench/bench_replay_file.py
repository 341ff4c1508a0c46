"""Replay one simulated directory and print readings/s (wall and CPU), peak RSS and the
incident count: the before/after comparison of two trees on the same input.

    PYTHONPATH=<tree> .venv/bin/python bench/bench_replay_file.py SIM_DIR [LABEL]

Run it with each tree on PYTHONPATH in turn (it only uses ``load_registry_csv`` and
``replay``, which every tree has), alternating, on a quiet machine.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from heatwatch.formats.registry_csv import load_registry_csv
from streams.embedded import replay


def main() -> None:
    sim = Path(sys.argv[1])
    label = sys.argv[2] if len(sys.argv) > 2 else str(sim)
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
        f"peak RSS {rss_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()
