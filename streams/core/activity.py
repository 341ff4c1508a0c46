"""Active incidents as metrics: the ``active_incidents`` snapshot of a partition.

Open incidents by (county, kind, severity, domain), zeros included, so that a live dashboard
series never goes silent and a resolved incident is visibly zero. A pure function of the
incident book and the partition's counties; the engine shows it (``Engine.snapshot``) and
the worker writes it as event time passes (``streams/snapshot.py``).
"""

from __future__ import annotations

from collections.abc import Iterable

from contract.incidents import IncidentKind, Severity
from streams.core.context import Metric
from streams.core.gas import SEVERITIES as GAS_SEVERITIES
from streams.core.heat import DOMAIN_SEVERITIES, snapshot_domain
from streams.core.heat import SEVERITIES as HEAT_SEVERITIES
from streams.core.incidents import IncidentBook
from streams.core.outages import SEVERITIES as OUTAGE_SEVERITIES
from streams.core.storage import SEVERITIES as STORAGE_SEVERITIES

# county, kind, severity, domain ("" except a heat device's comm_loss: streams.core.heat)
SnapshotKey = tuple[str, str, str, str]
# The (kind, severities) the detectors open incidents with, declared next to each detector.
OCCURRING_SEVERITIES: dict[IncidentKind, tuple[Severity, ...]] = {
    **OUTAGE_SEVERITIES,
    **STORAGE_SEVERITIES,
    **GAS_SEVERITIES,
    **HEAT_SEVERITIES,
}


def snapshot_tags(county: str, kind: str, severity: str, domain: str) -> dict[str, str]:
    """An ``active_incidents`` row's tags; ``domain`` only when there is one."""
    tags = {"county": county, "kind": kind, "severity": severity}
    if domain:
        tags["domain"] = domain
    return tags


def occurring_keys(counties: Iterable[str]) -> list[SnapshotKey]:
    """The snapshot rows that can be non-zero (``OCCURRING_SEVERITIES``, and the domain-tagged
    ``DOMAIN_SEVERITIES``), per county: the ones a snapshot writes zeros for."""
    pairs = [(k.value, s.value, "") for k, sevs in OCCURRING_SEVERITIES.items() for s in sevs]
    pairs += [(k.value, s.value, d) for (k, d), sevs in DOMAIN_SEVERITIES.items() for s in sevs]
    return [(county, kind, sev, domain) for county in counties for kind, sev, domain in pairs]


def active_counts(book: IncidentBook) -> dict[SnapshotKey, list[int]]:
    """Open incidents by (county, kind, severity, domain): count, households affected,
    priority households, top-level (no parent) — non-zero combinations only."""
    counts: dict[SnapshotKey, list[int]] = {}
    for inc in book.open_incidents.values():
        key = (inc.county, inc.kind.value, inc.severity.value, snapshot_domain(inc))
        agg = counts.get(key)
        if agg is None:
            agg = counts[key] = [0, 0, 0, 0]
        agg[0] += 1
        agg[1] += inc.households_affected
        agg[2] += inc.priority_households
        agg[3] += inc.parent_id is None
    return counts


def active_metrics(book: IncidentBook, counties: Iterable[str], now: int) -> list[Metric]:
    """Active incidents by county, kind and severity — zeros included."""
    counties = list(counties)
    counts: dict[SnapshotKey, list[int]] = {
        (county, kind.value, sev.value, ""): [0, 0, 0, 0]
        for county in counties
        for kind in IncidentKind
        for sev in Severity
    }
    counts.update({key: [0, 0, 0, 0] for key in occurring_keys(counties)})
    counts.update(active_counts(book))
    return [
        Metric(
            "active_incidents",
            snapshot_tags(county, kind, sev, domain),
            {"count": c, "households_affected": h, "priority_households": p, "top_level": top},
            now,
        )
        for (county, kind, sev, domain), (c, h, p, top) in sorted(counts.items())
    ]
