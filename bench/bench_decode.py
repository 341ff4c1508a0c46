"""Decoding a record: what the contract's strict pydantic path costs per reading against the
alternatives, and whether msgspec would be as strict (prints figures; issue 23 item 3a).

    PYTHONPATH=. .venv/bin/python bench/bench_decode.py [--households 2000] [--reps 5]
    /work/venv-bench/bin/python bench/bench_decode.py     # with msgspec (pip install msgspec)

Input: the simulator's files (single readings and concentrator batches, faults on). Passes,
interleaved ``--reps`` times, median µs per reading (process time):

- ``orjson.loads``: parse only, the floor;
- ``pydantic``: ``WIRE_ADAPTER.validator.validate_json`` (what ``streams.ingest`` runs);
- ``pydantic cache_strings=False``: the same models without jiter's string cache;
- ``msgspec``: decode into ``msgspec.Struct`` mirrors of the contract (same constraints), and
  ``msgspec + model_construct``: plus building the contract's models, which the engine takes
  (its routes are keyed by the pydantic classes; checkpoints and dead letters dump them).

Strictness: every line of the files and a set of mutated lines (each field of a reading of
every kind replaced by a wrong type, a bound's edge, a malformed time, ...) decoded both ways;
prints how many lines one accepts and the other refuses, with examples. msgspec is only worth
a switch if that count is 0 and it is faster with the models built.
"""

# No ``from __future__ import annotations``: msgspec and pydantic resolve the annotations of
# the classes built inside functions below, which only works with evaluated annotations.
import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import ConfigDict, TypeAdapter, ValidationError

from contract import telemetry
from contract.telemetry import WIRE_ADAPTER, Batch
from producers.simulate import SimulationConfig, simulate


def lines_of(households: int, batches: bool, tmp: Path) -> list[bytes]:
    out = tmp / ("b" if batches else "s")
    simulate(SimulationConfig(households=households, days=1, batches=batches), out)
    return (out / "readings.jsonl").read_bytes().splitlines()


def readings_in(lines: list[bytes]) -> int:
    n = 0
    for line in lines:
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            n += 1
            continue
        n += len(obj["readings"]) if isinstance(obj, dict) and obj.get("kind") == "batch" else 1
    return n


def _pydantic_without_string_cache() -> Callable[[bytes], Any]:
    """The wire adapter over copies of the models with ``cache_strings=False``."""
    kinds = []
    for model in telemetry.AnyReading.__args__:  # type: ignore[attr-defined]
        copy = type(
            model.__name__,
            (model,),
            {"model_config": ConfigDict(**{**model.model_config, "cache_strings": False})},
        )
        kinds.append(copy)
    from typing import Annotated, Literal, Union

    from pydantic import BaseModel, Field

    reading = Annotated[Union[tuple(kinds)], Field(discriminator="kind")]  # type: ignore[valid-type]  # noqa: UP007

    class NoCacheBatch(BaseModel):
        model_config = ConfigDict(frozen=True, strict=True, extra="ignore", cache_strings=False)
        kind: Literal["batch"] = "batch"
        source: str = Field(min_length=1)
        readings: list[reading]  # type: ignore[valid-type]

    wire = Annotated[Union[(*kinds, NoCacheBatch)], Field(discriminator="kind")]  # type: ignore[valid-type]
    return TypeAdapter(wire).validator.validate_json  # type: ignore[no-any-return]


