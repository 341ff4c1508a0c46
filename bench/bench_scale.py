"""Does a second worker double the throughput? One worker vs two workers in one group, over
TLS + SASL on the secured local stack, same data, same run (docs/scaling.md).

    HEATWATCH_STACK_DIR=<a stack up with HEATWATCH_STACK_SECURITY=sasl_ssl> \
    PYTHONPATH=. .venv/bin/python bench/bench_scale.py [--households 5000 --days 2]

The telemetry topic has 4 partitions: one worker owns all 4, two workers own 2 each (one
consumer group; Faust assigns). Throughput is measured from committed group offsets between
the first progress and lag 0 (what survives a crash), like bench_pipeline.py. Each worker's
peak resident memory (VmHWM) is read from /proc before it is stopped. Workers run as the
``worker`` user with the worker's InfluxDB token (its bucket); the topic and groups are
made for this run (``heatwatch.telemetry.scale-*``, ``heatwatch-scale-*``).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from formats.registry_csv import load_registry_csv  # noqa: E402
from producers.kafka_producer import Router, jsonl_lines, make_producer, produce  # noqa: E402
from producers.simulate import SimulationConfig, simulate  # noqa: E402
from streams.security import client_options  # noqa: E402
from streams.settings import KafkaSettings  # noqa: E402
from tests.integration.pipeline_support import PipelineEnv, committed_lag  # noqa: E402

PARTITIONS = 4


def read_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.removeprefix("export ").strip()
        if line.startswith("HEATWATCH_") and "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
    return values


def kafka_settings(values: dict[str, str]) -> KafkaSettings:
    return KafkaSettings(
        bootstrap=values["HEATWATCH_KAFKA_BOOTSTRAP"],
        security_protocol="SASL_SSL",
        ssl_cafile=values["HEATWATCH_KAFKA_SSL_CAFILE"],
        sasl_username=values["HEATWATCH_KAFKA_SASL_USERNAME"],
        sasl_password=values["HEATWATCH_KAFKA_SASL_PASSWORD"],  # type: ignore[arg-type]
    )


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes so far."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / os.sysconf("SC_CLK_TCK")


def run_group(
    env: PipelineEnv, worker_env: dict[str, str], n: int, total: int, per_record: float, tmp: Path
) -> tuple[float, float, list[float], float]:
    """(readings/s, seconds, peak RSS MB per worker, readings per worker CPU-second) for n
    workers in one new group. CPU time does not depend on how busy the machine is: on a
    shared 2-core machine it is the figure that says whether adding a core per worker scales."""
    procs = []
    for i in range(n):
        environ = {
            **worker_env,
            "HEATWATCH_WORKER_APP_ID": env.app_id,
            "HEATWATCH_WORKER_NAME": f"{env.app_id}-{i}",
            "HEATWATCH_WORKER_DATA_DIR": str(tmp / f"{env.app_id}-{i}"),
        }
        log = (tmp / f"{env.app_id}-{i}.log").open("wb")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "heatwatch.cli.main", "worker"],
                env=environ,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )
        )
    try:
        first: tuple[float, int] | None = None
        cpu0 = 0.0
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            done = total - sum(committed_lag(env).values())
            now = time.perf_counter()
            if done > 0 and first is None:
                first = (now, done)
                cpu0 = cpu_seconds([p.pid for p in procs])
            if first is not None and done >= total:
                secs = now - first[0]
                rss = [peak_rss_mb(p.pid) for p in procs]
                readings = (done - first[1]) * per_record
                cpu = cpu_seconds([p.pid for p in procs]) - cpu0
                return readings / secs, secs, rss, readings / cpu
            for p in procs:
                if p.poll() is not None:
                    raise RuntimeError(f"worker exited with {p.returncode}")
            time.sleep(0.25)
        raise TimeoutError("lag did not reach 0 in 900 s")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--households", type=int, default=5000)
    ap.add_argument("--days", type=int, default=2)
    args = ap.parse_args()
    stack = Path(os.environ.get("HEATWATCH_STACK_DIR", str(REPO / ".stack")))
    admin, producer_env = read_env(stack / "stack.env"), read_env(stack / "env" / "producer.env")
    worker_values = read_env(stack / "env" / "worker.env")
    tag = uuid.uuid4().hex[:6]
    topic = f"heatwatch.telemetry.scale-{tag}"
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp_name:
        tmp = Path(tmp_name)
        sim = tmp / "sim"
        simulate(SimulationConfig(households=args.households, days=args.days, batches=True), sim)
        from kafka import KafkaAdminClient
        from kafka.admin import NewTopic

        admin_options = client_options(kafka_settings(admin))
        client = KafkaAdminClient(
            bootstrap_servers=admin["HEATWATCH_KAFKA_BOOTSTRAP"], **admin_options
        )
        client.create_topics([NewTopic(topic, PARTITIONS, 1)], timeout_ms=30_000)
        client.close()
        settings = kafka_settings(producer_env)
        producer = make_producer(settings.bootstrap, None, **client_options(settings))
        registry = Router(load_registry_csv(sim / "registry.csv")[0])
        stats = produce(producer, topic, jsonl_lines(sim / "readings.jsonl"), router=registry)
        producer.close()
        total = stats.records + stats.weather_broadcasts * (PARTITIONS - 1)
        per_record = stats.readings / total
        print(f"produced {stats.records:,} records, {stats.readings:,} readings to {topic}")
        worker_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HEATWATCH_")},
            **worker_values,
            "PYTHONPATH": str(REPO),
            "HEATWATCH_KAFKA_TELEMETRY_TOPIC": topic,
            "HEATWATCH_KAFKA_PARTITIONS": str(PARTITIONS),
            "HEATWATCH_WORKER_REGISTRY": str(sim / "registry.csv"),
            "HEATWATCH_WORKER_STORE": "memory://",
        }
        results = {}
        for n in (1, 2):
            env = PipelineEnv(
                bootstrap=admin["HEATWATCH_KAFKA_BOOTSTRAP"],
                influx_url="",
                influx_token="",
                influx_org="",
                bucket="",
                topic=topic,
                dead_topic="",
                incident_topic="",
                partitions=PARTITIONS,
                app_id=f"heatwatch-scale-{tag}-{n}",
                registry=sim / "registry.csv",
                data_dir=tmp,
                kafka_options=admin_options,
            )
            rate, secs, rss, per_cpu = run_group(env, worker_env, n, total, per_record, tmp)
            results[n] = rate
            print(
                f"{n} worker(s): {rate:,.0f} readings/s over {secs:.1f} s; "
                f"{per_cpu:,.0f} readings per worker CPU-second; "
                f"peak RSS per worker {', '.join(f'{r:.0f} MB' for r in rss)}",
                flush=True,
            )
        print(
            f"two workers / one worker = {results[2] / results[1]:.2f}x "
            f"(load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs)"
        )


if __name__ == "__main__":
    main()
