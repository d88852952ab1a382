"""DOV's retention of pupils (art. 3): the pure rule, its statements, the run, the revival."""

from leerid.registry.retention.rule import (
    PupilFacts,
    RetentionPolicy,
    Verdict,
    decide,
    is_due,
)
from leerid.registry.retention.run import BATCH, RetentionCounts, run_retention
from leerid.registry.retention.settings import policy_from_env

__all__ = [
    "BATCH",
    "PupilFacts",
    "RetentionCounts",
    "RetentionPolicy",
    "Verdict",
    "decide",
    "is_due",
    "policy_from_env",
    "run_retention",
]
