"""Season stability evaluation (先立后破): pure policy + verdict logic over numpy columns.

No I/O here: loaders live in :mod:`heatwatch.report.loading`.
"""

from heatwatch.report.stability.columns import HouseholdTable, RollupColumns
from heatwatch.report.stability.evaluate import SeasonResult, evaluate_season
from heatwatch.report.stability.policy import (
    PolicyError,
    Season,
    StabilityPolicy,
    parse_policy,
    policy_from_mapping,
)
from heatwatch.report.stability.reasons import Reason, Verdict

__all__ = [
    "HouseholdTable",
    "PolicyError",
    "Reason",
    "RollupColumns",
    "Season",
    "SeasonResult",
    "StabilityPolicy",
    "Verdict",
    "evaluate_season",
    "parse_policy",
    "policy_from_mapping",
]
