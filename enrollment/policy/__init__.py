"""The points policy: a versioned document and the one small engine that evaluates it.

Plain Python with plain data in and out; no database. See DOMAIN.md for the default policy.
"""

from enrollment.policy.default import default_policy_document
from enrollment.policy.engine import (
    Facts,
    Policy,
    PolicyInvalid,
    Reason,
    Score,
    facts_pack,
    facts_unpack,
    policy_validate,
    score,
    sort_key,
)

__all__ = [
    "Facts",
    "Policy",
    "PolicyInvalid",
    "Reason",
    "Score",
    "default_policy_document",
    "facts_pack",
    "facts_unpack",
    "policy_validate",
    "score",
    "sort_key",
]
