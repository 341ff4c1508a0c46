from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from heatwatch.report.stability import PolicyError, StabilityPolicy, parse_policy

POLICY_FILE = Path(__file__).resolve().parents[4] / "deploy" / "policy" / "stability.yaml"


def test_shipped_policy_loads_with_documented_defaults() -> None:
    pol = parse_policy(POLICY_FILE.read_text(encoding="utf-8"), str(POLICY_FILE))
    c = pol.criteria
    assert (c.min_coverage, c.min_availability, c.coldest_days) == (0.9, 0.98, 10)
    assert (c.long_interruption_hours, c.max_long_interruptions) == (4, 3)
    assert c.max_interruption_hours == 24
    s = pol.season_for("2021-2022", "忻府区")
    assert (s.start, s.end, s.days) == (date(2021, 11, 15), date(2022, 3, 15), 121)
    assert pol.season.counties == {}


def test_empty_policy_is_all_defaults() -> None:
    assert parse_policy("") == StabilityPolicy()


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("criteria: {min_coverage: 1.5}", "criteria.min_coverage"),
        ("criteria: {min_coverag: 0.9}", "criteria.min_coverag"),
        ("criteria: {coldest_days: ten}", "criteria.coldest_days"),
        ("season: {default: {start: 2021-11-15}}", "season.default.start"),
        ("season: {counties: {忻府区: {end: '02-30'}}}", "season.counties.忻府区.end"),
        ("report: {pdf_max_listed_per_county: -1}", "report.pdf_max_listed_per_county"),
        ("version: 2", "version"),
    ],
)
def test_invalid_policy_names_the_field(text: str, field: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy(text, "p.yaml")
    assert f"'{field}'" in str(err.value)
    assert "p.yaml" in str(err.value)


def test_inconsistent_criteria() -> None:
    with pytest.raises(PolicyError, match="min_cold_days_with_data"):
        parse_policy("criteria: {coldest_days: 5, min_cold_days_with_data: 7}")


def test_not_yaml_or_not_mapping() -> None:
    with pytest.raises(PolicyError, match="not valid YAML"):
        parse_policy("criteria: [unclosed")
    with pytest.raises(PolicyError, match="mapping"):
        parse_policy("- a\n- b")


@pytest.mark.parametrize("label", ["2021", "2021-2023", "21-22", "x"])
def test_bad_season_label(label: str) -> None:
    with pytest.raises(PolicyError, match="2021-2022"):
        StabilityPolicy().season_for(label, "忻府区")
