"""Xinzhou's 14 county-level units (各县（市、区）): the one list of counties.

The Chinese name is the value of the registry's ``county`` column, the readings' weather
``county`` and the InfluxDB ``county`` tag; the code is the middle of feeder and gas-station
ids (``F-XF-0001``, ``GS-XF-0001``); the slug names per-county contact points and their
environment placeholders (``HEATWATCH_WECOM_URL_XINFU``). The order is the plan document's and
is part of the simulator's seeded output: append, never reorder.
"""

from __future__ import annotations

from typing import NamedTuple

from contract.glossary import Term


class County(NamedTuple):
    zh: str
    en: str
    code: str
    slug: str
    lat: float  # county seat, degrees north
    lon: float  # county seat, degrees east


COUNTIES: tuple[County, ...] = (
    County("忻府区", "Xinfu", "XF", "xinfu", 38.42, 112.73),
    County("原平市", "Yuanping", "YP", "yuanping", 38.73, 112.71),
    County("定襄县", "Dingxiang", "DX", "dingxiang", 38.47, 112.96),
    County("五台县", "Wutai", "WT", "wutai", 38.73, 113.25),
    County("代县", "Daixian", "DA", "daixian", 39.07, 112.96),
    County("繁峙县", "Fanshi", "FS", "fanshi", 39.19, 113.27),
    County("宁武县", "Ningwu", "NW", "ningwu", 39.00, 112.30),
    County("静乐县", "Jingle", "JL", "jingle", 38.36, 111.94),
    County("神池县", "Shenchi", "SC", "shenchi", 39.09, 112.21),
    County("五寨县", "Wuzhai", "WZ", "wuzhai", 38.91, 111.85),
    County("岢岚县", "Kelan", "KL", "kelan", 38.70, 111.57),
    County("河曲县", "Hequ", "HQ", "hequ", 39.38, 111.15),
    County("保德县", "Baode", "BD", "baode", 39.02, 111.09),
    County("偏关县", "Pianguan", "PG", "pianguan", 39.44, 111.51),
)

# The city centre (忻府区, the seat of Xinzhou).
CITY_LAT, CITY_LON = 38.42, 112.73

COUNTY_NAMES: tuple[str, ...] = tuple(c.zh for c in COUNTIES)
COUNTY_SLUGS: dict[str, str] = {c.zh: c.slug for c in COUNTIES}

# For ``glossary.label(COUNTY_TERMS, county, lang)``: the English screens show the pinyin.
COUNTY_TERMS: dict[str, Term] = {c.zh: Term(c.zh, c.en) for c in COUNTIES}
