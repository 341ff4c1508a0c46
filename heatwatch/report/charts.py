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


def availability_matrix(
    mean_availability: np.ndarray,
    households: np.ndarray,
    counties: list[str],
    retrofits: list[str],
    threshold: float,
    title: str,
) -> bytes:
    """Heat map county × retrofit type of mean availability (%), households in brackets;
    cells below ``threshold`` in red shades, empty cells blank."""
    plt = _plt()
    n_c, n_r = len(counties), len(retrofits)
    fig, ax = plt.subplots(figsize=(1.4 + 0.95 * max(n_r, 1), 0.9 + 0.4 * max(n_c, 1)))
    shown = np.where(households > 0, mean_availability * 100, np.nan)
    lo = min(float(np.nanmin(shown)) if np.isfinite(shown).any() else 100.0, threshold * 100)
    im = ax.imshow(shown, cmap="RdYlGn", vmin=max(lo - 1, 0), vmax=100, aspect="auto")
    for i in range(n_c):
        for j in range(n_r):
            if households[i, j] > 0:
                # dark ends of the colour scale get white text
                share = (shown[i, j] - im.norm.vmin) / max(im.norm.vmax - im.norm.vmin, 1e-9)
                ink = "white" if share > 0.8 or share < 0.15 else "black"
                ax.text(j, i, f"{shown[i, j]:.1f}\n({int(households[i, j])})", ha="center",
                        va="center", fontsize=8, color=ink)  # fmt: skip
    ax.set_xticks(range(n_r), retrofits, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(n_c), counties, fontsize=8)
    fig.colorbar(im, ax=ax, label="%", shrink=0.8)
    ax.set_title(title, fontsize=9)
    return _png(fig)


def interruptions_by_month(
    months: list[date],
    counties: list[str],
    by_month: np.ndarray,
    title: str,
    ylabel: str,
    xlabel: str = "",
    *,
    has_data: list[bool] | None = None,
    no_data_label: str = "",
) -> bytes:
    """Stacked bars of interruptions per month and county. A count axis: from 0, integer
    ticks (a quiet season must not show −0.04…0.04). Months without any data get no bar but
    ``no_data_label`` (zero bars would read as "no problems")."""
    plt = _plt()
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(7, 3.4))
    x = np.arange(len(months))
    shown = np.array(has_data if has_data is not None else [True] * len(months), bool)
    data = np.where(shown[None, :], by_month, 0) if by_month.size else by_month
    bottom = np.zeros(len(months))
    cmap = plt.get_cmap("tab20")
    order: list[int] = np.argsort(-data.sum(axis=1)).tolist() if len(counties) else []
    for k, c in enumerate(order):
        ax.bar(x[shown], data[c][shown], bottom=bottom[shown], label=counties[c],
               color=cmap(k % 20), width=0.7)  # fmt: skip
        bottom += data[c]
    top = max(float(bottom.max()) if len(bottom) else 0.0, 1.0)
    ax.set_ylim(0, top * 1.15)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    for xi, total, ok in zip(x, bottom, shown, strict=True):
        if ok:
            ax.text(xi, total, f"{int(total)}", ha="center", va="bottom", fontsize=7)
        else:
            ax.bar(xi, top * 1.15, width=0.7, color="none", edgecolor="#bbbbbb", hatch="//")
            ax.text(xi, top * 0.55, no_data_label, ha="center", va="center", fontsize=8,
                    color="#666666")  # fmt: skip
    ax.set_xticks(x, [m.strftime("%Y-%m") for m in months])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if len(counties) and shown.any():
        ax.legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _png(fig)
