"""End-to-end throughput and latency of the production path on the real stack (prints figures).

    PYTHONPATH=. .venv/bin/python bench/bench_pipeline.py [--households 10000 --days 2]

Same run, same broker: (a) raw aiokafka getmany + pydantic parse over the batch topic
(ceiling), (b) the heatwatch worker (one process) over the same topic, (c) a textbook Faust
agent, one reading per record and a Table write per reading, over a smaller topic (naive
baseline), (d) p99 latency produce → incident visible in InfluxDB at half the worker's rate
(from the record that let the engine detect it, and from the one that released its start).
Commits trail processing by up to the checkpoint interval (5 s), so (b) needs a run of tens
of seconds: hence 10,000 households (1.96 M readings). Topics are deleted at the end.
Throughput of (b)/(c) is measured from committed consumer-group offsets (what survives).
The naive app is built here, not in streams/app.py: it is a yardstick, not product code.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from contract.telemetry import WIRE_ADAPTER, Batch  # noqa: E402
from formats.registry_csv import load_registry_csv  # noqa: E402
from producers.kafka_producer import Router, jsonl_lines, make_producer, produce  # noqa: E402
from producers.simulate import SimulationConfig, simulate  # noqa: E402
from streams.inspect import PipelineEnv, committed_lag  # noqa: E402
from streams.security import client_options  # noqa: E402
from streams.settings import KafkaSettings, WorkerSettings  # noqa: E402

PARTITIONS = 4


def stack_env() -> dict[str, str]:
    values = {}
    stack_dir = Path(os.environ.get("HEATWATCH_STACK_DIR", str(REPO / ".stack")))
    for line in (stack_dir / "stack.env").read_text().splitlines():
        if "=" in line and line.strip().startswith(("HEATWATCH_", "export HEATWATCH_")):
            k, v = line.replace("export ", "").split("=", 1)
            values[k.strip()] = v.strip().strip("'\"")
    return values


def use_stack_security(stack: dict[str, str]) -> None:
    """The stack's Kafka security (docs/security.md) for this process and the workers it
    starts; a stack.env from before secured stacks is PLAINTEXT."""
    names = ("SECURITY_PROTOCOL", "SSL_CAFILE", "SASL_USERNAME", "SASL_PASSWORD")
    for name in (f"HEATWATCH_KAFKA_{n}" for n in names):
        if name in stack:
            os.environ[name] = stack[name]
    if "HEATWATCH_KAFKA_SECURITY_PROTOCOL" not in stack:
        os.environ["HEATWATCH_KAFKA_SECURITY_PROTOCOL"] = "PLAINTEXT"
    if os.environ["HEATWATCH_KAFKA_SECURITY_PROTOCOL"] == "PLAINTEXT":
        os.environ["HEATWATCH_ALLOW_INSECURE"] = "1"


def opts() -> dict[str, Any]:
    """TLS/SASL keyword arguments for kafka-python and aiokafka clients."""
    return client_options(KafkaSettings())


def start_worker(env: PipelineEnv, name: str, log_dir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "heatwatch.cli.main", "worker"],
        env=env.environ(name, REPO),
        stdout=(log_dir / f"{name}.log").open("ab"),
        stderr=subprocess.STDOUT,
        cwd=str(REPO),
    )


def stop(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **opts())
    admin.create_topics([NewTopic(name, partitions, 1)])
    admin.close()
    time.sleep(1)


def delete_topics(bootstrap: str, tag: str) -> None:
    """Every topic of this run: ours and the apps' internal ones (all names contain ``tag``)."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **opts())
    try:
        names = [t for t in admin.list_topics() if tag in t]
        if names:
            admin.delete_topics(names, timeout_ms=30_000)
        print(f"deleted {len(names)} topics")
    finally:
        admin.close()


