"""Exception paths: evidence, commitments, an officer's review, overrides and re-verification.

Where the registry has no record or the wrong one, the parent uploads evidence or signs a
commitment (告知承诺) and the application waits for an officer (`needs_review`). The officer
accepts or rejects each piece with a reason; once nothing is pending the decision is
recomputed from the registry's stored answer plus the reviewed evidence (basis `reviewed`):

- accepted housing evidence scores as RENT (DOMAIN.md);
- accepted hukou evidence counts as the hukou class and registration date the officer states
  (`values={"hukou_class": "D", "registered_on": "2019-06-15"}`), since a booklet or a police
  certificate shows both and the points depend on both;
- accepted social-insurance evidence counts as the qualifying months the officer states
  (`values={"qualifying_months": 40}`); accepted residence-permit evidence as a qualifying
  permit;
- accepted relation evidence (a household-booklet page or a birth certificate) makes the named
  adult the officer states a related guardian (`values={"guardian_position": 2, "document":
  "birth_certificate"}`); the application is then verified again, so that the registry looks
  up that adult's facts, and scored through the policy like any other;
- rejected evidence for a fact the registry lacks closes that question: the application is
  decided (ineligible, with the reason code kept) instead of waiting forever.

An officer may also record a finding of their own about a fact (services.findings), scored the
same way, or decide a case not eligible by hand with a reason (basis `override`); no outcome is
made eligible by hand.
Every service here is officer-scoped (their own district), writes an audit row naming actor
and reason, and records every state change with `application_transition`.
"""

from datetime import date

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
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
    VerificationJob,
)
from enrollment.policy import Policy, score
from enrollment.policy.engine import HUKOU_CLASSES
from enrollment.selectors.applications import applicant_related
from enrollment.services import dispatch
from enrollment.services.applications import application_transition
from enrollment.services.audit import audit_log
from enrollment.services.facts import decision_from_score, facts_from_answer, state_for_outcome
from enrollment.services.notifications import evidence_reviewed_notify
from enrollment.services.verification import OPEN_OR_RUNNING
from registry.contract import FamilyAnswer, from_json

# Magic bytes of the file types a parent may upload; the declared type is never trusted.
MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
EVIDENCE_STATES = (ApplicationState.NEEDS_REVIEW, ApplicationState.DECIDED)
MESSAGE_REASON_REQUIRED = "reason: say why"


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(ErrorCode.REASON_REQUIRED, MESSAGE_REASON_REQUIRED, field="reason")
    return reason[:500]


def _require_officer_of(actor: User, application: Application) -> None:
    if not Application.objects.for_officer(actor).filter(pk=application.pk).exists():
        raise ApplicationError(
            ErrorCode.PERMISSION_DENIED,
            "Only an officer of the application's district may do this.",
            field="application",
        )


def _locked(application: Application) -> Application:
    return Application.objects.select_for_update().get(pk=application.pk)


def _current_decision(application: Application) -> Decision | None:
    return (
        Decision.objects.current().select_related("policy").filter(application=application).first()
    )


def evidence_file_type(head: bytes) -> str | None:
    """The content type the first bytes show, or None when not a PDF, JPEG or PNG."""
    for magic, content_type in MAGIC:
        if head.startswith(magic):
            return content_type
    return None


# --- the parent's side ----------------------------------------------------------------------


