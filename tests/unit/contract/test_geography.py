"""The one list of counties: complete, unambiguous, and what every user names."""

from __future__ import annotations

from contract.geography import COUNTIES, COUNTY_NAMES, COUNTY_SLUGS, COUNTY_TERMS
from contract.glossary import label

# The plan document's 各县（市、区）, in its order (shared/domain.md).
PLAN_COUNTIES = "忻府区 原平市 定襄县 五台县 代县 繁峙县 宁武县 静乐县 神池县 五寨县 岢岚县 河曲县 保德县 偏关县"


def test_the_fourteen_counties_of_the_plan_in_its_order() -> None:
    assert list(COUNTY_NAMES) == PLAN_COUNTIES.split()


def test_codes_and_slugs_are_unique_and_ascii() -> None:
    codes = [c.code for c in COUNTIES]
    slugs = list(COUNTY_SLUGS.values())
    assert len(set(codes)) == len(set(slugs)) == len(COUNTIES)
    assert all(c.isascii() and c.isupper() and len(c) == 2 for c in codes)
    assert all(s.isascii() and s.isalpha() and s == s.lower() for s in slugs)


def test_english_names_come_from_the_same_list() -> None:
    assert label(COUNTY_TERMS, "繁峙县", "en") == "Fanshi"
    assert label(COUNTY_TERMS, "繁峙县", "zh") == "繁峙县"


def test_positions_lie_in_xinzhou() -> None:
    for c in COUNTIES:
        assert 38.0 < c.lat < 39.6 and 110.9 < c.lon < 113.5, c
