"""Re-checks (复核): a family asks within a window after publication; an officer answers.

A changed answer becomes the application's current decision (basis `override`), which the next
allocation round reads like any other; the published round itself is never rewritten.
"""

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from enrollment.errors import ApplicationError, ErrorCode
from enrollment.models import (
    AllocationRun,
    Application,
    ApplicationState,
    AuditAction,
    Decision,
    EventReason,
    Recheck,
    User,
)
from enrollment.selectors.allocation import allocation_run_of_results
from enrollment.services.applications import application_transition
from enrollment.services.audit import audit_log
from enrollment.services.notifications import recheck_answered_notify


def recheck_window_days() -> int:
    return settings.RECHECK_WINDOW_DAYS


@transaction.atomic
def recheck_request(
    *, application: Application, actor: User, reason: str, now: datetime | None = None
) -> Recheck:
    now = now or timezone.now()
    if application.applicant_id != actor.pk:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such application.", field="ref")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            ErrorCode.REASON_REQUIRED, "Say what should be checked again.", field="reason"
        )
    # The run whose results concern this application: one it took part in, or one it was left
    # out of as ineligible. An application the runs have not reached has nothing to contest.
    run = allocation_run_of_results(application=application, now=now, visible=False)
    # Until the latest round's embargo is over, families may not see its results to contest them.
    if run is None or not AllocationRun.objects.filter(pk=run.pk).visible_to_parents(now).exists():
        raise ApplicationError(
            ErrorCode.ILLEGAL_TRANSITION,
            "A re-check can be asked for once the results are published.",
            field="ref",
            extra={"why": "not_published"},
        )
    closes = run.visible_from + timedelta(days=recheck_window_days())
    if now > closes:
        raise ApplicationError(
            ErrorCode.ILLEGAL_TRANSITION,
            f"Re-checks for these results closed on {timezone.localtime(closes):%Y-%m-%d %H:%M}.",
            field="ref",
            extra={"why": "closed"},
        )
    Application.objects.select_for_update().filter(pk=application.pk).first()
    if Recheck.objects.filter(application=application, status=Recheck.Status.OPEN).exists():
        raise ApplicationError(
            ErrorCode.ILLEGAL_TRANSITION,
            "A re-check of this application is already open.",
            field="ref",
            extra={"why": "already_open"},
        )
    recheck = Recheck.objects.create(
        application=application,
        run=run,
        requested_by=actor,
        requested_at=now,
        reason=reason[:1000],
    )
    audit_log(actor=actor, action=AuditAction.RECHECK_REQUEST, target=recheck, reason=reason[:500])
    return recheck


CHANGEABLE = ("outcome", "total_points", "hukou_class", "housing_class")
RESULT_ACTIONS = {
    Recheck.Status.UPHELD: AuditAction.RECHECK_UPHELD,
    Recheck.Status.CHANGED: AuditAction.RECHECK_CHANGED,
}