@transaction.atomic
def evidence_submit(
    *,
    application: Application,
    actor: User,
    fact: str,
    kind: str,
    file: UploadedFile | None = None,
    statement: str = "",
) -> Evidence:
    """A parent (or, for a counter-entered application, an officer of its district) offers
    evidence or signs a commitment about one fact. A decided application goes back to
    `needs_review` until an officer has looked at it."""
    if application.applicant_id is None:
        # Entered at the counter: the officer there offers the family's evidence.
        _require_officer_of(actor, application)
    elif application.applicant_id != actor.pk:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such application.", field="ref")
    if fact not in Evidence.Fact.values:
        raise ApplicationError(
            ErrorCode.INVALID,
            f"fact: must be one of {', '.join(Evidence.Fact.values)}",
            field="fact",
        )
    if fact == Evidence.Fact.RELATION and kind == Evidence.Kind.COMMITMENT:
        # A family's own word cannot make an adult its guardian: that is how a stranger's
        # flat or pension would be borrowed.
        raise ApplicationError(
            ErrorCode.INVALID,
            "kind: a relation is shown by a household-booklet page or a birth certificate, "
            "not by a commitment",
            field="kind",
        )
    statement = (statement or "").strip()
    content_type, size = "", 0
    if kind == Evidence.Kind.UPLOAD:
        if file is None:
            raise ApplicationError(ErrorCode.INVALID, "file: attach the document", field="file")
        size = file.size
        if size == 0 or size > settings.EVIDENCE_MAX_BYTES:
            raise ApplicationError(
                ErrorCode.INVALID,
                f"file: must be between 1 byte and {settings.EVIDENCE_MAX_BYTES} bytes",
                field="file",
            )
        file.seek(0)
        content_type = evidence_file_type(file.read(8))
        file.seek(0)
        if content_type is None:
            raise ApplicationError(
                ErrorCode.INVALID, "file: only PDF, JPEG or PNG documents", field="file"
            )
    elif kind == Evidence.Kind.COMMITMENT:
        if file is not None:
            raise ApplicationError(
                ErrorCode.INVALID, "file: a commitment is a statement, not a file", field="file"
            )
        if not statement:
            raise ApplicationError(
                ErrorCode.INVALID, "statement: write the commitment", field="statement"
            )
    else:
        raise ApplicationError(
            ErrorCode.INVALID, "kind: must be upload or commitment", field="kind"
        )
    application = _locked(application)
    if application.state not in EVIDENCE_STATES:
        raise ApplicationError(
            ErrorCode.ILLEGAL_TRANSITION,
            "Evidence can be offered once the registry check has ended.",
            field="state",
        )
    if kind == Evidence.Kind.UPLOAD:
        # Counted under the application's row lock, so two uploads at once cannot both be
        # the last one allowed.
        limit = settings.EVIDENCE_MAX_FILES_PER_APPLICATION
        if application.evidence.filter(kind=Evidence.Kind.UPLOAD).count() >= limit:
            raise ApplicationError(
                ErrorCode.INVALID,
                f"file: an application takes at most {limit} documents",
                field="file",
                extra={"why": "too_many_files", "limit": limit},
            )
    evidence = Evidence(
        application=application,
        fact=fact,
        kind=kind,
        content_type=content_type,
        size=size,
        statement=statement[:5000],
        submitted_by=actor,
        submitted_at=timezone.now(),
    )
    if file is not None:
        evidence.file.save(f"{application.ref}-{fact}", file, save=False)
    evidence.save()
    if application.state == ApplicationState.DECIDED:
        application_transition(
            application=application,
            to_state=ApplicationState.NEEDS_REVIEW,
            actor=actor,
            reason_code=EventReason.EVIDENCE_OFFERED,
            reason_params={"kind": kind, "fact": fact},
        )
    audit_log(
        actor=actor,
        action=AuditAction.EVIDENCE_SUBMIT,
        target=evidence,
        reason=f"{kind} about {fact}",
        data={"application": application.ref, "content_type": content_type, "size": size},
    )
    return evidence


# --- the officer's side ---------------------------------------------------------------------


# The documents that show who a child's guardians are (DOMAIN.md, "Guardianship").
RELATION_DOCUMENTS = ("household_booklet", "birth_certificate")


def _relation_values(values: dict, application: Application) -> dict:
    positions = list(application.guardians.values_list("position", flat=True))
    position = values.get("guardian_position")
    if position not in positions or isinstance(position, bool):
        raise ApplicationError(
            ErrorCode.INVALID,
            "values.guardian_position: state which named adult the evidence shows to be the "
            f"child's guardian ({', '.join(str(p) for p in positions)})",
            field="values.guardian_position",
        )
    document = values.get("document")
    if document not in RELATION_DOCUMENTS:
        raise ApplicationError(
            ErrorCode.INVALID,
            f"values.document: must be one of {', '.join(RELATION_DOCUMENTS)}",
            field="values.document",
        )
    return {"guardian_position": position, "document": document}