def msgspec_decoder() -> tuple[Callable[[bytes], Any], Callable[[Any], Any], type] | None:
    """(decode, to the contract's models, the batch Struct), or None without msgspec."""
    try:
        import msgspec
    except ImportError:
        return None
    from typing import Annotated, Literal

    from msgspec import Meta, Struct

    stamp = Annotated[str, Meta(pattern=telemetry.RFC3339)]
    nonneg = Annotated[float, Meta(ge=0)]
    ident = Annotated[str, Meta(min_length=1)]
    interval = Annotated[int, Meta(gt=0, le=86_400)]
    celsius = Annotated[float, Meta(ge=-60, le=200)]
    conc = Annotated[float, Meta(ge=0, le=100_000)]
    opts: dict[str, Any] = {"tag_field": "kind", "frozen": True}

    class electric(Struct, tag="electric", **opts):  # type: ignore[call-arg]  # noqa: N801
        household_id: ident
        ts: stamp
        interval_s: interval
        kwh: nonneg
        kw: nonneg
        voltage_v: nonneg
        event: Literal["power_down", "power_up"] | None = None

    class gas(Struct, tag="gas", **opts):  # type: ignore[call-arg]  # noqa: N801
        household_id: ident
        ts: stamp
        interval_s: interval
        m3: nonneg
        flow_m3h: nonneg
        pressure_kpa: nonneg

    class feeder(Struct, tag="feeder", **opts):  # type: ignore[call-arg]  # noqa: N801
        feeder_id: ident
        ts: stamp
        kw: nonneg
        rated_kva: Annotated[float, Meta(gt=0)]

    class gas_station(Struct, tag="gas_station", **opts):  # type: ignore[call-arg]  # noqa: N801
        station_id: ident
        ts: stamp
        outlet_pressure_kpa: nonneg
        flow_m3h: nonneg

    class weather(Struct, tag="weather", **opts):  # type: ignore[call-arg]  # noqa: N801
        county: ident
        ts: stamp
        temp_c: Annotated[float, Meta(ge=-60, le=60)]

    class heat_station(Struct, tag="heat_station", **opts):  # type: ignore[call-arg]  # noqa: N801
        heat_station_id: ident
        ts: stamp
        secondary_supply_c: celsius
        secondary_return_c: celsius
        supply_pressure_kpa: nonneg
        flow_m3h: nonneg
        heat_kw: nonneg
        primary_supply_c: celsius | None = None
        primary_return_c: celsius | None = None

    class indoor_temp(Struct, tag="indoor_temp", **opts):  # type: ignore[call-arg]  # noqa: N801
        household_id: ident
        ts: stamp
        temp_c: Annotated[float, Meta(ge=-40, le=60)]

    class heat_meter(Struct, tag="heat_meter", **opts):  # type: ignore[call-arg]  # noqa: N801
        household_id: ident
        ts: stamp
        interval_s: interval
        supply_c: celsius
        return_c: celsius
        flow_m3h: nonneg
        energy_kwh: nonneg

    class stack_emission(Struct, tag="stack_emission", **opts):  # type: ignore[call-arg]  # noqa: N801
        heat_station_id: ident
        ts: stamp
        interval_s: interval
        particulates_mg_m3: conc
        so2_mg_m3: conc
        nox_mg_m3: conc
        o2_pct: Annotated[float, Meta(ge=0, lt=21)]
        flue_flow_m3h: nonneg
        flue_temp_c: celsius | None = None

    kinds = (
        electric,
        gas,
        feeder,
        gas_station,
        weather,
        heat_station,
        indoor_temp,
        heat_meter,
        stack_emission,
    )
    reading_union = electric | gas | feeder | gas_station | weather | heat_station
    reading_union = reading_union | indoor_temp | heat_meter | stack_emission

    class batch(Struct, tag="batch", **opts):  # type: ignore[call-arg]  # noqa: N801
        source: ident
        readings: list[reading_union]  # type: ignore[valid-type]

    decoder = msgspec.json.Decoder(reading_union | batch)  # type: ignore[operator]
    models = {k: getattr(telemetry, _MODEL_BY_TAG[k.__name__]) for k in kinds}
    fields = {k: k.__struct_fields__ for k in kinds}

    def to_model(s: Any) -> Any:
        if type(s) is batch:
            return Batch.model_construct(
                source=s.source, readings=[to_model(r) for r in s.readings]
            )
        cls = type(s)
        return models[cls].model_construct(**{f: getattr(s, f) for f in fields[cls]})

    return decoder.decode, to_model, batch


_MODEL_BY_TAG = {
    "electric": "ElectricReading",
    "gas": "GasReading",
    "feeder": "FeederReading",
    "gas_station": "GasStationReading",
    "weather": "WeatherReading",
    "heat_station": "HeatStationReading",
    "indoor_temp": "IndoorTempReading",
    "heat_meter": "HeatMeterReading",
    "stack_emission": "StackEmissionReading",
}


_CHUNKED: dict[str, tuple[list[bytes], int]] = {}


def _valid(line: bytes) -> bool:
    try:
        WIRE_ADAPTER.validate_json(line)
    except ValidationError:
        return False
    return True


def timed(fn: Callable[[bytes], Any], lines: list[bytes]) -> float:
    t = time.process_time()
    for line in lines:
        try:
            fn(line)
        except Exception:
            continue
    return time.process_time() - t


# --- strictness -------------------------------------------------------------------------------
_BAD_VALUES: tuple[Any, ...] = (
    "0.5",
    True,
    None,
    -1,
    -0.0,
    0,
    1e308,
    2**63 - 1,
    900.0,
    900.5,
    [],
    {},
    "",
    "x",
    86_400,
    86_401,
    21,
    20.999,
    -60,
    -60.5,
    200.5,
    60.5,
)
_BAD_TIMES = (
    "2021-12-01T08:15:00",
    "2021-12-01 08:15:00+08:00",
    "2021-12-01T08:15:00+08:00\n",
    "2021-12-01t08:15:00+08:00",
    "2021-12-01T08:15:00z",
    "2021-12-01T08:15:00Z",
    "2021-02-30T08:15:00+08:00",
    "2021-12-01T08:15:60+08:00",
    "2021-12-01T24:00:00+08:00",
    "２０２１-12-01T08:15:00+08:00",
    "2021-12-01T08:15:00.1234567891+08:00",
    "2021-12-01T08:15:00+0800",
    " 2021-12-01T08:15:00+08:00",
)


