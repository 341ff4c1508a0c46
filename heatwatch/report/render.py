"""A tiny document model rendered to both HTML and PDF (reportlab, embedded CJK font)."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from heatwatch.report.fonts import register_reportlab_font


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 1


@dataclass(frozen=True)
class Para:
    text: str
    small: bool = False
    warn: bool = False  # a warning the reader must not miss (bold, red)


@dataclass(frozen=True)
class Bullets:
    items: list[str]


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]
    note: str = ""
    # relative column widths (PDF); None = equal
    widths: list[float] | None = None
    wrap: set[int] = field(default_factory=set)  # columns whose cells wrap as paragraphs
    row_height_mm: float = 0.0  # > 0: data rows this tall (space to sign in)


def _rows(table: Table) -> list[list[str]]:
    """An empty table shows a dash row, so a reader sees "none", not a broken table."""
    return table.rows or [["—"] + [""] * (len(table.headers) - 1)]


@dataclass(frozen=True)
class Image:
    png: bytes
    caption: str
    width_frac: float = 0.9


@dataclass(frozen=True)
class PageBreak:
    pass


@dataclass(frozen=True)
class Section:
    """Starts a document of its own inside one file (a village's notice): the PDF footer
    names it and numbers its pages from 1 ("第 2/3 页"), not the file's."""

    name: str


Block = Heading | Para | Bullets | Table | Image | PageBreak | Section

_CSS = """
body{font-family:"WenQuanYi Zen Hei","Noto Sans CJK SC","Microsoft YaHei",sans-serif;
margin:2em;color:#222;max-width:1200px}
h1{font-size:1.6em;border-bottom:2px solid #b22;padding-bottom:.2em}
h2{font-size:1.25em;margin-top:1.6em;color:#822}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em}
th,td{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3e9e9}tr:nth-child(even) td{background:#fafafa}
.note{color:#666;font-size:.85em}.warn{color:#b22;font-weight:bold;border:2px solid #b22;padding:.4em}.small{font-size:.85em;color:#444}
figure{margin:1em 0}figcaption{font-size:.9em;color:#444}img{max-width:100%}
"""


_DRAFT_CSS = """
.draft{position:sticky;top:0;background:#fff3f3;color:#b22;font-weight:bold;
border:2px solid #b22;padding:.4em;z-index:9}
@media print{.draft{position:fixed;top:0;left:0;right:0}
body::after{content:attr(data-mark);position:fixed;top:45%;left:10%;font-size:64px;
color:rgba(178,34,34,.12);transform:rotate(-30deg)}}
"""


def to_html(title: str, blocks: list[Block], lang: str, mark: str | None = None) -> str:
    """``mark``: a draft mark shown at the top of the page (and on every printed page)."""
    e = html.escape
    css = _CSS + (_DRAFT_CSS if mark else "")
    body = f' data-mark="{e(mark.split(" ")[0])}"' if mark else ""
    out = [
        f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
        f'<meta charset="utf-8"><title>{e(title)}</title><style>{css}</style></head>'
        f"<body{body}>"
    ]
    if mark:
        out.append(f'<div class="draft">{e(mark)}</div>')
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"<h{b.level}>{e(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            cls = "warn" if b.warn else "small" if b.small else ""
            out.append(f'<p class="{cls}">{e(b.text)}</p>')
        elif isinstance(b, Bullets):
            out.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{e(h)}</th>" for h in b.headers)
            style = f' style="height:{b.row_height_mm}mm"' if b.row_height_mm else ""
            body = "".join(
                f"<tr{style}>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in _rows(b)
            )
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            if b.note:
                out.append(f'<p class="note">{e(b.note)}</p>')
        elif isinstance(b, Image):
            data = base64.b64encode(b.png).decode("ascii")
            out.append(
                f'<figure><img alt="{e(b.caption)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{e(b.caption)}</figcaption></figure>"
            )
    out.append("</body></html>")
    return "\n".join(out)


_PAGE_MARGIN_MM = 12


def _styles(lang: str) -> dict[str | int, Any]:
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle

    font = register_reportlab_font()
    wrap = "CJK" if lang == "zh" else None
    base = ParagraphStyle("base", fontName=font, fontSize=9, leading=12.5, wordWrap=wrap)
    small = ParagraphStyle("small", parent=base, fontSize=8, leading=10.5)
    return {
        "font": font,
        "base": base,
        "small": small,
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9.5),
        "note": ParagraphStyle("note", parent=small, textColor=colors.HexColor("#666666")),
        "warn": ParagraphStyle(
            "warn",
            parent=base,
            fontSize=10.5,
            leading=14,
            textColor=colors.HexColor("#b22222"),
            borderColor="#b22222",
            borderWidth=1,
            borderPadding=4,
            spaceBefore=6,
            spaceAfter=8,
        ),
        # headings stay on the page of what follows them
        1: ParagraphStyle("h1", parent=base, fontSize=17, leading=22, spaceAfter=6, keepWithNext=1),
        2: ParagraphStyle(
            "h2",
            parent=base,
            fontSize=13,
            leading=17,
            spaceBefore=10,
            spaceAfter=4,
            textColor=colors.HexColor("#882222"),
            keepWithNext=1,
        ),
        3: ParagraphStyle(
            "h3", parent=base, fontSize=10.5, leading=14, spaceBefore=6, keepWithNext=1
        ),
    }


