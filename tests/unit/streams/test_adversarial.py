"""An adversarial corpus built from the simulator's output: the ordinary defects of real AMI
data, each asserting the same faults found, no false incident, no good line lost and rollups
equal to the clean run's (issue 10, "How it must be shown")."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from contract.registry import Household
from formats.registry_csv import load_registry, load_registry_csv
from producers.scoring import read_dead_letter_lines, read_incidents, score
from producers.simulate import SimulationConfig, simulate
from streams.embedded import replay

Lines = list[bytes]

# Every defect here is about a few lines among ordinary ones, not about the fleet's size: 200
# households still hold feeders, a gas station, storage heaters, last gasps and every injected
# fault kind the scoring checks, and each replay costs a third of the 600-household one's (the
# fast tier replays this corpus a dozen times).
HOUSEHOLDS = 200


@dataclass
class Outcome:
    summary: dict[str, Any]
    incidents: set[bytes]
    rollups: list[dict[str, Any]]
    dead: Counter[tuple[str, str]]  # (raw, reason)
    dead_line_nos: set[int]
    out: Path


@dataclass
class Corpus:
    sim: Path
    registry: list[Household]
    lines: Lines
    clean: Outcome
    tmp: Path

    def run(self, name: str, lines: Lines, registry: list[Household] | None = None) -> Outcome:
        path = self.tmp / f"{name}.jsonl"
        path.write_bytes(b"".join(lines))
        return _replay(registry or self.registry, path, self.tmp / name)

    def valid(self, kind: bytes = b'"electric"') -> list[int]:
        """Indexes of well-formed single-reading lines of one kind (registered households)."""
        known = {h.household_id for h in self.registry}
        out = []
        for i, line in enumerate(self.lines):
            if kind not in line or b'"batch"' in line:
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(obj, dict) or obj.get("kind") != kind.strip(b'"').decode():
                continue
            if _aware(obj) is not None and obj.get("household_id", "H0000001") in known:
                out.append(i)
        return out

    def quiet_meter(self, valid: list[int]) -> str:
        """A household meter the simulator injected no fault into (from the 51st valid line
        on): a fast copy of its readings then meets its own readings, never an outage's gap
        (where a copy is indistinguishable from the meter's data returning)."""
        named = {
            hid
            for t in map(orjson.loads, (self.sim / "ground_truth.jsonl").read_bytes().splitlines())
            for hid in [t.get("entity_id"), *t.get("households", [])]
        }
        return next(
            hid
            for i in valid[50:]
            if (hid := orjson.loads(self.lines[i])["household_id"]) not in named
        )


def _replay(registry: list[Household], path: Path, out: Path) -> Outcome:
    summary = replay(registry, path, out)
    incidents = {line for line in (out / "incidents.jsonl").read_bytes().splitlines() if line}
    table = pq.read_table(out / "rollups" / "household_days.parquet").to_pylist()
    rollups = sorted(table, key=lambda d: (d["household_id"], d["day"]))
    dead_rows = [orjson.loads(x) for x in (out / "dead_letters.jsonl").read_bytes().splitlines()]
    dead = Counter((d["raw"], d["reason"]) for d in dead_rows)
    return Outcome(summary.data, incidents, rollups, dead, {d["line_no"] for d in dead_rows}, out)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    tmp = tmp_path_factory.mktemp("adversarial")
    sim = tmp / "sim"
    simulate(SimulationConfig(households=HOUSEHOLDS, days=2, seed=5), sim)
    registry, _ = load_registry_csv(sim / "registry.csv")
    lines = (sim / "readings.jsonl").read_bytes().splitlines(keepends=True)
    clean = _replay(registry, sim / "readings.jsonl", tmp / "clean")
    return Corpus(sim, registry, lines, clean, tmp)


def _assert_scored_perfect(corpus: Corpus, got: Outcome, allowed_extra: set[str]) -> None:
    result = score(
        read_incidents(got.out / "incidents.jsonl"),
        corpus.sim / "ground_truth.jsonl",
        read_dead_letter_lines(got.out / "dead_letters.jsonl"),
    )
    assert result.missed == []
    assert result.wrong_parent == []
    extra = [(i.kind.value, i.entity_id) for i in result.unexpected]
    assert {e for e in extra if f"{e[0]}:{e[1]}" not in allowed_extra} == set()


def _same_as_clean(corpus: Corpus, got: Outcome) -> None:
    """Same incidents (data-quality ones aside) and the same rollups as the clean run."""
    assert {i for i in got.incidents if b'"meter_clock_fault"' not in i} == (corpus.clean.incidents)
    assert got.rollups == corpus.clean.rollups


def _aware(obj: Any) -> datetime | None:
    """The line's timestamp, if it has a valid one (malformed lines do not)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("ts"), str):
        return None
    try:
        ts = datetime.fromisoformat(obj["ts"])
    except ValueError:
        return None
    return ts if ts.tzinfo is not None else None


def test_the_clean_run_is_the_reference(corpus: Corpus) -> None:
    _assert_scored_perfect(corpus, corpus.clean, set())
    assert corpus.clean.summary["input_order"].startswith("as given")
    assert corpus.clean.summary["rollup_rows"] == HOUSEHOLDS * 2


def _by_meter(line: bytes) -> tuple[str, bytes]:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return ("", line)
    if not isinstance(obj, dict):
        return ("", line)
    ident = obj.get("household_id") or obj.get("feeder_id") or obj.get("station_id") or ""
    return (str(ident), b"")  # stable: a meter's lines keep their relative order


ORDERS: dict[str, Callable[[Lines], Lines]] = {
    "meter_order": lambda ls: sorted(ls, key=_by_meter),
    "reversed": lambda ls: ls[::-1],
    "shuffled": lambda ls: random.Random(3).sample(ls, len(ls)),
}


@pytest.mark.parametrize("order", sorted(ORDERS))
def test_any_order_of_the_same_lines_gives_the_same_results(corpus: Corpus, order: str) -> None:
    got = corpus.run(order, ORDERS[order](corpus.lines))
    _same_as_clean(corpus, got)
    assert got.dead == corpus.clean.dead  # the same lines refused for the same reasons
    assert got.summary["duplicates"] == corpus.clean.summary["duplicates"]
    assert got.summary["input_order"].startswith("ordered by event time")


def test_resends_anywhere_are_duplicates(corpus: Corpus) -> None:
    rng = random.Random(8)
    valid = corpus.valid() + corpus.valid(b'"gas"')
    resent = rng.sample(valid, len(valid) // 20)
    lines = corpus.lines[:]
    for i in resent:
        lines.insert(rng.randrange(len(lines) + 1), corpus.lines[i])
    got = corpus.run("resends", lines)
    _same_as_clean(corpus, got)
    assert got.dead == corpus.clean.dead
    assert got.summary["duplicates"] == corpus.clean.summary["duplicates"] + len(resent)


def _edit(line: bytes, **changes: Any) -> bytes:
    obj = orjson.loads(line)
    obj.update(changes)
    return orjson.dumps(obj) + b"\n"


@pytest.mark.slow  # two replays of the corpus
def test_conflicts_keep_a_deterministic_winner_and_report_both_values(corpus: Corpus) -> None:
    rng = random.Random(9)
    picked = rng.sample(corpus.valid(), 20)
    lines = corpus.lines[:]
    losers = []
    for i in picked:
        obj = orjson.loads(corpus.lines[i])
        # a lower voltage sorts lower in the canonical form: the original stays the winner
        loser = _edit(corpus.lines[i], voltage_v=round(obj["voltage_v"] - 1.0, 1))
        losers.append(loser)
        lines.insert(rng.randrange(len(lines) + 1), loser)
    got = corpus.run("conflicts", lines)
    _same_as_clean(corpus, got)
    assert got.summary["conflicts"] == 20
    extra = got.dead - corpus.clean.dead
    assert sum(extra.values()) == 20
    for (raw, reason), _ in extra.items():
        assert re.match(r"conflict: \w+ of household ", reason)
        assert "kept {" in reason and "rejected {" in reason
        rejected = orjson.loads(raw)
        assert any(
            (lo["household_id"], lo["ts"], lo["voltage_v"])
            == (rejected["household_id"], rejected["ts"], rejected["voltage_v"])
            for lo in map(orjson.loads, losers)
        )
    again = corpus.run("conflicts_shuffled", random.Random(2).sample(lines, len(lines)))
    assert (again.incidents, again.rollups, again.dead) == (got.incidents, got.rollups, got.dead)


def test_a_last_gasp_wins_its_conflict(corpus: Corpus) -> None:
    gasps = [i for i in corpus.valid() if b'"power_down"' in corpus.lines[i]]
    assert gasps
    lines = corpus.lines[:]
    for i in gasps:  # a healthy-looking copy of every last gasp, sent first
        lines.insert(0, _edit(corpus.lines[i], event=None, voltage_v=999.0 - 700))
    got = corpus.run("last_gasp_conflicts", lines)
    _assert_scored_perfect(corpus, got, set())
    assert got.incidents == corpus.clean.incidents
    assert got.summary["conflicts"] == len(gasps)


def _shifted(line: bytes, delta: timedelta) -> bytes:
    obj = orjson.loads(line)
    return _edit(line, ts=(datetime.fromisoformat(obj["ts"]) + delta).isoformat())


# Further ahead than the file is long: nothing of the meter's own can collide with these
# (a shorter offset inside the file meets the meter's own reading there: a conflict).
@pytest.mark.parametrize("ahead", [timedelta(days=2.5), timedelta(days=365)])
def test_a_fast_clock_moves_no_one_elses_time(corpus: Corpus, ahead: timedelta) -> None:
    valid = corpus.valid()
    meter = corpus.quiet_meter(valid)
    own = [i for i in valid if orjson.loads(corpus.lines[i])["household_id"] == meter]
    fast = [_shifted(corpus.lines[i], ahead) for i in own[:2]]
    lines = corpus.lines[:10] + fast + corpus.lines[10:]  # early in the file, as in the field
    got = corpus.run(f"fast_clock_{ahead.total_seconds():.0f}", lines)
    _same_as_clean(corpus, got)
    _assert_scored_perfect(corpus, got, {f"meter_clock_fault:{meter}"})
    extra = got.dead - corpus.clean.dead
    assert sum(extra.values()) == 2
    for _raw, reason in extra:
        assert reason.startswith(f"clock fault: household {meter} stamped")
    assert {11, 12} <= got.dead_line_nos  # the input line numbers of the two fast readings
    clock = [orjson.loads(x) for x in got.incidents if b"meter_clock_fault" in x]
    first, second = (orjson.loads(x)["ts"] for x in fast)
    assert [(c["entity_id"], c["started_at"], c["details"]) for c in clock] == [
        (
            meter,
            first,
            {"rejected_readings": 2, "first_rejected_ts": first, "last_rejected_ts": second},
        )
    ]
    assert got.summary["days_rolled_up"] == 2  # no empty days up to the fast clock's date


@pytest.mark.slow  # two replays of the corpus each
@pytest.mark.parametrize("ahead", [timedelta(hours=6), timedelta(days=1, hours=3)])
def test_a_clock_fast_by_less_than_the_file_is_a_clock_fault_not_conflicts(
    corpus: Corpus, ahead: timedelta
) -> None:
    """The fast copies meet the meter's own readings at their stamps: by the offset they
    repeat its earlier values at, they are its clock's fault, not conflicts."""
    valid = corpus.valid()
    meter = corpus.quiet_meter(valid)
    own = [i for i in valid if orjson.loads(corpus.lines[i])["household_id"] == meter]
    fast = [_shifted(corpus.lines[i], ahead) for i in own[:3]]
    lines = corpus.lines[:10] + fast + corpus.lines[10:]
    got = corpus.run(f"fast_inside_{ahead.total_seconds():.0f}", lines)
    _same_as_clean(corpus, got)
    _assert_scored_perfect(corpus, got, {f"meter_clock_fault:{meter}"})
    assert got.summary["conflicts"] == corpus.clean.summary["conflicts"]
    extra = got.dead - corpus.clean.dead
    assert sum(extra.values()) == 3
    for _raw, reason in extra:
        assert reason.startswith(f"clock fault: household {meter} stamped")
        assert "collides with the meter's own reading" in reason
    clock = [orjson.loads(x) for x in got.incidents if b"meter_clock_fault" in x]
    first = orjson.loads(fast[0])["ts"]
    assert [
        (c["entity_id"], c["started_at"], c["details"]["rejected_readings"]) for c in clock
    ] == [(meter, first, 3)]
    shuffled = lines[:]
    random.Random(3).shuffle(shuffled)
    again = corpus.run(f"fast_inside_shuffled_{ahead.total_seconds():.0f}", shuffled)
    assert again.incidents == got.incidents and again.rollups == got.rollups


def test_1970_and_9999_are_refused_in_bounded_time(corpus: Corpus) -> None:
    valid = corpus.valid()
    lines = corpus.lines[:]
    lines.insert(200, _edit(corpus.lines[valid[3]], ts="1970-01-01T00:30:00Z"))
    lines.insert(5000, _edit(corpus.lines[valid[4]], ts="9999-12-31T23:45:00+08:00"))
    lines.insert(0, _edit(corpus.lines[valid[5]], ts="1970-01-01T00:00:00+08:00"))
    got = corpus.run("epoch_and_year_9999", lines)
    _same_as_clean(corpus, got)
    extra = got.dead - corpus.clean.dead
    assert sum(extra.values()) == 3
    assert all("outside the programme's window" in reason for _, reason in extra)
    assert got.summary["days_rolled_up"] == 2


def test_a_concentrator_uploading_3h_late_loses_nothing(corpus: Corpus) -> None:
    """An electric feeder's concentrator and a gas station's (its households' gas meters and
    the station itself) upload 3 h of readings late."""
    feeder = orjson.loads(corpus.lines[corpus.valid(b'"feeder"')[0]])["feeder_id"]
    station = next(h.gas_station_id for h in corpus.registry if h.gas_station_id)
    members = {
        h.household_id
        for h in corpus.registry
        if h.feeder_id == feeder or h.gas_station_id == station
    }
    t0 = datetime.fromisoformat("2021-12-01T10:00:00+08:00")
    window = (t0, t0 + timedelta(hours=3))
    held, kept = [], []
    moved = 0
    for line in corpus.lines:
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            kept.append(line)
            continue
        when = _aware(obj)
        mine = isinstance(obj, dict) and (
            obj.get("household_id") in members
            or obj.get("feeder_id") == feeder
            or obj.get("station_id") == station
        )
        if mine and when is not None and window[0] < when <= window[1]:
            held.append(line)
            moved += 1
            continue
        kept.append(line)
        if held and when is not None and when >= window[1] + timedelta(hours=3):
            kept.extend(held)  # the upload after the GPRS outage
            held = []
    assert not held and moved >= 12 * (len(members) + 1)
    got = corpus.run("late_concentrator", kept)
    _same_as_clean(corpus, got)
    assert got.dead == corpus.clean.dead


def test_absurd_values_are_refused_and_raise_nothing(corpus: Corpus) -> None:
    storage = {h.household_id for h in corpus.registry if h.heating_device == "storage_heater"}
    heater = next(
        i for i in corpus.valid() if orjson.loads(corpus.lines[i])["household_id"] in storage
    )
    feeder = corpus.valid(b'"feeder"')[7]
    gas = corpus.valid(b'"gas"')[3]
    lines = corpus.lines[:]
    absurd = [
        _shifted(_edit(corpus.lines[heater], kwh=1e308), timedelta(minutes=1)),
        _shifted(_edit(corpus.lines[feeder], kw=1e308), timedelta(minutes=1)),
        _shifted(_edit(corpus.lines[gas], m3=5e4), timedelta(minutes=1)),
        _shifted(_edit(corpus.lines[heater], interval_s=7), timedelta(minutes=2)),
        _shifted(_edit(corpus.lines[heater], voltage_v=22000.0), timedelta(minutes=3)),
    ]
    for a in absurd:
        lines.insert(heater + 1, a)
    got = corpus.run("absurd", lines)
    _same_as_clean(corpus, got)
    extra = got.dead - corpus.clean.dead
    assert sum(extra.values()) == len(absurd)
    assert all(reason.startswith("implausible: ") for _, reason in extra)
    assert got.summary["implausible"] == len(absurd)


def test_a_bom_on_the_first_line_loses_nothing(corpus: Corpus) -> None:
    lines = corpus.lines[:]
    lines[0] = b"\xef\xbb\xbf" + lines[0]
    got = corpus.run("bom", lines)
    _same_as_clean(corpus, got)
    assert got.dead == corpus.clean.dead


def test_crlf_line_endings_change_nothing(corpus: Corpus) -> None:
    got = corpus.run("crlf", [line.rstrip(b"\n") + b"\r\n" for line in corpus.lines])
    _same_as_clean(corpus, got)
    assert sum(got.dead.values()) == sum(corpus.clean.dead.values())


def test_a_registry_saved_by_excel_on_chinese_windows_gives_the_same_run(
    corpus: Corpus,
) -> None:
    text = (corpus.sim / "registry.csv").read_text(encoding="utf-8")
    gbk = corpus.tmp / "registry-gbk.csv"
    gbk.write_bytes(text.replace("\n", "\r\n").encode("gb18030"))
    loaded = load_registry(gbk)
    assert (loaded.encoding, loaded.line_endings) == ("GB18030", "CRLF")
    assert loaded.households == corpus.registry
    got = corpus.run("gbk_registry", corpus.lines, loaded.households)
    _same_as_clean(corpus, got)
