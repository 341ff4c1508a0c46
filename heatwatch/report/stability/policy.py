"""The stability policy: criteria a household must meet before its old heating may go.

Loaded from ``deploy/policy/stability.yaml`` (see ``docs/stability-report.md``). Parsing a YAML
*string* lives here; reading the file is the caller's business.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from contract.registry import NETWORK_RETROFITS, RetrofitType
from heatwatch.report.stability.use import UseSettings

_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
_SEASON_LABEL = re.compile(r"^(\d{4})-(\d{4})$")


class PolicyError(ValueError):
    """A policy that cannot be used; the message names the offending field."""


class SeasonWindow(BaseModel):
    """A heating season as month-day bounds, both **inclusive** (11-15 → 03-15 = 121 days).

    ``start`` falls in the first year of the season label, ``end`` in the second year when its
    month is before the start month (the usual Nov → Mar season), otherwise in the first year.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: str = "11-15"
    end: str = "03-15"

    @field_validator("start", "end")
    @classmethod
    def _month_day(cls, v: str) -> str:
        m = _MONTH_DAY.match(str(v))
        if not m:
            raise ValueError(f"expected MM-DD (e.g. 11-15), got {v!r}")
        month, day = int(m.group(1)), int(m.group(2))
        try:
            date(2000, month, day)  # leap year: accepts 02-29
        except ValueError as exc:
            raise ValueError(f"not a calendar day: {v!r}") from exc
        return str(v)

    def resolve(self, first_year: int) -> tuple[date, date]:
        sm, sd = (int(x) for x in self.start.split("-"))
        em, ed = (int(x) for x in self.end.split("-"))
        start = _safe_date(first_year, sm, sd)
        end_year = first_year + 1 if (em, ed) < (sm, sd) else first_year
        end = _safe_date(end_year, em, ed)
        return start, end


def _safe_date(year: int, month: int, day: int) -> date:
    if month == 2 and day == 29:
        try:
            return date(year, 2, 29)
        except ValueError:
            return date(year, 2, 28)
    return date(year, month, day)


class SeasonPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    default: SeasonWindow = SeasonWindow()
    counties: dict[str, SeasonWindow] = Field(default_factory=dict)


