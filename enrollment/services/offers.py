"""Families answer their offers; schools record who enrolled (报到)."""

import secrets
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from enrollment.errors import ApplicationError, ErrorCode
from enrollment.models import AuditAction, Offer, School, User
from enrollment.services.audit import audit_log
from enrollment.services.notifications import enrolment_notify

ANSWERS = {"accept": Offer.Status.ACCEPTED, "decline": Offer.Status.DECLINED}
ANSWER_ACTIONS = {"accept": AuditAction.OFFER_ACCEPT, "decline": AuditAction.OFFER_DECLINE}


def _receipt_no(offer: Offer) -> str:
    # Year, offer and a random part: unique by the offer id, unguessable by the random part.
    return f"R{offer.run.admission_year}-{offer.pk:07d}-{secrets.token_hex(3).upper()}"


@transaction.atomic
def offer_answer(*, offer: Offer, actor: User, answer: str, now: datetime | None = None) -> Offer:
    """Accept or decline an offer. Asking again with the same answer changes nothing and returns
    the same receipt, so a retried click never counts twice; a different second answer is
    refused."""
    if answer not in ANSWERS:
        raise ApplicationError(
            ErrorCode.INVALID, "The answer is accept or decline.", field="answer"
        )
    now = now or timezone.now()
    # The row lock makes two simultaneous clicks wait for each other; the second sees the first.
    offer = (
        Offer.objects.for_parent(actor)
        .visible_to_parents(now)
        .select_for_update()
        .select_related("run", "application")
        .filter(pk=offer.pk)
        .first()
    )
    if offer is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such offer.", field="offer")
    wanted = ANSWERS[answer]
    if offer.status == wanted:
        return offer
    if offer.status != Offer.Status.OFFERED:
        raise ApplicationError(
            ErrorCode.ILLEGAL_TRANSITION,
            f"This offer is already {offer.status}; it cannot be {wanted} now.",
            field="answer",
        )
    if offer.respond_by is not None and offer.respond_by < now:
        raise ApplicationError(
            ErrorCode.ILLEGAL_TRANSITION,
            "The deadline to answer this offer has passed.",
            field="answer",
            extra={"why": "deadline_passed"},
        )
    before = offer.status
    offer.status = wanted
    offer.answered_at = now
    offer.answered_by = actor
    offer.receipt_no = _receipt_no(offer)
    offer.save(update_fields=["status", "answered_at", "answered_by", "receipt_no"])
    audit_log(
        actor=actor,
        action=ANSWER_ACTIONS[answer],
        target=offer,
        reason=f"family answered: {answer}",
        data={
            "receipt_no": offer.receipt_no,
            "school": offer.school_id,
            "old": {"status": before},
            "new": {"status": wanted},
        },
    )
    return offer


@transaction.atomic
def offer_mark_enrolment(
    *, school: School, actor: User, ref: str, enrolment: str, reason: str = ""
) -> Offer:
    """The school records whether an admitted child enrolled (报到). A child who did not frees
    the place for the next round. Only a place the family accepted can be marked: an offer
    still awaiting its answer is the family's to take or leave, not the school's."""
    if not actor.is_school_staff or actor.school_code != school.code:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such school among yours.", field="code")
    if enrolment not in Offer.Enrolment.values:
        raise ApplicationError(
            ErrorCode.INVALID,
            f"enrolment must be one of {', '.join(Offer.Enrolment.values)}",
            field="enrolment",
        )
    offer = (
        Offer.objects.select_for_update()
        .select_related("run")
        .filter(school=school, application__ref=ref)
        .live()
        .visible_to_parents(timezone.now())
        .first()
    )
    if offer is None:
        raise ApplicationError(
            ErrorCode.NOT_FOUND, "No child with this reference is admitted here.", field="ref"
        )
    if offer.status != Offer.Status.ACCEPTED:
        raise ApplicationError(
            ErrorCode.ILLEGAL_TRANSITION,
            f"The family has not accepted this place (offer is {offer.status}); 报到 can be "
            "recorded only for an accepted place.",
            field="enrolment",
            extra={"why": "not_accepted"},
        )
    if offer.enrolment == enrolment:
        return offer
    before = offer.enrolment
    offer.enrolment = enrolment
    offer.enrolment_marked_by = actor
    offer.enrolment_marked_at = timezone.now()
    offer.save(update_fields=["enrolment", "enrolment_marked_by", "enrolment_marked_at"])
    audit_log(
        actor=actor,
        action=AuditAction.OFFER_ENROLMENT,
        target=offer,
        reason=reason or f"报到: {enrolment}",
        data={
            "before": before,
            "after": enrolment,
            "old": {"enrolment": before},
            "new": {"enrolment": enrolment},
        },
    )
    enrolment_notify(offer=offer)
    return offer


@transaction.atomic
def offers_close_enrolment(*, school: School, actor: User, reason: str) -> int:
    """报到 is over at this school: every admitted child not marked enrolled is marked no_show,
    so that the next round offers those places to the waiting lists. Returns how many."""
    if not actor.is_school_staff or actor.school_code != school.code:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such school among yours.", field="code")
    if not (reason or "").strip():
        raise ApplicationError(ErrorCode.REASON_REQUIRED, "Say why 报到 is closed.", field="reason")
    now = timezone.now()
    offers = list(
        Offer.objects.select_for_update()
        .filter(school=school, enrolment="")
        .live()
        .visible_to_parents(now)
    )
    for offer in offers:
        offer.enrolment = Offer.Enrolment.NO_SHOW
        offer.enrolment_marked_by = actor
        offer.enrolment_marked_at = now
    Offer.objects.bulk_update(offers, ["enrolment", "enrolment_marked_by", "enrolment_marked_at"])
    audit_log(
        actor=actor,
        action=AuditAction.OFFER_ENROLMENT_CLOSED,
        target=school,
        reason=reason,
        data={"no_show": [offer.pk for offer in offers]},
    )
    return len(offers)