def _accepted_values(
    fact: str, values: dict | None, cutoff: date, application: Application
) -> dict:
    values = values or {}
    if fact == Evidence.Fact.RELATION:
        return _relation_values(values, application)
    if fact == Evidence.Fact.HUKOU:
        hukou_class = values.get("hukou_class")
        if hukou_class not in HUKOU_CLASSES:
            raise ApplicationError(
                ErrorCode.INVALID,
                "values.hukou_class: state the hukou class the evidence shows (D, C or N)",
                field="values.hukou_class",
            )
        try:
            registered_on = date.fromisoformat(str(values.get("registered_on")))
        except ValueError:
            raise ApplicationError(
                ErrorCode.INVALID,
                "values.registered_on: state the registration date (YYYY-MM-DD)",
                field="values.registered_on",
            ) from None
        if registered_on > cutoff:
            raise ApplicationError(
                ErrorCode.INVALID,
                f"values.registered_on: must not be after the cut-off date {cutoff}",
                field="values.registered_on",
                extra={"why": "after_cutoff", "cutoff": cutoff.isoformat()},
            )
        return {"hukou_class": hukou_class, "registered_on": registered_on.isoformat()}
    if fact == Evidence.Fact.SOCIAL_INSURANCE:
        months = values.get("qualifying_months")
        if not isinstance(months, int) or isinstance(months, bool) or not 0 <= months <= 600:
            raise ApplicationError(
                ErrorCode.INVALID,
                "values.qualifying_months: state the months with pension and medical paid",
                field="values.qualifying_months",
            )
        return {"qualifying_months": months}
    return {}


@transaction.atomic
def evidence_review(
    *,
    actor: User,
    evidence: Evidence,
    accept: bool,
    reason: str,
    values: dict | None = None,
) -> Evidence:
    """Accept or reject one piece of evidence, with a reason. When nothing about the
    application is pending any more, its decision is recomputed (basis `reviewed`)."""
    application = _locked(evidence.application)
    _require_officer_of(actor, application)
    reason = _reason(reason)
    evidence = Evidence.objects.select_for_update().get(pk=evidence.pk)
    if evidence.review != Evidence.Review.PENDING:
        raise ApplicationError(
            ErrorCode.ILLEGAL_TRANSITION, "This evidence has been reviewed already.", field="review"
        )
    current = _current_decision(application)
    cutoff = (
        Policy(current.policy.document).cutoff
        if current
        else date(application.admission_year, 3, 31)
    )
    evidence.accepted_values = (
        _accepted_values(evidence.fact, values, cutoff, application) if accept else {}
    )
    before = evidence.review
    evidence.review = Evidence.Review.ACCEPTED if accept else Evidence.Review.REJECTED
    evidence.reviewed_by = actor
    evidence.review_reason = reason
    evidence.reviewed_at = timezone.now()
    evidence.save(
        update_fields=["accepted_values", "review", "reviewed_by", "review_reason", "reviewed_at"]
    )
    audit_log(
        actor=actor,
        action=AuditAction.EVIDENCE_ACCEPT if accept else AuditAction.EVIDENCE_REJECT,
        target=evidence,
        reason=reason,
        data={
            "application": application.ref,
            "fact": evidence.fact,
            **evidence.accepted_values,
            "old": {"review": before},
            "new": {"review": evidence.review},
        },
    )
    if accept and evidence.fact == Evidence.Fact.RELATION:
        guardianship_accepted_log(
            actor=actor, application=application, evidence=evidence, reason=reason
        )
    evidence_reviewed_notify(evidence=evidence)
    pending = application.evidence.filter(review=Evidence.Review.PENDING).exists()
    if not pending and application.state == ApplicationState.NEEDS_REVIEW:
        decision_recompute(application=application, actor=actor, reason=reason)
    return evidence


def guardianship_accepted_log(
    *, actor: User, application: Application, evidence: Evidence, reason: str
) -> None:
    """The audit row saying that accepted evidence (or an officer's finding) makes a named
    adult a related guardian."""
    guardian = application.guardians.get(position=evidence.accepted_values["guardian_position"])
    audit_log(
        actor=actor,
        action=AuditAction.GUARDIANSHIP_ACCEPT,
        target=guardian,
        reason=reason,
        data={
            "application": application.ref,
            "evidence": evidence.pk,
            "document": evidence.accepted_values["document"],
            "old": {"related": False},
            "new": {"related": True},
        },
    )


