"""Score incidents against a simulator's ground truth: every injected fault found, nothing
raised on healthy entities, every malformed line dead-lettered."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from contract.incidents import Incident, IncidentKind

# Daily judgements (valley share, quota projection) are made at day close: their start is a
# day boundary, so they match within two days; everything else within two meter intervals.
_DAILY_KINDS = {IncidentKind.PEAK_CHARGING, IncidentKind.GAS_QUOTA_RISK}


@dataclass(frozen=True)
class ExpectedIncident:
    fault: str
    kind: IncidentKind
    entity_id: str
    start: float
    parent: tuple[str, str] | None


@dataclass
class Score:
    found: list[tuple[ExpectedIncident, Incident]] = field(default_factory=list)
    missed: list[ExpectedIncident] = field(default_factory=list)
    wrong_parent: list[tuple[ExpectedIncident, Incident]] = field(default_factory=list)
    unexpected: list[Incident] = field(default_factory=list)
    malformed_expected: int = 0
    malformed_dead_lettered: int = 0
    malformed_missed: list[int] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    use: UseScore | None = None  # issue 24: under-use and empty homes against use_truth.jsonl

    @property
    def perfect(self) -> bool:
        use_ok = self.use is None or self.use.perfect
        return use_ok and not (
            self.missed or self.wrong_parent or self.unexpected or self.malformed_missed
        )

    def by_kind(self) -> dict[str, tuple[int, int, int]]:
        """kind → (expected, found, unexpected)."""
        exp: Counter[str] = Counter(e.kind.value for e, _ in self.found)
        exp.update(e.kind.value for e in self.missed)
        found: Counter[str] = Counter(e.kind.value for e, _ in self.found)
        extra: Counter[str] = Counter(i.kind.value for i in self.unexpected)
        kinds = sorted(set(exp) | set(extra))
        return {k: (exp[k], found[k], extra[k]) for k in kinds}


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def load_ground_truth(
    path: Path,
) -> tuple[list[ExpectedIncident], list[dict[str, Any]], dict[str, Any]]:
    expected: list[ExpectedIncident] = []
    malformed: list[dict[str, Any]] = []
    facts: dict[str, Any] = {}
    for line in path.read_bytes().splitlines():
        if not line.strip():
            continue
        row = orjson.loads(line)
        if row["fault"] == "malformed":
            malformed.append(row)
        elif "kind" in row:
            parent = row.get("parent")
            expected.append(
                ExpectedIncident(
                    fault=row["fault"],
                    kind=IncidentKind(row["kind"]),
                    entity_id=row["entity_id"],
                    start=_epoch(row["start"]),
                    parent=(parent["kind"], parent["entity_id"]) if parent else None,
                )
            )
        else:
            facts[row["fault"]] = row
    return expected, malformed, facts


def _closest_unmatched(
    exp: ExpectedIncident,
    pool: dict[tuple[str, str], list[Incident]],
    matched: set[str],
    interval_s: int,
) -> Incident | None:
    """The unmatched incident of the same kind and entity starting closest to the expected one,
    within two intervals (two days for the daily judgements)."""
    tolerance = 2 * 86_400 if exp.kind in _DAILY_KINDS else 2 * interval_s
    candidates = [
        i
        for i in pool.get((exp.kind.value, exp.entity_id), [])
        if i.incident_id not in matched and abs(i.started_at.timestamp() - exp.start) <= tolerance
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda i: abs(i.started_at.timestamp() - exp.start))


def score(
    incidents: list[Incident],
    ground_truth: Path,
    dead_letter_lines: set[int],
    interval_s: int = 900,
) -> Score:
    expected, malformed, facts = load_ground_truth(ground_truth)
    result = Score(facts=facts)
    by_id = {i.incident_id: i for i in incidents}
    pool: dict[tuple[str, str], list[Incident]] = {}
    for inc in incidents:
        pool.setdefault((inc.kind.value, inc.entity_id), []).append(inc)
    matched: set[str] = set()
    for exp in expected:
        best = _closest_unmatched(exp, pool, matched, interval_s)
        if best is None:
            result.missed.append(exp)
            continue
        matched.add(best.incident_id)
        parent = by_id.get(best.parent_id) if best.parent_id else None
        got_parent = (parent.kind.value, parent.entity_id) if parent else None
        if got_parent != exp.parent:
            result.wrong_parent.append((exp, best))
        else:
            result.found.append((exp, best))
    result.unexpected = [i for i in incidents if i.incident_id not in matched]
    result.malformed_expected = len(malformed)
    missed_lines = [m["line_no"] for m in malformed if m["line_no"] not in dead_letter_lines]
    result.malformed_missed = missed_lines
    result.malformed_dead_lettered = len(malformed) - len(missed_lines)
    return result


def read_incidents(path: Path) -> list[Incident]:
    return [
        Incident.model_validate_json(line)
        for line in path.read_bytes().splitlines()
        if line.strip()
    ]


def read_dead_letter_lines(path: Path) -> set[int]:
    return {
        orjson.loads(line)["line_no"] for line in path.read_bytes().splitlines() if line.strip()
    }


# The use judgement's states scored as detections (a household is found, missed or falsely
# flagged); "used" and "not_judged" are the absence of a finding.
USE_SCORED = ("under_used", "empty")


@dataclass
class UseScore:
    """Use states against the simulator's use truth (``use_truth.jsonl``)."""

    # state -> (expected, found, false)
    by_state: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    # behaviour (use_kind) -> state it was expected / found in -> households
    by_behaviour: dict[str, Counter[str]] = field(default_factory=dict)
    missed: list[str] = field(default_factory=list)  # household ids
    false: list[str] = field(default_factory=list)
    judged: int = 0  # households the judgement gave a state other than not_judged
    # the heat-network homes judged on their heat meter (truth ``heat_meter``), apart: a
    # subset of ``by_state`` (issue 24), so their found/missed/false show on their own
    network: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    network_judged: int = 0

    @property
    def perfect(self) -> bool:
        return not (self.missed or self.false)

    @property
    def scored(self) -> bool:
        """Whether the run was long enough for anything to be expected or judged."""
        return self.judged > 0 or any(e for e, _, _ in self.by_state.values())


def read_use_truth(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in path.read_bytes().splitlines() if x.strip()]


def score_use(truth: list[dict[str, Any]], states: dict[str, str]) -> UseScore:
    """Found / missed / false per use state; ``states``: household id -> judged state."""
    out = UseScore()
    exp: Counter[str] = Counter()
    found: Counter[str] = Counter()
    false: Counter[str] = Counter()
    net: Counter[str] = Counter()  # "exp:state" / "found:state" / "false:state"
    for row in truth:
        hid, want = row["household_id"], row["expected"]
        got = states.get(hid, "not_judged")
        on_net = bool(row.get("heat_meter"))
        out.judged += got != "not_judged"
        out.network_judged += on_net and got != "not_judged"
        out.by_behaviour.setdefault(row["use_kind"], Counter())[f"{want}->{got}"] += 1
        for st in USE_SCORED:
            if want == st:
                exp[st] += 1
                net[f"exp:{st}"] += on_net
                if got == st:
                    found[st] += 1
                    net[f"found:{st}"] += on_net
                else:
                    out.missed.append(hid)
            elif got == st:
                false[st] += 1
                net[f"false:{st}"] += on_net
                out.false.append(hid)
    out.by_state = {st: (exp[st], found[st], false[st]) for st in USE_SCORED}
    out.network = {
        st: (net[f"exp:{st}"], net[f"found:{st}"], net[f"false:{st}"]) for st in USE_SCORED
    }
    return out
