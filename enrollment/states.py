"""The life of an application as an explicit state machine.

    submitted ──> verifying ──> decided <──────────────┐
                    │  ^  └──> needs_review ──> decided │ (officer review, override)
                    v  │          │  ^                 │
              waiting_registry    │  └── decided (evidence offered against a decision)
                    └──(cap)──> needs_review            │
    any open state ──> withdrawn (final)                │
    decided ──> verifying (re-check, 复核) ─────────────┘

Every change goes through `application_transition` (enrollment.services.applications) or, for
batches, the verification service's bulk transition; both refuse a change not listed here and
record who made it and why (ApplicationEvent).
"""

from enrollment.models import ApplicationState as S

TRANSITIONS: dict[str, frozenset[str]] = {
    S.SUBMITTED: frozenset({S.VERIFYING, S.WITHDRAWN}),
    # The registry answered (decided / needs_review), did not answer (waiting_registry), or
    # the attempt cap or a refused lookup sent the case to an officer (needs_review).
    S.VERIFYING: frozenset({S.DECIDED, S.NEEDS_REVIEW, S.WAITING_REGISTRY, S.WITHDRAWN}),
    S.WAITING_REGISTRY: frozenset({S.VERIFYING, S.NEEDS_REVIEW, S.WITHDRAWN}),
    # An officer decides a reviewed case, or asks the registry again.
    S.NEEDS_REVIEW: frozenset({S.DECIDED, S.VERIFYING, S.WITHDRAWN}),
    # A re-check (复核) asks the registry again, evidence against the decision reopens it,
    # an override replaces it.
    S.DECIDED: frozenset({S.VERIFYING, S.NEEDS_REVIEW, S.DECIDED, S.WITHDRAWN}),
    S.WITHDRAWN: frozenset(),
}


def can_transition(from_state: str, to_state: str) -> bool:
    return to_state in TRANSITIONS.get(from_state, frozenset())


def next_states(state: str) -> frozenset[str]:
    """The states an application in `state` may move to."""
    return TRANSITIONS.get(state, frozenset())