def _pdf_table(b: Table, st: dict[str | int, Any], avail_w: float) -> list[object]:
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import LongTable, Paragraph, Spacer

    e = html.escape
    rel = b.widths or [1.0] * len(b.headers)
    col_w = [avail_w * w / sum(rel) for w in rel]
    data = [[Paragraph(e(h), st["cell"]) for h in b.headers]]
    for r in _rows(b):
        data.append([Paragraph(e(c), st["cell"]) if (i in b.wrap or len(c) > 12) else c
                     for i, c in enumerate(r)])  # fmt: skip
    heights = [None] + [b.row_height_mm * mm] * (len(data) - 1) if b.row_height_mm else None
    tbl = LongTable(data, colWidths=col_w, repeatRows=1, rowHeights=heights)
    tbl.setStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), st["font"]),
            ("FONTSIZE", (0, 0), (-1, -1), 7.5),
            ("LEADING", (0, 0), (-1, -1), 9.5),
            ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#999999")),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3e9e9")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#fafafa")]),
            ("TOPPADDING", (0, 0), (-1, -1), 1.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ]
    )
    out: list[object] = [tbl]
    if b.note:
        out.append(Paragraph(e(b.note), st["note"]))
    return [*out, Spacer(1, 4)]


def _pdf_image(b: Image, st: dict[str | int, Any], avail_w: float, page_h: float) -> list[object]:
    import io

    from reportlab.lib.units import mm
    from reportlab.platypus import Image as RLImage
    from reportlab.platypus import Paragraph, Spacer

    img = RLImage(io.BytesIO(b.png))
    w = avail_w * b.width_frac * 0.6
    ratio = img.imageHeight / img.imageWidth
    h = w * ratio
    max_h = (page_h - 40 * mm) * 0.8
    if h > max_h:
        h = max_h
        w = h / ratio
    img.drawWidth, img.drawHeight = w, h
    return [img, Paragraph(html.escape(b.caption), st["note"]), Spacer(1, 4)]


