"""Every dead letter carries a stable code, the English detail and the code's Chinese words,
alike on both runners; the console summary breaks the rejections down by reason."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from contract.glossary import DEAD_LETTER_REASONS
from heatwatch.cli.main import _mount_subcommands, app
from streams.ingest import dead_letter_code, dead_letter_fields
from tests.unit.streams.runners import both
from tests.unit.streams.scenario import electric, household

HOMES = [f"H{i}" for i in range(8)]
REGISTRY = [household(h) for h in HOMES]


def _lines() -> tuple[list[bytes], dict[str, int]]:
    """A day of 8 meters with one record of most kinds of fault; the expected codes. (Not a
    late or a blank record: a late reading is late live and sorted into place by a replay,
    a blank line of a file is skipped — docs/event-time.md.)"""
    lines = [
        orjson.dumps(electric(h, s, kwh=0.1 + 0.001 * s + 0.01 * n).model_dump(mode="json"))
        for s in range(1, 97)
        for n, h in enumerate(HOMES)
    ]
    good = orjson.loads(lines[100])
    bad = {
        "malformed_json": lines[101][:50],
        "unknown_kind": orjson.dumps(good | {"kind": "water"}),
        "bad_time": orjson.dumps(good | {"ts": "2021-12-01 13:15:00"}),
        "schema": orjson.dumps(good | {"kwh": "0.5"}),
        "unknown_source": orjson.dumps(good | {"household_id": "H999"}),
        # in place of a meter's own reading (beside it, it would lose a conflict instead)
        "implausible": orjson.dumps(orjson.loads(lines[102]) | {"voltage_v": 9000.0}),
        "conflict": orjson.dumps(good | {"kwh": 0.77}),
        "clock_fault": orjson.dumps(good | {"ts": "1970-01-01T00:30:00Z"}),
    }
    out = lines[:102] + [bad[k] for k in bad] + lines[103:]
    return out, dict.fromkeys(bad, 1)


def test_every_reason_has_a_code_and_the_code_its_chinese_words() -> None:
    assert dead_letter_code("readings[3]: late: ts … arrived after …") == "late"
    assert dead_letter_code("something new") == "other"
    for code in ("empty", "malformed_json", "schema", "late", "conflict", "clock_fault", "other"):
        assert DEAD_LETTER_REASONS[code].zh and DEAD_LETTER_REASONS[code].en
    fields = dead_letter_fields("conflict: electric of household H1 sent two …")
    assert fields == {
        "code": "conflict",
        "reason": "conflict: electric of household H1 sent two …",
        "reason_zh": DEAD_LETTER_REASONS["conflict"].zh,
    }


def test_both_runners_give_every_dead_letter_the_same_code_and_words(tmp_path: Path) -> None:
    lines, expected = _lines()
    replayed, worked = both(REGISTRY, lines, tmp_path)
    assert replayed.dead == worked.dead

    def coded(dead: list[dict[str, object]]) -> list[tuple[object, ...]]:
        return sorted((d["line_no"], d["code"], d["reason_zh"], d["reason"]) for d in dead)

    assert coded(replayed.dead_full) == coded(worked.dead_full)
    codes: dict[str, int] = {}
    for d in replayed.dead_full:
        codes[str(d["code"])] = codes.get(str(d["code"]), 0) + 1
        assert d["reason_zh"] == DEAD_LETTER_REASONS[str(d["code"])].zh
    assert codes == expected


def test_the_console_summary_counts_rejections_by_reason(tmp_path: Path) -> None:
    lines, expected = _lines()
    data = tmp_path / "in.jsonl"
    data.write_bytes(b"\n".join(lines) + b"\n")
    registry = tmp_path / "registry.csv"
    registry.write_text(
        "household_id,county,village,retrofit_type,heating_device,feeder_id,gas_station_id,"
        "priority_group,rated_kw\n"
        + "".join(f"{h},忻府区,东营村,coal_to_electric,heat_pump,F-1,,none,5\n" for h in HOMES),
        encoding="utf-8",
    )
    _mount_subcommands()
    result = CliRunner().invoke(
        app,
        ["replay", "--registry", str(registry), "--input", str(data), "--out", str(tmp_path / "o")],
    )
    assert result.exit_code == 0, result.output
    text = "".join(result.output.split())
    assert "拒收原因：" in text
    for code in expected:
        assert f"{DEAD_LETTER_REASONS[code].zh}1".replace(" ", "") in text, code
    summary = orjson.loads((tmp_path / "o" / "summary.json").read_bytes())
    assert summary["rejected_by_reason"] == expected
