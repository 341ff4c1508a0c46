"""Xinzhou winter weather per county: daily cycle, a cold spell, mountain counties colder."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from contract.geography import COUNTIES
from producers.fleet import TEMP_OFFSETS_C

F64 = npt.NDArray[np.float64]


class Weather:
    """Deterministic temperatures for ``days`` days (plus one either side) from local midnight.

    Daily minimum around 06:00 (~ -13 °C), maximum around 14:00 (~ -1 °C), smooth half-cosine
    transitions, day-to-day variation, a 2-3 day cold spell (~ -6 °C) and per-county offsets.
    """

    def __init__(self, days: int, seed: int) -> None:
        rng = np.random.default_rng([seed, 1])
        nd = days + 4  # index 0 = two days before the first day
        offsets = np.array(TEMP_OFFSETS_C)
        day_noise = rng.normal(0.0, 1.2, nd)
        spell = np.zeros(nd)
        cs = int(rng.integers(1, days - 2)) if days >= 4 else min(1, days - 1)
        depth = float(rng.uniform(5.0, 7.0))
        length = int(rng.integers(2, 4))
        spell[2 + cs : 2 + cs + length] = -depth
        spell[2 + cs - 1] += -depth / 3
        if 2 + cs + length < nd:
            spell[2 + cs + length] += -depth / 3
        county_noise = rng.normal(0.0, 0.5, (len(COUNTIES), nd))
        tmin = -13.5 + day_noise + spell
        tmax = tmin + rng.uniform(11.0, 14.0, nd)
        self.tmin = tmin[None, :] + offsets[:, None] + county_noise
        self.tmax = tmax[None, :] + offsets[:, None] + county_noise

    def temp(self, hours: F64) -> F64:
        """Temperatures (counties x len(hours)); ``hours`` since local midnight of day 0."""
        h = np.asarray(hours, dtype=np.float64)
        d = np.floor(h / 24.0).astype(np.int64) + 2  # index into tmin/tmax
        d = np.clip(d, 1, self.tmin.shape[1] - 2)
        tod = h - (d - 2) * 24.0
        tmin_d = self.tmin[:, d]
        tmax_d = self.tmax[:, d]
        rising = (tod >= 6.0) & (tod < 14.0)
        late = tod >= 14.0
        out = np.empty_like(tmin_d)
        # 06:00 -> 14:00 rise
        w = (1.0 - np.cos(np.pi * (tod - 6.0) / 8.0)) / 2.0
        out[:] = tmin_d + (tmax_d - tmin_d) * w
        # 14:00 -> next 06:00 fall
        s_late = tod - 14.0
        w_late = (1.0 + np.cos(np.pi * s_late / 16.0)) / 2.0
        fall_late = self.tmin[:, d + 1] + (tmax_d - self.tmin[:, d + 1]) * w_late
        s_early = tod + 10.0
        w_early = (1.0 + np.cos(np.pi * s_early / 16.0)) / 2.0
        fall_early = tmin_d + (self.tmax[:, d - 1] - tmin_d) * w_early
        out = np.where(rising, out, np.where(late, fall_late, fall_early))
        return np.asarray(out, dtype=np.float64)