@transaction.atomic
def recheck_resolve(
    *,
    recheck: Recheck,
    actor: User,
    result: str,
    reason: str,
    changes: dict | None = None,
) -> Recheck:
    """Uphold the decision, or change it: `changes` may set outcome, total_points, hukou_class
    and housing_class; the new decision is an override that names the officer and the reason."""
    recheck = (
        Recheck.objects.for_officer(actor)
        .select_for_update()
        .select_related("application")
        .filter(pk=recheck.pk)
        .first()
    )
    if recheck is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such re-check.", field="recheck")
    application = recheck.application
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            ErrorCode.REASON_REQUIRED, "Say why the re-check ends this way.", field="reason"
        )
    if recheck.status != Recheck.Status.OPEN:
        raise ApplicationError(
            ErrorCode.ILLEGAL_TRANSITION,
            "This re-check is already answered.",
            field="recheck",
            extra={"why": "answered"},
        )
    if result not in (Recheck.Status.UPHELD, Recheck.Status.CHANGED):
        raise ApplicationError(
            ErrorCode.INVALID, "The result is upheld or changed.", field="result"
        )
    changes = dict(changes or {})
    now = timezone.now()
    if result == Recheck.Status.CHANGED:
        recheck.new_decision = _decision_override(
            application=application, actor=actor, reason=reason, changes=changes
        )
    elif changes:
        raise ApplicationError(
            ErrorCode.INVALID,
            "An upheld decision has no changes.",
            field="changes",
            extra={"why": "upheld_with_changes"},
        )
    before = recheck.status
    recheck.status = result
    recheck.resolved_by = actor
    recheck.resolved_at = now
    recheck.resolution_reason = reason[:1000]
    recheck.save(
        update_fields=["status", "resolved_by", "resolved_at", "resolution_reason", "new_decision"]
    )
    audit_log(
        actor=actor,
        action=RESULT_ACTIONS[result],
        target=recheck,
        reason=reason[:500],
        data={
            "changes": {k: str(v) for k, v in changes.items()},
            "old": {"status": before},
            "new": {"status": result},
        },
    )
    recheck_answered_notify(recheck=recheck)
    return recheck


def _decision_override(
    *, application: Application, actor: User, reason: str, changes: dict
) -> Decision:
    unknown = set(changes) - set(CHANGEABLE)
    if unknown or not changes:
        raise ApplicationError(
            ErrorCode.INVALID,
            f"A changed decision sets some of {', '.join(CHANGEABLE)}.",
            field="changes",
        )
    current = Decision.objects.current().select_for_update().filter(application=application).first()
    if current is None:
        raise ApplicationError(
            ErrorCode.ILLEGAL_TRANSITION,
            "The application has no decision yet.",
            field="recheck",
            extra={"why": "no_decision"},
        )
    values = {}
    if "outcome" in changes:
        if changes["outcome"] not in Decision.Outcome.values:
            raise ApplicationError(ErrorCode.INVALID, "Unknown outcome.", field="outcome")
        values["outcome"] = changes["outcome"]
    if "total_points" in changes:
        try:
            total = Decimal(str(changes["total_points"])).quantize(Decimal("0.1"))
        except InvalidOperation:
            raise ApplicationError(
                ErrorCode.INVALID, "total_points is not a number.", field="total_points"
            ) from None
        if not Decimal("0") <= total <= Decimal("999.9"):
            raise ApplicationError(
                ErrorCode.INVALID, "total_points is out of range.", field="total_points"
            )
        values["total_points"] = total
        values["bonus_points"] = total - current.base_points
    if "hukou_class" in changes:
        if changes["hukou_class"] not in ("D", "C", "N"):
            raise ApplicationError(ErrorCode.INVALID, "Unknown hukou class.", field="hukou_class")
        values["hukou_class"] = changes["hukou_class"]
    if "housing_class" in changes:
        if changes["housing_class"] not in ("OWN", "RENT", "NONE"):
            raise ApplicationError(
                ErrorCode.INVALID, "Unknown housing class.", field="housing_class"
            )
        values["housing_class"] = changes["housing_class"]

    Decision.objects.filter(pk=current.pk).update(is_current=False)
    new = Decision.objects.get(pk=current.pk)
    new.pk = None
    new.id = None
    new._state.adding = True
    new.is_current = True
    new.basis = Decision.Basis.OVERRIDE
    new.decided_by = actor
    # The officer's words only: the trace's last step says the change came from a re-check,
    # and pages name it in their own language.
    new.reason = reason[:500]
    new.trace = [
        *current.trace,
        {
            "rule": "recheck.override",
            "by": actor.pk,
            "changes": {k: str(v) for k, v in values.items()},
        },
    ]
    for name, value in values.items():
        setattr(new, name, value)
    new.save()
    application_transition(
        application=application,
        to_state=ApplicationState.DECIDED,
        actor=actor,
        reason_code=EventReason.RECHECK_CHANGED,
        reason=reason[:500],
    )
    return new