def _story(
    blocks: list[Block], st: dict[str | int, Any], page: tuple[float, float]
) -> list[object]:
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak as RLPageBreak
    from reportlab.platypus import Paragraph

    e = html.escape
    avail_w = page[0] - 2 * _PAGE_MARGIN_MM * mm
    story: list[object] = []
    for b in blocks:
        if isinstance(b, Heading):
            story.append(Paragraph(e(b.text), st.get(b.level, st[3])))
        elif isinstance(b, Para):
            style = st["warn"] if b.warn else st["small"] if b.small else st["base"]
            story.append(Paragraph(e(b.text), style))
        elif isinstance(b, Bullets):
            story += [Paragraph("• " + e(item), st["base"]) for item in b.items]
        elif isinstance(b, Table):
            story += _pdf_table(b, st, avail_w)
        elif isinstance(b, Image):
            story += _pdf_image(b, st, avail_w, page[1])
        elif isinstance(b, PageBreak):
            story.append(RLPageBreak())
        elif isinstance(b, Section):
            story.append(_SectionMark(b.name))
    return story


def _section_mark_class() -> type:
    from reportlab.platypus import Flowable

    class SectionMark(Flowable):  # type: ignore[misc]
        """Zero-size: records on the canvas that a section starts on this page."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name
            self.width = self.height = 0

        def draw(self) -> None:
            starts = self.canv.__dict__.setdefault("_hw_sections", [])
            starts.append((self.canv.getPageNumber(), self.name))

    return SectionMark


def _SectionMark(name: str) -> object:  # noqa: N802 - a flowable's constructor
    return _section_mark_class()(name)


def write_pdf(
    path: Path, title: str, blocks: list[Block], lang: str, mark: str | None = None
) -> None:
    """A4 landscape. ``mark``: a draft mark printed at the top of every page with a faint
    diagonal watermark (a draft must not pass for a signed report once printed). With
    ``Section`` blocks each section's pages are numbered on their own ("第 1/2 页"): the
    file is laid out twice, the first time to count each section's pages."""
    import io

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate

    st = _styles(lang)
    page = landscape(A4)
    margin = _PAGE_MARGIN_MM * mm
    top = margin + (7 * mm if mark else 0)
    sectioned = any(isinstance(b, Section) for b in blocks)

    def build(target: object, counts: dict[int, int]) -> dict[int, int]:
        """Lay out into ``target``; returns section index → its pages."""
        doc = BaseDocTemplate(target, pagesize=page, leftMargin=margin, rightMargin=margin,
                              topMargin=top, bottomMargin=margin, title=title)  # fmt: skip
        pages: dict[int, int] = {}

        def current(canvas: Any) -> tuple[int, str, int] | None:
            starts = canvas.__dict__.get("_hw_sections", [])
            if not starts:
                return None
            k = len(starts) - 1
            return k, starts[k][1], canvas.getPageNumber() - starts[k][0] + 1

        def decorate(canvas: Any, d: Any) -> None:
            canvas.saveState()
            if mark:
                canvas.setFillColor(colors.HexColor("#b22222"))
                canvas.setFont(st["font"], 9)
                canvas.drawString(margin, page[1] - margin - 2 * mm, mark)
                canvas.setFillColor(colors.Color(0.7, 0.13, 0.13, alpha=0.10))
                canvas.setFont(st["font"], 90)
                canvas.translate(page[0] / 2, page[1] / 2)
                canvas.rotate(30)
                canvas.drawCentredString(0, 0, mark.split(" ")[0])
                canvas.restoreState()
                canvas.saveState()
            canvas.setFont(st["font"], 7)
            sec = current(canvas) if sectioned else None
            if sec is None:
                text = f"{title} — {d.page}"
            else:
                k, name, n = sec
                pages[k] = max(pages.get(k, 0), n)
                total = counts.get(k)
                if lang == "zh":
                    text = f"{name} — 第 {n} 页" + (f"，共 {total} 页" if total else "")
                else:
                    text = f"{name} — page {n}" + (f" of {total}" if total else "")
            canvas.drawRightString(page[0] - margin, 6 * mm, text)
            canvas.restoreState()

        # decorated at the page's end, once its flowables (and a Section mark) are drawn
        frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body")
        doc.addPageTemplates([PageTemplate("page", [frame], onPageEnd=decorate)])
        doc.build(_story(blocks, st, page))
        return pages

    counts = build(io.BytesIO(), {}) if sectioned else {}
    build(str(path), counts)