class Criteria(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    min_coverage: float = Field(0.90, ge=0, le=1)
    min_known_minutes_per_day: float = Field(1080, ge=1, le=1440)
    min_availability: float = Field(0.98, ge=0, le=1)
    long_interruption_hours: float = Field(4, gt=0)
    max_long_interruptions: int = Field(3, ge=0)
    max_interruption_hours: float = Field(24, gt=0)
    max_gas_shortfall_hours: float = Field(12, ge=0)
    coldest_days: int = Field(10, ge=1, le=60)
    min_cold_availability: float = Field(0.98, ge=0, le=1)
    min_cold_days_with_data: int = Field(7, ge=1)
    retrofit_grace_days: int = Field(0, ge=0, le=60)
    # Heat networks: a "cold-home day" has more than cold_home_day_hours of supply below the
    # heating curve or of a sampled home below the service temperature (shortfall minutes).
    max_cold_home_days: int = Field(3, ge=0)
    cold_home_day_hours: float = Field(2, gt=0, le=24)

    @model_validator(mode="after")
    def _consistent(self) -> Criteria:
        if self.min_cold_days_with_data > self.coldest_days:
            raise ValueError(
                "min_cold_days_with_data must not exceed coldest_days "
                f"({self.min_cold_days_with_data} > {self.coldest_days})"
            )
        if self.max_interruption_hours < self.long_interruption_hours:
            raise ValueError("max_interruption_hours must be >= long_interruption_hours")
        return self


class Measure(StrEnum):
    """What a household can be judged on (each measure is one or two of the criteria)."""

    AVAILABILITY = "availability"  # min_availability over the season
    COLD_AVAILABILITY = "cold_availability"  # min_cold_availability on the coldest days
    INTERRUPTIONS = "interruptions"  # max_long_interruptions, max_interruption_hours
    GAS_SHORTFALL = "gas_shortfall"  # max_gas_shortfall_hours
    COLD_HOME_DAYS = "cold_home_days"  # max_cold_home_days (heat networks)


# Thresholds a retrofit type may set for itself (the rest of ``criteria`` is city-wide: data
# coverage, the coldest days, what counts as a long interruption).
OVERRIDABLE = (
    "min_availability",
    "min_cold_availability",
    "max_long_interruptions",
    "max_interruption_hours",
    "max_gas_shortfall_hours",
    "max_cold_home_days",
    "cold_home_day_hours",
)


class RetrofitCriteria(BaseModel):
    """How households of one retrofit type are judged: the measures, and any thresholds that
    differ from ``criteria``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    judged_on: tuple[Measure, ...] = Field(min_length=1)
    min_availability: float | None = Field(None, ge=0, le=1)
    min_cold_availability: float | None = Field(None, ge=0, le=1)
    max_long_interruptions: int | None = Field(None, ge=0)
    max_interruption_hours: float | None = Field(None, gt=0)
    max_gas_shortfall_hours: float | None = Field(None, ge=0)
    max_cold_home_days: int | None = Field(None, ge=0)
    cold_home_day_hours: float | None = Field(None, gt=0, le=24)

    def threshold(self, name: str, criteria: Criteria) -> float:
        own = getattr(self, name)
        return float(getattr(criteria, name) if own is None else own)


_ELECTRIC = (Measure.AVAILABILITY, Measure.COLD_AVAILABILITY, Measure.INTERRUPTIONS)
# A household whose retrofit type the policy does not name: every meter-based measure.
UNLISTED = RetrofitCriteria(judged_on=(*_ELECTRIC, Measure.GAS_SHORTFALL))


def default_retrofit_criteria() -> dict[str, RetrofitCriteria]:
    """Networks on heat delivered and cold-home days, gas on shortfall, electric on minutes."""
    out: dict[str, RetrofitCriteria] = {}
    for rt in RetrofitType:
        measures: tuple[Measure, ...]
        if rt in NETWORK_RETROFITS:
            measures = (*_ELECTRIC, Measure.COLD_HOME_DAYS)
        elif rt is RetrofitType.COAL_TO_GAS:
            measures = (*_ELECTRIC, Measure.GAS_SHORTFALL)
        else:
            measures = _ELECTRIC
        out[rt.value] = RetrofitCriteria(judged_on=measures)
    return out


class ReportOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    pdf_max_listed_per_county: int = Field(200, ge=0)
    html_max_listed_per_county: int = Field(2000, ge=0)


class StabilityPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(1, ge=1, le=1)
    season: SeasonPolicy = SeasonPolicy()
    criteria: Criteria = Criteria()
    # Per retrofit type (keys: the contract's codes); a type left out keeps its default.
    retrofit_types: dict[str, RetrofitCriteria] = Field(default_factory=default_retrofit_criteria)
    report: ReportOptions = ReportOptions()
    # Is the new heating used? (issue 24) Under-used or empty homes with stable supply get
    # visit_required (需入户核实) instead of eligible; see heatwatch/report/stability/use.py.
    use: UseSettings = UseSettings()

    @field_validator("retrofit_types")
    @classmethod
    def _known_types(cls, v: dict[str, RetrofitCriteria]) -> dict[str, RetrofitCriteria]:
        known = [rt.value for rt in RetrofitType]
        unknown = sorted(set(v) - set(known))
        if unknown:
            raise ValueError(
                f"unknown retrofit type {', '.join(unknown)}; known: {', '.join(known)}"
            )
        return {**default_retrofit_criteria(), **v}

    @model_validator(mode="after")
    def _consistent_types(self) -> StabilityPolicy:
        for code, rc in self.retrofit_types.items():
            longest = rc.threshold("max_interruption_hours", self.criteria)
            if longest < self.criteria.long_interruption_hours:
                raise ValueError(
                    f"retrofit_types.{code}.max_interruption_hours ({longest:g}) must be >= "
                    f"criteria.long_interruption_hours ({self.criteria.long_interruption_hours:g})"
                )
        return self

    def for_retrofit(self, code: str) -> RetrofitCriteria:
        return self.retrofit_types.get(code, UNLISTED)

    def season_for(self, label: str, county: str) -> Season:
        first_year = parse_season_label(label)
        window = self.season.counties.get(county, self.season.default)
        start, end = window.resolve(first_year)
        return Season(start=start, end=end)


class Season(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, d: date) -> bool:
        return self.start <= d <= self.end

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]


def parse_season_label(label: str) -> int:
    """``"2021-2022"`` → 2021. Raises :class:`PolicyError` for anything else."""
    m = _SEASON_LABEL.match(label.strip())
    if not m or int(m.group(2)) != int(m.group(1)) + 1:
        raise PolicyError(f"season must look like 2021-2022 (two consecutive years), got {label!r}")
    return int(m.group(1))


def _format_validation(exc: ValidationError, source: str) -> str:
    lines = [f"invalid stability policy {source}:"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  - field '{loc}': {err['msg']}")
    return "\n".join(lines)


def policy_from_mapping(data: Any, source: str = "(mapping)") -> StabilityPolicy:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(f"invalid stability policy {source}: top level must be a mapping")
    try:
        return StabilityPolicy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(_format_validation(exc, source)) from None


def parse_policy(text: str, source: str = "(string)") -> StabilityPolicy:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"stability policy {source} is not valid YAML: {exc}") from None
    return policy_from_mapping(data, source)
