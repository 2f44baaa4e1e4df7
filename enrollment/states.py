"""The life of an application as an explicit state machine.

Every change goes through `application_transition` (enrollment.services.applications), which
refuses a change not listed here and records who made it and why.
"""

from enrollment.models import ApplicationState as S

TRANSITIONS: dict[str, frozenset[str]] = {
    S.SUBMITTED: frozenset({S.VERIFYING, S.WITHDRAWN}),
    S.VERIFYING: frozenset({S.DECIDED, S.NEEDS_REVIEW, S.WAITING_REGISTRY, S.WITHDRAWN}),
    S.WAITING_REGISTRY: frozenset({S.VERIFYING, S.NEEDS_REVIEW, S.WITHDRAWN}),
    # An officer decides a reviewed case, or new evidence sends it back to the registry.
    S.NEEDS_REVIEW: frozenset({S.DECIDED, S.VERIFYING, S.WITHDRAWN}),
    # A re-check (复核) or an override reopens a decided application.
    S.DECIDED: frozenset({S.VERIFYING, S.NEEDS_REVIEW, S.DECIDED, S.WITHDRAWN}),
    S.WITHDRAWN: frozenset(),
}


def can_transition(from_state: str, to_state: str) -> bool:
    return to_state in TRANSITIONS.get(from_state, frozenset())
