"""Columnar inputs: rollup rows as numpy arrays plus a per-household attribute table.

Rows reference households by integer code (``household`` = index into ``HouseholdTable``),
days as days since 1970-01-01. Categorical attributes are codes into small label lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt

EPOCH = date(1970, 1, 1)
NO_DATE = np.iinfo(np.int32).min

I32 = npt.NDArray[np.int32]
I8 = npt.NDArray[np.int8]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


def day_number(d: date) -> int:
    return (d - EPOCH).days


def from_day_number(n: int) -> date:
    return date.fromordinal(EPOCH.toordinal() + int(n))


@dataclass(frozen=True)
class HouseholdTable:
    """One entry per household (registry ∪ rollups). Unknown values: -1 / NaN / NO_DATE."""

    ids: list[str]
    county: I32
    counties: list[str]
    village: I32
    villages: list[str]
    retrofit: I32
    retrofits: list[str]
    priority: I32
    priorities: list[str]
    old_heating_present: I8 = field(default_factory=lambda: np.empty(0, np.int8))
    retrofit_completed: I32 = field(default_factory=lambda: np.empty(0, np.int32))
    lat: F64 = field(default_factory=lambda: np.empty(0, np.float64))
    lon: F64 = field(default_factory=lambda: np.empty(0, np.float64))
    area_m2: F64 = field(default_factory=lambda: np.empty(0, np.float64))  # heated m² (issue 24)
    # the heat station a network home hangs on (code into ``stations``; -1 none / unknown):
    # its heat-meter homes' peers on the same network (issue 24)
    station: I32 = field(default_factory=lambda: np.empty(0, np.int32))
    stations: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.ids)
        for name in ("county", "village", "retrofit", "priority"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"HouseholdTable.{name} has {len(getattr(self, name))} != {n}")
        defaults: dict[str, tuple[object, type]] = {
            "old_heating_present": (-1, np.int8),
            "retrofit_completed": (NO_DATE, np.int32),
            "lat": (np.nan, np.float64),
            "lon": (np.nan, np.float64),
            "area_m2": (np.nan, np.float64),
            "station": (-1, np.int32),
        }
        for name, (fill, dtype) in defaults.items():
            arr = getattr(self, name)
            if len(arr) == 0 and n:
                object.__setattr__(self, name, np.full(n, fill, dtype=dtype))
            elif len(arr) != n:
                raise ValueError(f"HouseholdTable.{name} has {len(arr)} != {n}")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def is_priority(self) -> B:
        none_code = self.priorities.index("none") if "none" in self.priorities else -2
        out: B = (self.priority != none_code) & (self.priority >= 0)
        return out


@dataclass(frozen=True)
class RollupColumns:
    """HouseholdDay rows as arrays (any order; duplicates: the last row wins)."""

    household: I32
    day: I32
    available: F32
    outage: F32
    shortfall: F32
    no_data: F32
    interruptions: I32
    county_min_temp: F32  # NaN = unknown
    # HouseholdDay.evidence per row: a code into ``evidences`` (-1 = not recorded); empty when
    # the rollups predate the field.
    evidence: I8 = field(default_factory=lambda: np.empty(0, np.int8))
    evidences: list[str] = field(default_factory=list)
    # Use and cost (issue 24): the day's metered energy, valley-window energy and gas, the
    # county's mean temperature (NaN unknown) and the heating device (code into ``devices``,
    # -1 unknown). Empty when the caller did not read them (the verdict then ignores use).
    energy: F32 = field(default_factory=lambda: np.empty(0, np.float32))
    valley: F32 = field(default_factory=lambda: np.empty(0, np.float32))
    gas: F32 = field(default_factory=lambda: np.empty(0, np.float32))
    county_mean_temp: F32 = field(default_factory=lambda: np.empty(0, np.float32))
    device: I8 = field(default_factory=lambda: np.empty(0, np.int8))
    devices: list[str] = field(default_factory=list)
    # a network home's delivered heat at its own heat meter, kWh (NaN: no meter reading that
    # day; empty when the rollups predate it)
    heat: F32 = field(default_factory=lambda: np.empty(0, np.float32))
    # a storage heater's part of its home's meter, kWh (NaN: not a storage home; empty when the
    # rollups predate it)
    heater: F32 = field(default_factory=lambda: np.empty(0, np.float32))

    def __post_init__(self) -> None:
        n = len(self.household)
        for opt in (
            "evidence",
            "energy",
            "valley",
            "gas",
            "county_mean_temp",
            "device",
            "heat",
            "heater",
        ):
            if len(getattr(self, opt)) not in (0, n):
                raise ValueError(f"RollupColumns.{opt} length differs from household ({n})")
        for name in (
            "day",
            "available",
            "outage",
            "shortfall",
            "no_data",
            "interruptions",
            "county_min_temp",
        ):
            if len(getattr(self, name)) != n:
                raise ValueError(f"RollupColumns.{name} length differs from household ({n})")

    def __len__(self) -> int:
        return len(self.household)
