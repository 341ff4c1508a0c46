"""The XLSX ledger's fast row path writes exactly what xlsxwriter's per-cell path writes."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from heatwatch.report import ledger
from heatwatch.report.ledger import write_csv, write_xlsx

HEADERS = ["户号", "县", "原因", "n", "x", "blank"]


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        # docProps/core.xml carries the creation time.
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


def _both(
    tmp_path: Path,
    columns: list[Sequence[object]],
    monkeypatch: pytest.MonkeyPatch,
    took: bool,
    percent: Sequence[int] = (),
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Writes with the fast and the per-cell path; ``took``: the fast path must apply."""
    fast, slow = tmp_path / "fast.xlsx", tmp_path / "slow.xlsx"
    widths = [16, 10, 60, 8, 8, 8]
    used: list[bool] = []
    real = ledger._write_rows_fast

    def spy(ws: object, cols: Sequence[Sequence[object]], styles: object = None) -> bool:
        used.append(real(ws, cols, styles))  # type: ignore[arg-type]
        return used[-1]

    monkeypatch.setattr(ledger, "_write_rows_fast", spy)
    write_xlsx(fast, "台账", HEADERS, columns, widths, percent=percent)
    assert used == [took]
    write_xlsx(slow, "台账", HEADERS, columns, widths, fast=False, percent=percent)
    return _parts(fast), _parts(slow)


def test_fast_path_is_byte_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [
        "采暖季供热可用率 96.1%，低于 98% 的要求；最长一次中断 30.0 小时",
        'a & b < c > d "q"',
        " leading",
        "trailing ",
        "line\nbreak",
        "tab\tinside",
        "ctrl\x01char",
        "_x0041_ literal",
        "nonchar\ufffe",
        "　全角空格",
        "<r>x</r> <b>",
        "",
        None,
    ]
    n = len(texts) * 3
    columns: list[Sequence[object]] = [
        [f"HH{i:07d}" for i in range(n)],
        ["忻府区", "原平市", None][0:3] * (n // 3),
        (texts * 3)[:n],
        [i * 7 - 3 for i in range(n)],
        [None if i % 4 == 0 else (i / 7, 0.1, -0.0, 1e-9, 123456.789012)[i % 5] for i in range(n)],
        [None] * n,
    ]
    fast, slow = _both(tmp_path, columns, monkeypatch, took=True)
    assert fast.keys() == slow.keys()
    for name in slow:
        assert fast[name] == slow[name], name
    sheet = fast["xl/worksheets/sheet1.xml"].decode()
    assert '<c r="A2" t="inlineStr"><is><t>HH0000000</t></is></c>' in sheet
    assert "&amp; b &lt; c &gt; d" in sheet


@pytest.mark.parametrize(
    "special", [None, 3, "=1+1", "{=A1}", "https://example.org", "<r>x</r>", True]
)
def test_blank_rows_and_exotic_values_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, special: object
) -> None:
    # Rows without any cell (all None / "") at the end; formulas, URLs, rich strings and
    # bools take xlsxwriter's per-cell path.
    columns: list[Sequence[object]] = [
        ["a", "b", None, None],
        [1, special, None, None],
        [None] * 4,
        [2.5, None, None, None],
        [None] * 4,
        ["", "", "", ""],
    ]
    plain = special is None or special.__class__ is int
    fast, slow = _both(tmp_path, columns, monkeypatch, took=plain)
    assert fast == slow


def test_percent_columns_are_formatted_as_percentages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    columns: list[Sequence[object]] = [
        ["a", "b", "c"],
        [None] * 3,
        ["x", "y", "z"],
        [1, 2, 3],
        [0.9914, None, 1.0],
        [None] * 3,
    ]
    fast, slow = _both(tmp_path, columns, monkeypatch, took=True, percent=[4])
    assert fast == slow
    assert b'<c r="E2" s="2"><v>0.9913999' in fast["xl/worksheets/sheet1.xml"]
    assert b'formatCode="0.0%"' in fast["xl/styles.xml"]


def test_non_finite_float_is_refused_like_xlsxwriter(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        write_xlsx(tmp_path / "inf.xlsx", "s", ["x"], [[1.0, float("inf")]])


def test_csv_has_bom_and_rows(tmp_path: Path) -> None:
    p = tmp_path / "l.csv"
    write_csv(p, ["a", "b"], [["x", "y"], [1, None]])
    assert p.read_bytes() == "\ufeffa,b\r\nx,1\r\ny,\r\n".encode()