def raw_ceiling(bootstrap: str, topic: str, records: int) -> tuple[int, float]:
    from aiokafka import AIOKafkaConsumer

    async def run() -> tuple[int, float]:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"bench-raw-{uuid.uuid4().hex[:6]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            **opts(),
        )
        await consumer.start()
        readings = seen = 0
        t0 = 0.0
        try:
            while seen < records:
                batch = await consumer.getmany(timeout_ms=1000, max_records=2000)
                if not t0 and batch:
                    t0 = time.perf_counter()
                for msgs in batch.values():
                    for m in msgs:
                        seen += 1
                        try:
                            msg = WIRE_ADAPTER.validate_json(m.value)
                        except Exception:
                            continue
                        readings += len(msg.readings) if type(msg) is Batch else 1
            return readings, time.perf_counter() - t0
        finally:
            await consumer.stop()

    return asyncio.run(run())


def measure_group(
    env: PipelineEnv, total_records: int, readings_per_record: float, timeout: float, proc: Any
) -> tuple[float, float]:
    """(readings/s, seconds) between the first committed progress and lag 0."""
    first: tuple[float, int] | None = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lag = committed_lag(env)
        done = total_records - sum(lag.values())
        now = time.perf_counter()
        if done > 0 and first is None:
            first = (now, done)
        if first is not None and done >= total_records:
            secs = now - first[0]
            return (done - first[1]) * readings_per_record / secs, secs
        if proc.poll() is not None:
            raise RuntimeError(f"worker died ({proc.returncode})")
        time.sleep(0.25)
    raise TimeoutError("did not finish")


