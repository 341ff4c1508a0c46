"""The worker against its Python peer on the same topic (prints figures; issue 23).

    HEATWATCH_STACK_DIR=/work/stack PYTHONPATH=. .venv/bin/python bench/bench_peers.py \
        [--households 10000 --days 2 --rounds 3 --quix-python /work/venv-bench/bin/python]

One simulated input (``heatwatch simulate --batches``), produced once with ``heatwatch
produce`` to a fresh 4-partition topic, then consumed from the start, to committed lag 0, by
each variant in turn, round after round (A B A B: a noisy, shared machine moves both alike):

- ``worker``: ``heatwatch worker`` with its defaults (InfluxDB sink, results dataset,
  checkpoints every 5 s, its GC policy), one process;
- ``quix``: a Quix Streams app running heatwatch's own ``Engine`` per partition through the
  same ingest path (``streams.ingest.record_feeder``), no sink: the same core in a peer's
  consumer loop, committing every 5 s like the worker;
- ``quix-gc``: the same, with the worker's GC policy (``gc.freeze()`` after the engines are
  built, raised thresholds);
- ``worker-default-gc`` (not run unless named): the worker with ``HEATWATCH_WORKER_TUNE_GC=false``.

``--py-spy OUT``: the first worker run is sampled with py-spy (``--py-spy-bin``, 100 Hz,
non-blocking; collapsed stacks written to OUT) and its main thread's samples are summarised
by where they were spent (``profile_shares``).

Each run uses a new consumer group (and the worker a new data directory and bucket). Its rate
is taken between its first committed progress and lag 0 (what survives a crash), as
``bench_pipeline.py`` does; its CPU seconds over the same window from ``/proc/<pid>/stat``
(every thread of the process: librdkafka's, the InfluxDB writer's). Printed per variant: the
median readings/s and its range, median CPU seconds per million readings, and the worker's
ratio to each peer. Quix Streams is an optional dependency (``pip install -e .[bench]``) kept
out of the worker's venv: ``--quix-python`` names the interpreter that has it; the app imports
heatwatch from this tree. Topics and buckets are deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_pipeline import delete_topics, opts, stack_env, stop, use_stack_security  # noqa: E402

from streams.inspect import PipelineEnv, offsets  # noqa: E402

PARTITIONS = 4
CLK_TCK = os.sysconf("SC_CLK_TCK")

# The peer: Quix Streams consuming the topic, heatwatch's Engine per partition, fed by the
# one ingest path. Run with --quix-python (its own venv); argv: topic group registry gc.
QUIX_APP = r"""
import gc, os, sys
from pathlib import Path
from quixstreams import Application, message_context
from quixstreams.kafka.configuration import ConnectionConfig
from contract.keys import registry_by_partition
from formats.registry_csv import load_registry_csv
from streams.core.engine import Engine
from streams.core.settings import DetectionSettings
from streams.ingest import Tally, record_feeder

