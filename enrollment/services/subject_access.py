"""What the product holds about a parent's family, as one JSON document they can download.

The document covers the parent's account and every application they submitted: the child,
the guardians, the schools chosen, the consent, each state change, each decision with the
points and the records behind them, the evidence offered, and every registry lookup made about
the family. ID numbers are masked throughout: the parent knows them, and a download that
leaks from a phone should not hand them to anyone else.
"""

from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from enrollment.gateway import get_gateway
from enrollment.models import Application, AuditAction, EventReason, Offer, User
from enrollment.selectors.applications import applicant_related, decision_withheld
from enrollment.services.audit import audit_log
from registry.idnumber import mask, mask_in_text

SUBJECT_ACCESS_FORMAT = "enrollment-subject-access/1"

# History reasons written for officers: they name other families' applications.
OFFICERS_ONLY = {EventReason.COMPETING_APPLICATION}


def _masked(value):
    """Mask every ID number inside a JSON-ready value, however deep it sits."""
    if isinstance(value, str):
        return mask_in_text(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _application_document(application: Application, *, withheld: bool) -> dict:
    """`withheld`: the registry did not relate the account to the child, so the document holds
    what the account submitted and its history, not the decisions and offers it led to."""
    consent = getattr(application, "consent", None)
    return {
        "ref": application.ref,
        "admission_year": application.admission_year,
        "grade": application.grade,
        "channel": application.channel,
        "state": application.state,
        "submitted_at": _iso(application.submitted_at),
        "decided_at": _iso(application.decided_at),
        "deidentified_at": _iso(application.deidentified_at),
        "child": {
            "name": application.child_name,
            "id_number": mask(application.child_id_number),
            "birth_date": _iso(application.child_birth_date),
        },
        "home_community_code": application.home_community_code,
        "home_address": application.home_address,
        "guardians": [
            {"name": g.name, "id_number": mask(g.id_number), "relation": g.relation}
            for g in application.guardians.all()
        ],
        "preferences": [
            {"rank": p.rank, "school_code": p.school.code, "school_name": p.school.name}
            for p in application.preferences.all()
        ],
        "consent": None
        if consent is None
        else {
            "reference": consent.reference,
            "given_by": mask(consent.given_by_id_number),
            "given_at": _iso(consent.given_at),
            "purpose": consent.purpose,
            "lookups": list(consent.lookups),
            "withdrawn_at": _iso(consent.withdrawn_at),
        },
        "events": [
            {
                "at": _iso(e.at),
                "from_state": e.from_state,
                "to_state": e.to_state,
                # Who moved it, without naming staff: the family, a member of staff, or the
                # system (a worker, the counter).
                "by": "family"
                if e.actor_id and e.actor_id == application.applicant_id
                else "staff"
                if e.actor_id
                else "system",
                # Why, as the product's code (EventReason) and its specifics; `reason` holds
                # only a person's own words.
                # Another application for the same child is not this family's to know.
                "reason_code": "" if e.reason_code in OFFICERS_ONLY else e.reason_code,
                "reason_params": {} if e.reason_code in OFFICERS_ONLY else e.reason_params,
                "reason": e.reason,
            }
            for e in application.events.all()
        ],
        "decisions": [
            {
                "created_at": _iso(d.created_at),
                "is_current": d.is_current,
                "basis": d.basis,
                "outcome": d.outcome,
                "hukou_class": d.hukou_class,
                "housing_class": d.housing_class,
                "base_points": str(d.base_points),
                "bonus_points": str(d.bonus_points),
                "total_points": str(d.total_points),
                "residence_months": d.residence_months,
                "si_months": d.si_months,
                "reasons": list(d.reasons),
                "trace": d.trace,
                "policy_version": d.policy.version,
                "reason": d.reason,
            }
            for d in application.decisions.all()
            if not withheld
        ],
        "evidence": [
            {
                "fact": e.fact,
                "kind": e.kind,
                "content_type": e.content_type,
                "size": e.size,
                "statement": e.statement,
                "submitted_at": _iso(e.submitted_at),
                "review": e.review,
                "review_reason": e.review_reason,
            }
            for e in application.evidence.all()
        ],
        "offers": [
            {
                "round": o.round,
                "school_code": o.school.code,
                "school_name": o.school.name,
                "status": o.status,
                "made_at": _iso(o.made_at),
                "respond_by": _iso(o.respond_by),
                "answered_at": _iso(o.answered_at),
                "receipt_no": o.receipt_no,
                "enrolment": o.enrolment,
            }
            for o in application.offers.all()
            if not withheld
        ],
        "rechecks": [
            {
                "requested_at": _iso(r.requested_at),
                "reason": r.reason,
                "status": r.status,
                "resolved_at": _iso(r.resolved_at),
                "resolution_reason": r.resolution_reason,
            }
            for r in application.rechecks.all()
        ],
    }


@transaction.atomic
def subject_access_export(*, actor: User) -> dict:
    """Everything held about this parent's family; writes an audit row naming the download.
    Offers appear once families may see them, as on the parent's pages: an embargoed round's
    results are not yet theirs to know."""
    visible_offers = Offer.objects.visible_to_parents(timezone.now()).select_related("school")
    applications = list(
        Application.objects.for_parent(actor)
        .select_related("consent")
        .prefetch_related(
            "guardians",
            "preferences__school",
            "events",
            "decisions__policy",
            "evidence",
            Prefetch("offers", queryset=visible_offers),
            "rechecks",
        )
        .order_by("submitted_at", "id")
    )
    current = {
        a.pk: next((d for d in a.decisions.all() if d.is_current), None) for a in applications
    }
    withheld = {
        a.pk for a in applications if decision_withheld(application=a, decision=current[a.pk])
    }
    # An application whose account the registry did not relate to the child adds no one:
    # lookups about the child and the other adults are not this account's to read.
    family = [
        a
        for a in applications
        if a.deidentified_at is None
        and applicant_related(application=a, decision=current[a.pk]) is not False
    ]
    people = sorted(
        {a.child_id_number for a in family}
        | {g.id_number for a in family for g in a.guardians.all()}
    )
    if actor.is_identity_verified:
        # The check of the account holder's own name and ID number is a lookup too.
        people = sorted({*people, actor.verified_id_number})
    lookups = get_gateway().lookups_about(id_numbers=people) if people else []
    document = {
        "format": SUBJECT_ACCESS_FORMAT,
        "generated_at": timezone.now().isoformat(),
        "account": {
            "username": actor.username,
            "first_name": actor.first_name,
            "last_name": actor.last_name,
            "email": actor.email,
            "phone": actor.phone,
            # The real-name identity the account is bound to, masked like every ID number.
            "verified_id_number": mask(actor.verified_id_number)
            if actor.is_identity_verified
            else "",
            "date_joined": _iso(actor.date_joined),
            "last_login": _iso(actor.last_login),
        },
        "applications": [_application_document(a, withheld=a.pk in withheld) for a in applications],
        "registry_lookups": [
            {
                "at": record.at,
                "client_id": record.client_id,
                "purpose": record.purpose,
                "consent_reference": record.consent_reference,
                "outcome": record.outcome,
            }
            for record in lookups
        ],
    }
    audit_log(
        actor=actor,
        action=AuditAction.SUBJECT_ACCESS_DOWNLOAD,
        target=actor,
        reason="a parent downloaded what the product holds about their family",
        data={"applications": [a.ref for a in applications]},
    )
    return _masked(document)
