"""Charts as PNG bytes (matplotlib, Agg backend, CJK font)."""

from __future__ import annotations

import io
import logging
from datetime import date
from typing import Any

import numpy as np

from heatwatch.report.fonts import matplotlib_font_family


def _plt() -> Any:
    import matplotlib

    # matplotlib logs a "findfont" line per chart for CJK fonts without a 'normal' weight
    # entry; the font is found and used, so the lines are noise for the person running this.
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.family"] = [matplotlib_font_family(), "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def _png(fig: object) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")  # type: ignore[attr-defined]
    _plt().close(fig)
    return buf.getvalue()


def availability_histogram(
    availability: np.ndarray, threshold: float, title: str, ylabel: str
) -> bytes:
    plt = _plt()
    a = availability[~np.isnan(availability)] * 100
    lo = min(90.0, float(np.floor(threshold * 100)) - 2)
    clipped = np.clip(a, lo, 100)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    bins = np.linspace(lo, 100, 41)
    ax.hist(clipped, bins=bins, color="#4a7fb5", edgecolor="white", linewidth=0.3)
    ax.axvline(threshold * 100, color="#b22222", linestyle="--", linewidth=1.2)
    ax.text(threshold * 100, ax.get_ylim()[1] * 0.92, f" {threshold:.0%}", color="#b22222")
    ax.set_xlabel(f"% (≤{lo:g}% → {lo:g})")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return _png(fig)


def interruptions_by_month(
    months: list[date], counties: list[str], by_month: np.ndarray, title: str, ylabel: str
) -> bytes:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.4))
    x = np.arange(len(months))
    bottom = np.zeros(len(months))
    cmap = plt.get_cmap("tab20")
    order: list[int] = np.argsort(-by_month.sum(axis=1)).tolist() if len(counties) else []
    for k, c in enumerate(order):
        ax.bar(x, by_month[c], bottom=bottom, label=counties[c], color=cmap(k % 20), width=0.7)
        bottom += by_month[c]
    ax.set_xticks(x, [m.strftime("%Y-%m") for m in months])
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if len(counties):
        ax.legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _png(fig)


def village_map(
    lon: np.ndarray,
    lat: np.ndarray,
    households: np.ndarray,
    share_bad: np.ndarray,
    title: str,
    cbar_label: str,
) -> bytes:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 5))
    ok = ~(np.isnan(lon) | np.isnan(lat))
    size = 4 + 40 * np.sqrt(households[ok] / max(float(households[ok].max(initial=1)), 1.0))
    sc = ax.scatter(
        lon[ok],
        lat[ok],
        s=size,
        c=share_bad[ok] * 100,
        cmap="RdYlGn_r",
        vmin=0,
        vmax=100,
        alpha=0.75,
        linewidths=0,
    )
    fig.colorbar(sc, ax=ax, label=cbar_label + " %")
    ax.set_xlabel("lon")
    ax.set_ylabel("lat")
    ax.set_title(title)
    ax.set_aspect(1.25)
    return _png(fig)