topic_name, group, registry_path, gc_policy, partitions = sys.argv[1:6]
env = os.environ
protocol = env.get("HEATWATCH_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").lower()
conn = ConnectionConfig(
    bootstrap_servers=env["HEATWATCH_KAFKA_BOOTSTRAP"],
    security_protocol=protocol,
    **(
        {
            "sasl_mechanism": env.get("HEATWATCH_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
            "sasl_username": env["HEATWATCH_KAFKA_SASL_USERNAME"],
            "sasl_password": env["HEATWATCH_KAFKA_SASL_PASSWORD"],
        }
        if protocol.startswith("sasl")
        else {}
    ),
    **({"ssl_ca_location": env["HEATWATCH_KAFKA_SSL_CAFILE"]} if "ssl" in protocol else {}),
)


class Discard:  # no sink: the peer does the detection work only
    def incident(self, change, incident): ...
    def rollups(self, days): ...
    def metric(self, metric): ...


registry, _ = load_registry_csv(Path(registry_path))
split = registry_by_partition(registry, int(partitions))
settings = DetectionSettings()
dead_letters = [0]


def dead(origin, index, raw, reason):
    dead_letters[0] += 1


# Engines are built up front (the worker builds each on assignment): the registry split is
# the same, and neither side's measured window includes it.
feeders = {}
tallies = {}
for p, households in split.items():
    tallies[p] = Tally()
    feeders[p] = record_feeder(Engine(households, settings, Discard()), dead, tallies[p])
if gc_policy == "tuned":  # the worker's policy (streams/pipeline.py, tune_gc)
    gc.collect()
    gc.freeze()
    gc.set_threshold(200_000, 50, 1_000)

app = Application(
    broker_address=conn,
    consumer_group=group,
    auto_offset_reset="earliest",
    commit_interval=5.0,
    loglevel="WARNING",
    use_changelog_topics=False,
    auto_create_topics=False,
    state_dir=env.get("BENCH_QUIX_STATE", "state"),
)
topic = app.topic(topic_name, value_deserializer="bytes", key_deserializer="bytes")


def process(value):
    ctx = message_context()
    p = ctx.partition
    feeders[p](value, (p, ctx.offset, None, None))


app.dataframe(topic).update(process)
app.run()
"""


@dataclass
class Run:
    variant: str
    rate: float  # readings/s
    secs: float
    cpu_per_m: float  # CPU seconds per million readings


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def measure(
    env: PipelineEnv, total: int, per_record: float, proc: subprocess.Popen[bytes], timeout: float
) -> tuple[float, float, float]:
    """(readings/s, seconds, CPU s per M readings) between first committed progress and lag 0."""
    first: tuple[float, int, float] | None = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = sum(offsets(env)[1].values())
        now, cpu = time.perf_counter(), proc_cpu(proc.pid)
        if done > 0 and first is None:
            first = (now, done, cpu)
        if first is not None and done >= total:
            if done == first[1]:
                raise RuntimeError("all committed at once: too small an input to time")
            readings = (done - first[1]) * per_record
            secs = now - first[0]
            return readings / secs, secs, (cpu - first[2]) / readings * 1e6
        if proc.poll() is not None:
            raise RuntimeError(f"process died ({proc.returncode})")
        time.sleep(0.2)
    raise TimeoutError("did not reach lag 0")


def simulate_and_produce(
    args: argparse.Namespace, tmp: Path, topic: str, bootstrap: str
) -> tuple[Path, int, int]:
    """The input, made and sent once with the CLI: (sim dir, readings in the file, records on
    the topic; weather is sent to every partition, so records > lines)."""
    sim = tmp / "sim"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cli = [sys.executable, "-m", "heatwatch.cli.main"]
    t = time.perf_counter()
    subprocess.run(
        [
            *cli,
            "simulate",
            "--households",
            str(args.households),
            "--days",
            str(args.days),
            "--batches",
            "--out",
            str(sim),
        ],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    readings = 0
    with (sim / "readings.jsonl").open("rb") as fh:
        for line in fh:
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:  # the simulator's injected faults: one each
                obj = None
            batch = isinstance(obj, dict) and obj.get("kind") == "batch"
            readings += len(obj["readings"]) if batch else 1  # type: ignore[index]
    print(
        f"simulated {args.households:,} households x {args.days} days in {time.perf_counter() - t:.1f} s"
    )
    subprocess.run(
        [
            *cli,
            "produce",
            "--input",
            str(sim / "readings.jsonl"),
            "--registry",
            str(sim / "registry.csv"),
            "--topic",
            topic,
            "--compression",
            "none",
            "--bootstrap",
            bootstrap,
        ],
        env={**env, "HEATWATCH_KAFKA_PARTITIONS": str(PARTITIONS)},
        check=True,
    )
    records = sum(
        offsets(
            PipelineEnv(
                bootstrap,
                "",
                "",
                "",
                "",
                topic,
                "",
                "",
                PARTITIONS,
                "none",
                sim,
                tmp,
                kafka_options=opts(),
            )
        )[0].values()
    )
    print(f"topic {topic}: {records:,} records, {readings:,} readings")
    return sim, readings, records


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--households", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--variants", default="worker,quix,quix-gc")
    default_quix = Path("/work/venv-bench/bin/python")
    ap.add_argument(
        "--quix-python",
        type=Path,
        default=default_quix if default_quix.exists() else Path(sys.executable),
        help="an interpreter with quixstreams installed (pip install -e .[bench])",
    )
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--py-spy", type=Path, help="sample the first worker run into this file")
    ap.add_argument("--py-spy-bin", default="/work/venv-bench/bin/py-spy")
    args = ap.parse_args()
    variants = args.variants.split(",")
    if any(v.startswith("quix") for v in variants):
        subprocess.run([str(args.quix_python), "-c", "import quixstreams"], check=True)
    stack = stack_env()
    use_stack_security(stack)
    bootstrap = stack["HEATWATCH_KAFKA_BOOTSTRAP"]
    tmp = Path(tempfile.mkdtemp(prefix="hw-peers-"))
    tag = uuid.uuid4().hex[:6]
    try:
        runs = run(args, variants, stack, bootstrap, tmp, tag)
    finally:
        delete_topics(bootstrap, tag)
        shutil.rmtree(tmp, ignore_errors=True)
    report(runs, variants)
    if args.py_spy is not None and args.py_spy.exists():
        profile_shares(args.py_spy)


# Where a sample of the worker's main thread was spent: the first rule matching its stack,
# innermost frame first (so the engine's share is the engine's own work, not what it calls
# into pydantic or the sinks). (label, text in a frame's file path or function)
_SHARES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("checkpoint export (inline or fork)", ("streams/export.py", "streams/checkpoint.py")),
    ("InfluxDB sink / line protocol", ("streams/sinks/",)),
    ("decode: pydantic validate", ("validate_json", "pydantic")),
    ("engine + detectors (streams/core)", ("streams/core/",)),
    ("ingest + pipeline glue", ("streams/",)),
    ("Faust + aiokafka + asyncio", ("faust", "mode/", "aiokafka", "asyncio", "kafka/")),
)


def profile_shares(path: Path) -> None:
    """Print the share of the main thread's samples by ``_SHARES`` (py-spy's raw format:
    one ``frame;frame;… count`` line per stack, outermost first)."""
    totals: dict[str, int] = {}
    all_samples = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or "MainThread" not in stack.split(";", 1)[0]:
            continue
        n = int(count)
        all_samples += n
        frames = stack.split(";")[::-1]
        label = "other"
        for frame in frames:
            hit = next((lab for lab, keys in _SHARES if any(k in frame for k in keys)), None)
            if hit is not None:
                label = hit
                break
        totals[label] = totals.get(label, 0) + n
    print(f"\npy-spy, worker main thread: {all_samples:,} samples ({path})")
    for label, n in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {label:40s} {n / max(all_samples, 1):6.1%}")


def run(
    args: argparse.Namespace,
    variants: list[str],
    stack: dict[str, str],
    bootstrap: str,
    tmp: Path,
    tag: str,
) -> list[Run]:
    from influxdb_client import InfluxDBClient

    topic = f"bench-peers-{tag}"
    sim, readings, records = simulate_and_produce(args, tmp, topic, bootstrap)
    per_record = readings / records
    client = InfluxDBClient(
        url=stack["HEATWATCH_INFLUX_URL"], token=stack["HEATWATCH_INFLUX_TOKEN"], org="heatwatch"
    )
    buckets = client.buckets_api()
    made = []
    runs: list[Run] = []
    try:
        for rnd in range(args.rounds):
            for variant in variants:
                group = f"bench-peers-{tag}-{variant}-{rnd}"
                bucket = buckets.create_bucket(bucket_name=group, org="heatwatch")
                made.append(bucket)
                env = PipelineEnv(
                    bootstrap=bootstrap,
                    influx_url=stack["HEATWATCH_INFLUX_URL"],
                    influx_token=stack["HEATWATCH_INFLUX_TOKEN"],
                    influx_org="heatwatch",
                    bucket=bucket.name,
                    topic=topic,
                    dead_topic=f"bench-peers-dead-{tag}",
                    incident_topic=f"bench-peers-inc-{tag}",
                    partitions=PARTITIONS,
                    app_id=group,
                    registry=sim / "registry.csv",
                    data_dir=tmp / "data",
                    kafka_options=opts(),
                    extra={
                        "HEATWATCH_WORKER_IDLE_RELEASE_S": "3",
                        "HEATWATCH_WORKER_SESSION_TIMEOUT_S": "6",
                        "HEATWATCH_WORKER_HEARTBEAT_INTERVAL_S": "2",
                        "HEATWATCH_WORKER_LOGLEVEL": "warning",
                        **(
                            {"HEATWATCH_WORKER_TUNE_GC": "false"}
                            if variant == "worker-default-gc"
                            else {}
                        ),
                    },
                )
                log = (tmp / f"{group}.log").open("ab")
                if variant.startswith("worker"):
                    cmd = [sys.executable, "-m", "heatwatch.cli.main", "worker"]
                    penv = env.environ(group, REPO)
                else:
                    gc_policy = "tuned" if variant == "quix-gc" else "default"
                    cmd = [str(args.quix_python), "-c", QUIX_APP, topic, group]
                    cmd += [str(sim / "registry.csv"), gc_policy, str(PARTITIONS)]
                    penv = env.environ(group, REPO)  # the stack's address and security
                    penv["BENCH_QUIX_STATE"] = str(tmp / f"quix-{group}")
                proc = subprocess.Popen(
                    cmd, env=penv, stdout=log, stderr=subprocess.STDOUT, cwd=tmp
                )
                spy = None
                if args.py_spy is not None and variant == "worker" and rnd == 0:
                    # attached once the interpreter is up (py-spy cannot read it before)
                    spy = subprocess.Popen(
                        [
                            *("sh", "-c", 'sleep 3; exec "$@"', "py-spy", args.py_spy_bin),
                            *("record", "--pid", str(proc.pid), "--rate", "100"),
                            *("--nonblocking", "--threads", "--format", "raw"),
                            *("-o", str(args.py_spy)),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                try:
                    rate, secs, cpu = measure(env, records, per_record, proc, args.timeout)
                except (RuntimeError, TimeoutError):
                    print((tmp / f"{group}.log").read_text()[-3000:])
                    raise
                finally:
                    stop(proc)
                    if spy is not None:
                        spy.wait(timeout=60)  # ends with the worker, writing its file
                runs.append(Run(variant, rate, secs, cpu))
                load = os.getloadavg()[0]
                print(
                    f"round {rnd + 1} {variant:18s} {rate:>9,.0f} readings/s over {secs:5.1f} s, "
                    f"{cpu:6.1f} CPU s per M readings (load {load:.1f})",
                    flush=True,
                )
    finally:
        for b in made:
            buckets.delete_bucket(b)
        client.close()
    return runs


def report(runs: list[Run], variants: list[str]) -> None:
    print("\nvariant              readings/s median [range]      CPU s per M readings (median)")
    med: dict[str, tuple[float, float]] = {}
    for v in variants:
        mine = [r for r in runs if r.variant == v]
        if not mine:
            continue
        rates = [r.rate for r in mine]
        cpu = statistics.median(r.cpu_per_m for r in mine)
        med[v] = (statistics.median(rates), cpu)
        print(f"{v:20s} {med[v][0]:>9,.0f} [{min(rates):,.0f}-{max(rates):,.0f}]{'':8s}{cpu:8.1f}")
    if "worker" in med:
        w_rate, w_cpu = med["worker"]
        for v, (rate, cpu) in med.items():
            if v != "worker":
                print(
                    f"worker / {v}: {w_rate / rate:.2f}x the readings/s, "
                    f"{w_cpu / cpu:.2f}x the CPU per reading"
                )
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