NAIVE = r"""
import sys, faust
from contract.telemetry import WIRE_ADAPTER
topic_name, app_id, bootstrap = sys.argv[1:4]
from streams.security import faust_app_options
from streams.settings import KafkaSettings
app = faust.App(app_id, broker=f"kafka://{bootstrap}", store="memory://", value_serializer="raw",
                broker_session_timeout=6, web_enabled=False, topic_partitions=4,
                consumer_auto_offset_reset="earliest", **faust_app_options(KafkaSettings()))
topic = app.topic(topic_name, key_type=bytes, value_type=bytes, value_serializer="raw")
last_kw = app.Table("last_kw", default=float, partitions=4)
@app.agent(topic)
async def naive(stream):
    async for value in stream:
        r = WIRE_ADAPTER.validate_json(value)
        hid = getattr(r, "household_id", None) or "other"
        last_kw[hid] = getattr(r, "kw", 0.0) or 0.0
faust.Worker(app, loglevel="warning", quiet=True).execute_from_commandline()
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--households", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=2)
    ap.add_argument("--naive-readings", type=int, default=60_000)
    ap.add_argument("--skip-naive", action="store_true", help="skip (c), the naive Faust agent")
    ap.add_argument("--skip-latency", action="store_true", help="skip (d), the latency run")
    args = ap.parse_args()
    stack = stack_env()
    use_stack_security(stack)
    bootstrap = stack["HEATWATCH_KAFKA_BOOTSTRAP"]
    tmp = Path(tempfile.mkdtemp(prefix="hw-bench-"))
    tag = uuid.uuid4().hex[:6]
    try:
        run(args, stack, bootstrap, tmp, tag)
    finally:
        delete_topics(bootstrap, tag)
        shutil.rmtree(tmp, ignore_errors=True)


def run(
    args: argparse.Namespace, stack: dict[str, str], bootstrap: str, tmp: Path, tag: str
) -> None:
    sim = tmp / "sim"
    t = time.perf_counter()
    simulate(SimulationConfig(households=args.households, days=args.days, batches=True), sim)
    print(
        f"simulated {args.households} households x {args.days} days in "
        f"{time.perf_counter() - t:.1f} s"
    )
    registry, _ = load_registry_csv(sim / "registry.csv")
    router = Router(registry)

    topic = f"bench-telemetry-{tag}"
    create_topic(bootstrap, topic, PARTITIONS)
    producer = make_producer(bootstrap, None, **opts())
    stats = produce(producer, topic, jsonl_lines(sim / "readings.jsonl"), router=router)
    total_records = stats.records + stats.weather_broadcasts * (PARTITIONS - 1)
    per_record = stats.readings / total_records
    print(
        f"produced {stats.records:,} records / {stats.readings:,} readings "
        f"({stats.readings_per_s:,.0f} readings/s, kafka-python, no compression)"
    )

    readings, secs = raw_ceiling(bootstrap, topic, total_records)
    ceiling = readings / secs
    print(f"(a) raw aiokafka getmany + pydantic parse: {ceiling:,.0f} readings/s")

    def env_for(t_name: str, bucket: str) -> PipelineEnv:
        return PipelineEnv(
            bootstrap=bootstrap,
            influx_url=stack["HEATWATCH_INFLUX_URL"],
            influx_token=stack["HEATWATCH_INFLUX_TOKEN"],
            influx_org="heatwatch",
            bucket=bucket,
            topic=t_name,
            dead_topic=f"bench-dead-{tag}",
            incident_topic=f"bench-inc-{tag}",
            partitions=PARTITIONS,
            app_id=f"bench-app-{tag}-{uuid.uuid4().hex[:6]}",
            registry=sim / "registry.csv",
            data_dir=tmp / "data",
            kafka_options=opts(),
            extra={
                "HEATWATCH_WORKER_CHECKPOINT_INTERVAL_S": str(
                    WorkerSettings().checkpoint_interval_s
                ),
                # the tail of a finite input is released once caught up and quiet
                "HEATWATCH_WORKER_IDLE_RELEASE_S": "3",
                "HEATWATCH_WORKER_SESSION_TIMEOUT_S": "6",
                "HEATWATCH_WORKER_HEARTBEAT_INTERVAL_S": "2",
                "HEATWATCH_WORKER_LOGLEVEL": "warning",
            },
        )

    from influxdb_client import InfluxDBClient

    client = InfluxDBClient(
        url=stack["HEATWATCH_INFLUX_URL"], token=stack["HEATWATCH_INFLUX_TOKEN"], org="heatwatch"
    )
    buckets = client.buckets_api()
    made = [
        buckets.create_bucket(bucket_name=f"bench-{tag}-{i}", org="heatwatch") for i in range(2)
    ]
    try:
        env = env_for(topic, made[0].name)
        worker = start_worker(env, "bench", tmp)
        try:
            rate, secs = measure_group(env, total_records, per_record, 600, worker)
        finally:
            stop(worker)
        print(
            f"(b) heatwatch worker (1 process, {PARTITIONS} partitions, InfluxDB writes, "
            f"checkpoints): {rate:,.0f} readings/s over {secs:.1f} s "
            f"= {rate / ceiling:.0%} of the raw ceiling"
        )

        # (c) naive: one reading per record, a table write each
        if not args.skip_naive:
            flat = tmp / "flat.jsonl"
            n = 0
            with flat.open("wb") as fh:
                for line in jsonl_lines(sim / "readings.jsonl"):
                    try:
                        obj = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        continue
                    for r in obj.get("readings", [obj]):
                        fh.write(orjson.dumps(r) + b"\n")
                        n += 1
                    if n >= args.naive_readings:
                        break
            naive_topic = f"bench-naive-{tag}"
            create_topic(bootstrap, naive_topic, PARTITIONS)
            # one reading per record: the naive baseline is not grouped by the producer
            nstats = produce(producer, naive_topic, jsonl_lines(flat), router=router, group=0)
            nenv = env_for(naive_topic, made[0].name)
            naive = subprocess.Popen(
                [sys.executable, "-c", NAIVE, naive_topic, nenv.app_id, bootstrap],
                env={**os.environ, "PYTHONPATH": str(REPO)},
                stdout=subprocess.DEVNULL,
                stderr=(tmp / "naive.log").open("wb"),
            )
            try:
                total_naive = nstats.records + nstats.weather_broadcasts * (PARTITIONS - 1)
                nrate, nsecs = measure_group(nenv, total_naive, 1.0, 600, naive)
            finally:
                stop(naive)
            print(
                f"(c) naive Faust (1 reading/record, Table write each): {nrate:,.0f} readings/s "
                f"over {nsecs:.1f} s; heatwatch = {rate / nrate:.1f}x naive"
            )

        # (d) latency at half the worker's rate
        if args.skip_latency:
            return
        lat_topic = f"bench-lat-{tag}"
        create_topic(bootstrap, lat_topic, PARTITIONS)
        lenv = env_for(lat_topic, made[1].name)
        lworker = start_worker(lenv, "lat", tmp)
        try:
            time.sleep(10)
            detected, started = latency_run(lenv, sim, router, rate / 2, client)
        finally:
            stop(lworker)
        if detected:
            print(
                f"(d) produce -> incident visible in InfluxDB at {rate / 2:,.0f} readings/s, "
                f"from the record that released its detection step: {percentiles(detected)}"
            )
        if started:
            print(
                "    same, from the record that released its start (adds the detection "
                f"rules' own delay): {percentiles(started)}"
            )
        producer.close()
    finally:
        for b in made:
            buckets.delete_bucket(b)
        client.close()


def latency_run(
    env: PipelineEnv, sim: Path, router: Router, rate: float, client: Any
) -> tuple[list[float], list[float]]:
    """Latency of an incident = first seen in InfluxDB − send time of the first record whose
    readings let the engine release the step it depends on (that step + lateness + one
    interval). Two anchors: (1) its *detection* step = started_at + duration_s of the first
    ``open`` point seen (the engine's event time when it opened the incident): the pipeline's
    own latency; (2) its *start* (started_at): adds the detection rules' own delay (e.g. a
    gas quota risk found at day close, a comm loss after hours of silence)."""
    import bisect
    import threading

    from streams.core.settings import DetectionSettings

    settings = DetectionSettings()
    holdback = settings.lateness_s + settings.interval_s
    producer = make_producer(env.bootstrap, None, linger_ms=5, **opts())
    result: dict[str, Any] = {}

    def send() -> None:
        result["stats"] = produce(
            producer,
            env.topic,
            jsonl_lines(sim / "readings.jsonl"),
            router=router,
            rate=rate,
            record_send_times=True,
        )

    thread = threading.Thread(target=send)
    thread.start()
    seen: dict[str, tuple[float, dict[str, int]]] = {}
    query = f'''from(bucket: "{env.bucket}") |> range(start: 2000-01-01T00:00:00Z)
  |> filter(fn: (r) => r._measurement == "incident" and r.state == "open")
  |> filter(fn: (r) => r._field == "started_at" or r._field == "duration_s")
  |> last()'''
    api = client.query_api()
    tail_until = None
    while tail_until is None or time.monotonic() < tail_until:
        if tail_until is None and not thread.is_alive():
            tail_until = time.monotonic() + 10  # incidents of the last records
        now = time.time()
        fresh: dict[str, dict[str, int]] = {}
        for table in api.query(query):
            for rec in table.records:
                iid = rec.values["incident_id"]
                if iid not in seen:
                    fresh.setdefault(iid, {})[rec.get_field()] = int(rec.get_value())
        for iid, fields in fresh.items():
            if len(fields) == 2:
                seen[iid] = (now, fields)
        time.sleep(0.2)
    thread.join()
    producer.close()
    sent = result["stats"].sent_at
    times = sorted(sent)

    def latency(seen_at: float, step: int) -> float | None:
        i = bisect.bisect_left(times, step + holdback)
        return max(0.0, seen_at - sent[times[i]]) if i < len(times) else None

    detected, started = [], []
    for seen_at, fields in seen.values():
        d = latency(seen_at, fields["started_at"] + fields["duration_s"])
        s = latency(seen_at, fields["started_at"])
        if d is not None:
            detected.append(d)
        if s is not None:
            started.append(s)
    return detected, started


def percentiles(values: list[float]) -> str:
    values = sorted(values)
    p50 = values[len(values) // 2]
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    return f"p50 {p50:.2f} s, p99 {p99:.2f} s, max {values[-1]:.2f} s ({len(values)} incidents)"


if __name__ == "__main__":
    main()
