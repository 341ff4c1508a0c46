"""``--tariffs`` on the report commands (issue 24): the default file, a named file, and a bad
one refused with exit 2 and the problem named in Chinese (and English)."""

from __future__ import annotations

from pathlib import Path

import pytest

from heatwatch.cli.common import EXIT_INPUT, CliError
from heatwatch.cli.report import load_tariffs_option
from heatwatch.report.use_cost import DEFAULT_TARIFFS, load_tariffs


def test_default_is_the_policy_file() -> None:
    assert load_tariffs_option(None) == load_tariffs(DEFAULT_TARIFFS)
    assert load_tariffs_option(None).electricity.valley_price == 0.2


def test_a_named_file_is_used(tmp_path: Path) -> None:
    p = tmp_path / "t.yaml"
    p.write_text("electricity: {valley_price: 0.31}\nburden: {threshold_cny: 900}\n", "utf-8")
    t = load_tariffs_option(p)
    assert t.electricity.valley_price == 0.31 and t.burden.threshold_cny == 900


@pytest.mark.parametrize(
    ("text", "zh", "en"),
    [
        ("electricity:\n  valley_price: -1\n  bogus: 2\n",
         ["“electricity.valley_price”：应大于或等于 0", "“electricity.bogus”：不认识的设置项"],
         "electricity.valley_price"),
        ("gas: [1,\n", ["不是有效的 YAML", "第 2 行"], "not valid YAML"),
        ("- 1\n- 2\n", ["最外层应是"], "top level must be a mapping"),
        ("subsidies: {coal_to_coal: {rate: 1}}\n", ["电价与补贴文件"], "coal_to_coal"),
    ],
)  # fmt: skip
def test_a_bad_file_is_refused_in_both_languages(
    tmp_path: Path, text: str, zh: list[str], en: str
) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(text, "utf-8")
    with pytest.raises(CliError) as exc:
        load_tariffs_option(p)
    assert exc.value.code == EXIT_INPUT
    assert all(z in exc.value.zh for z in zh), exc.value.zh
    assert en in exc.value.en


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CliError) as exc:
        load_tariffs_option(tmp_path / "nope.yaml")
    assert exc.value.code == EXIT_INPUT and "找不到电价与补贴文件" in exc.value.zh