def _relations_to_look_up(application: Application, answer_json: dict) -> bool:
    """Whether a guardian accepted on evidence is not yet related in the stored answer, whose
    facts the registry has therefore not looked up."""
    accepted = {
        values.get("guardian_position")
        for values in application.evidence.filter(
            fact=Evidence.Fact.RELATION, review=Evidence.Review.ACCEPTED
        ).values_list("accepted_values", flat=True)
    }
    if not accepted:
        return False
    positions = list(application.guardians.values_list("position", flat=True))
    related = {
        positions[item["guardian_index"]]
        for item in answer_json.get("related_guardians") or []
        if 0 <= item["guardian_index"] < len(positions)
    }
    return bool(accepted - related)


def decision_recompute(
    *,
    application: Application,
    actor: User,
    reason: str,
    reason_code: str = EventReason.EVIDENCE_REVIEWED,
    reason_params: dict | None = None,
) -> None:
    """Score again from the registry's stored answer and the reviewed evidence; without a
    stored answer (the registry never answered), verify again instead.

    The caller holds the application's row lock. A decided case that stays decided records the
    rescoring as an event too, so that the case history shows why its points changed."""
    current = _current_decision(application)
    answer_json = (current.facts or {}).get("answer") if current else None
    # Verify again, rather than score the stored answer, when there is none, when it was given
    # before the registry related guardians to the child, or when an officer has since
    # accepted a guardian whose facts it does not hold.
    if (
        answer_json is None
        or "related_guardians" not in answer_json
        or _relations_to_look_up(application, answer_json)
    ):
        _verification_requeue(application=application, actor=actor, reason=reason)
        return
    answer = from_json(FamilyAnswer, answer_json)
    evidence = list(application.evidence.exclude(review=Evidence.Review.PENDING))
    facts = facts_from_answer(answer, evidence)
    result = score(facts, Policy(current.policy.document))
    Decision.objects.filter(pk=current.pk).update(is_current=False)
    decision = decision_from_score(
        application_id=application.pk,
        policy=current.policy,
        result=result,
        facts=facts,
        answer=answer,
        evidence_ids=[e.pk for e in evidence],
        basis=Decision.Basis.REVIEWED,
        decided_by=actor,
        reason=reason,
    )
    decision.save()
    to_state = state_for_outcome(result.outcome)
    # An account the registry did not relate to the child stays with the officer until its
    # own relation is accepted (services.verification decides the same way).
    if to_state == ApplicationState.DECIDED and (
        applicant_related(application=application, decision=decision) is False
    ):
        to_state = ApplicationState.NEEDS_REVIEW
    if to_state != application.state or to_state == ApplicationState.DECIDED:
        application_transition(
            application=application,
            to_state=to_state,
            actor=actor,
            reason_code=reason_code,
            reason_params=reason_params,
            reason=reason,
        )
    audit_log(
        actor=actor,
        action=AuditAction.DECISION_RECOMPUTE,
        target=decision,
        reason=reason,
        data={
            "application": application.ref,
            "outcome": result.outcome,
            "total_points": str(result.total_points),
            "old": {"outcome": current.outcome, "total_points": str(current.total_points)},
            "new": {"outcome": result.outcome, "total_points": str(result.total_points)},
        },
    )


def _verification_requeue(*, application: Application, actor: User, reason: str) -> None:
    if application.verification_jobs.filter(status__in=OPEN_OR_RUNNING).exists():
        return
    job = VerificationJob.objects.create(application=application, enqueued_at=timezone.now())
    application_transition(
        application=application,
        to_state=ApplicationState.VERIFYING,
        actor=actor,
        reason_code=EventReason.VERIFY_AGAIN,
        reason=reason,
    )
    dispatch.verification_enqueue(job_ids=[job.pk])


@transaction.atomic
def verification_retry(*, actor: User, application: Application, reason: str) -> Application:
    """Ask the registry again for an application waiting for review (e.g. after the registry
    was down past the attempt cap, or a department corrected its records)."""
    application = _locked(application)
    _require_officer_of(actor, application)
    reason = _reason(reason)
    if application.state not in EVIDENCE_STATES:
        raise ApplicationError(
            ErrorCode.ILLEGAL_TRANSITION,
            f"An application that is {application.state} is not waiting for review.",
            field="state",
            extra={"why": "retry"},
        )
    before = application.state
    _verification_requeue(application=application, actor=actor, reason=reason)
    audit_log(
        actor=actor,
        action=AuditAction.VERIFICATION_RETRY,
        target=application,
        reason=reason,
        data={"old": {"state": before}, "new": {"state": application.state}},
    )
    return application
