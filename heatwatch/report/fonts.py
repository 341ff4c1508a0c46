"""Finding a CJK TrueType font for the PDF (reportlab) and the charts (matplotlib)."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

# reportlab needs TrueType outlines: the CFF-based Noto CJK .ttc files do not work there.
KNOWN_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),  # apt: fonts-wqy-zenhei
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),  # apt: fonts-wqy-microhei
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),  # apt: fonts-arphic-uming
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),  # apt: fonts-droid-fallback
)
APT_PACKAGE = "fonts-wqy-zenhei"
FONT_NAME = "HeatwatchCJK"


class FontMissingError(RuntimeError):
    pass


@cache
def cjk_font() -> tuple[Path, int]:
    """Path and sub-font index of a CJK TrueType font; ``HEATWATCH_CJK_FONT`` overrides."""
    env = os.environ.get("HEATWATCH_CJK_FONT")
    if env:
        if not Path(env).is_file():
            raise FontMissingError(f"HEATWATCH_CJK_FONT={env} does not exist")
        return Path(env), 0
    for path, index in KNOWN_FONTS:
        if Path(path).is_file():
            return Path(path), index
    raise FontMissingError(
        "No Chinese (CJK) TrueType font found for the PDF/charts. Install one with\n"
        f"  apt-get install -y {APT_PACKAGE}\n"
        "or point HEATWATCH_CJK_FONT at a .ttf/.ttc file with TrueType outlines. Looked in:\n  "
        + "\n  ".join(p for p, _ in KNOWN_FONTS)
    )


@cache
def register_reportlab_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    path, index = cjk_font()
    pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), subfontIndex=index))
    return FONT_NAME


@cache
def matplotlib_font_family() -> str:
    from matplotlib import font_manager

    path, _ = cjk_font()
    font_manager.fontManager.addfont(str(path))
    name: str = font_manager.FontProperties(fname=str(path)).get_name()
    return name