def mutations(samples: list[dict[str, Any]]) -> Iterator[bytes]:
    """Each field of each sample reading set to each bad value, dropped, or duplicated; the
    time field also to each bad time; raw-text faults (NaN, Infinity, 1e400, trailing text)."""
    for obj in samples:
        for field in obj:
            yield orjson.dumps({k: v for k, v in obj.items() if k != field})
            for value in _BAD_VALUES:
                yield orjson.dumps(obj | {field: value})
        for ts in _BAD_TIMES:
            yield orjson.dumps(obj | {"ts": ts})
        yield orjson.dumps(obj | {"extra": 1})
        text = orjson.dumps(obj)
        number = next((k for k, v in obj.items() if isinstance(v, float)), None)
        if number is not None:
            for token in (b"NaN", b"Infinity", b"-Infinity", b"1e400", b"1E2", b"-0"):
                yield text.replace(
                    orjson.dumps({number: obj[number]})[1:-1], f'"{number}":'.encode() + token
                )
        yield text[:-1] + b',"kind":"weather"}'  # a duplicate key
        yield text + b" x"
        yield b" " + text + b"\n"
        yield orjson.dumps({"kind": "batch", "source": "C1", "readings": [obj]})
        yield orjson.dumps({"kind": "batch", "source": "", "readings": [obj]})
        yield orjson.dumps({"kind": "batch", "source": "C1", "readings": obj})


def strictness(lines: list[bytes], decode: Callable[[bytes], Any]) -> None:
    samples: dict[str, dict[str, Any]] = {}
    for line in lines:
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        for r in obj.get("readings", [obj]) if isinstance(obj, dict) else []:
            if isinstance(r, dict):
                samples.setdefault(str(r.get("kind")), r)
    corpus = lines + list(mutations(list(samples.values())))
    differ: list[tuple[bytes, str, str]] = []
    for line in corpus:
        try:
            WIRE_ADAPTER.validate_json(line)
            p = "accepts"
        except ValidationError:
            p = "refuses"
        try:
            decode(line)
            m = "accepts"
        except Exception:
            m = "refuses"
        if p != m:
            differ.append((line, p, m))
    print(
        f"strictness: {len(corpus):,} lines ({len(samples)} kinds mutated), "
        f"{len(differ)} decided differently by msgspec"
    )
    for line, p, m in differ[:12]:
        print(f"  pydantic {p}, msgspec {m}: {line[:140]!r}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--households", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = {
            "single": lines_of(args.households, False, Path(tmp)),
            "batches": lines_of(args.households, True, Path(tmp)),
        }
    passes: dict[str, Callable[[bytes], Any]] = {
        "orjson.loads (parse only)": orjson.loads,
        "pydantic validate_json (current)": WIRE_ADAPTER.validator.validate_json,
        "pydantic, cache_strings=False": _pydantic_without_string_cache(),
    }
    list_adapter = TypeAdapter(list[telemetry.WireMessage]).validator.validate_json
    chunks = 500
    for name, lines in files.items():  # the good lines only: one bad line fails its chunk
        good = [line for line in lines if _valid(line)]
        files[name] = lines
        joined = [
            b"[" + b",".join(good[i : i + chunks]) + b"]" for i in range(0, len(good), chunks)
        ]
        _CHUNKED[name] = (joined, readings_in(good))
    passes[f"pydantic, {chunks} records per call"] = list_adapter
    ms = msgspec_decoder()
    if ms is not None:
        decode, to_model, _ = ms
        passes["msgspec decode"] = decode
        passes["msgspec decode + model_construct"] = lambda b: to_model(decode(b))
    for name, lines in files.items():
        n = readings_in(lines)
        times: dict[str, list[float]] = {p: [] for p in passes}
        for _ in range(args.reps):
            for p, fn in passes.items():
                if p.endswith("per call"):  # scaled to the same number of readings
                    joined, k = _CHUNKED[name]
                    times[p].append(timed(fn, joined) * n / k)
                else:
                    times[p].append(timed(fn, lines))
        print(
            f"\n{name}: {len(lines):,} lines, {n:,} readings; µs per reading, median of {args.reps}"
        )
        base = statistics.median(times["pydantic validate_json (current)"])
        for p, ts in times.items():
            med = statistics.median(ts)
            print(f"  {p:36s} {med / n * 1e6:6.2f}   ({med / base:.2f}x current)")
    if ms is not None:
        strictness(files["single"] + files["batches"], ms[0])


if __name__ == "__main__":
    main()
