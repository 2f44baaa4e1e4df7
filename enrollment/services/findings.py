"""An officer settles a case: a fact accepted on their own finding and scored, or an
application decided not eligible by hand.

Where the registry lacks a fact and the officer has established it otherwise (documents seen at
the counter, a department's written answer), the officer records a *finding*: the same thing
as accepting a family's evidence (an Evidence row of kind `finding`, accepted at once, with the
values it establishes and a reason, audited), after which the decision is scored again through
the policy (services.review.decision_recompute). So a housing finding scores as RENT (DOMAIN.md),
a hukou finding as the class and registration date stated, a social-insurance finding as the
months stated, a permit finding as a qualifying permit, and a relation finding makes the named
adult a related guardian, whose facts the registry is then asked for. The decision, its points
and its trace always agree.

An outcome alone is given by hand only to make a case *not* eligible (a stray application, a
forged document): that places no one. No case is made eligible by hand.
"""

from django.db import transaction
from django.utils import timezone

from enrollment.errors import ApplicationError, ErrorCode
from enrollment.models import (
    Application,
    ApplicationState,
    AuditAction,
    Decision,
    EventReason,
    Evidence,
    User,
)
from enrollment.policy import Policy
from enrollment.selectors.applications import applicant_related
from enrollment.services.applications import application_transition
from enrollment.services.audit import audit_log
from enrollment.services.review import (
    EVIDENCE_STATES,
    _accepted_values,
    _current_decision,
    _locked,
    _reason,
    _require_officer_of,
    decision_recompute,
    guardianship_accepted_log,
)


def _current_or_refused(application: Application, expected_decision_id: int | None) -> Decision:
    current = _current_decision(application)
    if current is None:
        raise ApplicationError(
            ErrorCode.INVALID,
            "There is no decision to override yet; verify the application first.",
            field="application",
        )
    if expected_decision_id is not None and current.pk != expected_decision_id:
        raise ApplicationError(
            ErrorCode.STALE_DECISION,
            "decision_id: the decision changed since it was shown; reload the case and decide again",
            field="decision_id",
        )
    return current


@transaction.atomic
def finding_accept(
    *,
    actor: User,
    application: Application,
    fact: str,
    reason: str,
    values: dict | None = None,
    expected_decision_id: int | None = None,
) -> Evidence:
    """Record an officer's finding about one fact, accepted with a reason, and score the case
    again (or, for a relation, ask the registry again about the adult now related).

    `values` are those accepting the same fact's evidence takes (services.review). Refused,
    with nothing written, while a family's evidence waits for review (review it instead: a
    later acceptance would otherwise leave the decision behind), and, for any fact but the
    relation, while the account that applied is not a confirmed guardian of the child: that
    account would hold the place, so its own relation is settled first.
    """
    application = _locked(application)
    _require_officer_of(actor, application)
    reason = _reason(reason)
    if fact not in Evidence.Fact.values:
        raise ApplicationError(
            ErrorCode.INVALID,
            f"fact: must be one of {', '.join(Evidence.Fact.values)}",
            field="fact",
        )
    if application.state not in EVIDENCE_STATES:
        raise ApplicationError(
            ErrorCode.ILLEGAL_TRANSITION,
            f"An application that is {application.state} cannot be decided by an officer.",
            field="state",
            extra={"why": "finding"},
        )
    current = _current_or_refused(application, expected_decision_id)
    if application.evidence.filter(review=Evidence.Review.PENDING).exists():
        raise ApplicationError(
            ErrorCode.ILLEGAL_TRANSITION,
            "evidence: the family's evidence is waiting for review; review it first",
            field="evidence",
            extra={"why": "evidence_pending"},
        )
    if fact != Evidence.Fact.RELATION and (
        applicant_related(application=application, decision=current) is False
    ):
        # The account would hold the place and answer the offer: its own relation to the child
        # is settled first (guardianship.accept), never by another fact.
        raise ApplicationError(
            ErrorCode.INVALID,
            "fact: the applying account is not a confirmed guardian of the child; "
            "accept its relation first",
            field="fact",
            extra={"why": "applicant_not_related"},
        )
    accepted_values = _accepted_values(
        fact, values, Policy(current.policy.document).cutoff, application
    )
    now = timezone.now()
    finding = Evidence.objects.create(
        application=application,
        fact=fact,
        kind=Evidence.Kind.FINDING,
        submitted_by=actor,
        submitted_at=now,
        review=Evidence.Review.ACCEPTED,
        reviewed_by=actor,
        review_reason=reason,
        reviewed_at=now,
        accepted_values=accepted_values,
    )
    audit_log(
        actor=actor,
        action=AuditAction.FINDING_ACCEPT,
        target=finding,
        reason=reason,
        data={
            "application": application.ref,
            "fact": fact,
            **accepted_values,
            "decision": current.pk,
            "old": {"outcome": current.outcome, "total_points": str(current.total_points)},
        },
    )
    if fact == Evidence.Fact.RELATION:
        guardianship_accepted_log(
            actor=actor, application=application, evidence=finding, reason=reason
        )
    decision_recompute(
        application=application,
        actor=actor,
        reason=reason,
        reason_code=EventReason.FINDING_ACCEPTED,
        reason_params={"fact": fact},
    )
    return finding


@transaction.atomic
def decision_override(
    *,
    actor: User,
    application: Application,
    outcome: str,
    reason: str,
    expected_decision_id: int | None = None,
) -> Decision:
    """Decide a case not eligible by hand, keeping its facts and points and adding the override
    to its trace (basis `override`): a stray application, a forged document.

    Only `ineligible`: an outcome alone places no child. A case is made eligible by accepting
    the fact it lacks (services.findings.finding_accept), which the policy then scores, so that
    the decision, its points and its trace agree.

    `expected_decision_id` is the decision the officer was looking at: when another officer
    (or a re-verification) replaced it meanwhile, the override is refused rather than silently
    overruling a decision the officer never saw.
    """
    application = _locked(application)
    _require_officer_of(actor, application)
    reason = _reason(reason)
    if outcome == Decision.Outcome.ELIGIBLE:
        raise ApplicationError(
            ErrorCode.INVALID,
            "outcome: a case becomes eligible by accepting the fact it lacks, then scoring it; "
            "record the finding instead",
            field="outcome",
            extra={"why": "eligible_needs_fact"},
        )
    if outcome != Decision.Outcome.INELIGIBLE:
        raise ApplicationError(ErrorCode.INVALID, "outcome: must be ineligible", field="outcome")
    current = _current_or_refused(application, expected_decision_id)
    if application.state not in EVIDENCE_STATES:
        raise ApplicationError(
            ErrorCode.ILLEGAL_TRANSITION,
            f"An application that is {application.state} cannot be overridden.",
            field="state",
            extra={"why": "override"},
        )
    Decision.objects.filter(pk=current.pk).update(is_current=False)
    decision = Decision.objects.create(
        application=application,
        policy=current.policy,
        is_current=True,
        basis=Decision.Basis.OVERRIDE,
        outcome=outcome,
        hukou_class=current.hukou_class,
        housing_class=current.housing_class,
        base_points=current.base_points,
        bonus_points=current.bonus_points,
        total_points=current.total_points,
        residence_months=current.residence_months,
        si_months=current.si_months,
        reasons=current.reasons,
        facts=current.facts,
        facts_packed=current.facts_packed,
        trace=[
            *current.trace,
            {
                "step": "override",
                "rule": "officer.override",
                "from": current.outcome,
                "value": outcome,
                "officer": actor.pk,
                "reason": reason,
            },
        ],
        decided_by=actor,
        reason=reason,
    )
    application_transition(
        application=application,
        to_state=ApplicationState.DECIDED,
        actor=actor,
        reason_code=EventReason.OVERRIDE,
        reason=reason,
    )
    audit_log(
        actor=actor,
        action=AuditAction.DECISION_OVERRIDE,
        target=decision,
        reason=reason,
        data={
            "application": application.ref,
            "from": current.outcome,
            "to": outcome,
            "old": {"outcome": current.outcome},
            "new": {"outcome": outcome},
        },
    )
    return decision
