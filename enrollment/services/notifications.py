"""Writing the messages: one outbox row per event, recipient and channel, in the event's own
transaction.

The services where an event happens call one function here (a line or two each); the rows
they write are sent by the workers (enrollment/services/delivery.py), never by the request.
A row's key (`<event>:<object>:<recipient>:<channel>`) is unique, and every write here
skips a key that exists: writing the same event again writes nothing, so it sends nothing.
The reminders, the expiries and the officers' digest are written by beat
(`offer_reminders_write`, `review_digest_write`), which may run as often as it likes for
the same reason.

Recipients: the account that applied (a counter-entered application has none and is told
at the counter). Every message goes to the account's inbox; SMS to its verified phone and
e-mail to its address, as the family chose (`User.notify_by`).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from enrollment.db import insert_skipping_conflicts
from enrollment.models import (
    Application,
    ApplicationState,
    Decision,
    Evidence,
    Notification,
    NotificationChannel,
    NotificationEvent,
    NotificationPreference,
    Offer,
    Recheck,
    Role,
    School,
    User,
)
from enrollment.services import dispatch
from enrollment.services.notification_texts import Renderer

Channel = NotificationChannel
Event = NotificationEvent

# How far back beat looks for offers whose deadline passed unanswered: a week covers any
# outage of beat; older offers were settled by the next round's publication.
EXPIRED_LOOKBACK = timedelta(days=7)
# The reminders, by how long before the deadline their window opens.
REMINDERS = (
    (Event.OFFER_REMINDER_48H, timedelta(hours=48)),
    (Event.OFFER_REMINDER_12H, timedelta(hours=12)),
)


@dataclass(frozen=True)
class Recipient:
    id: int
    language: str
    phone: str
    email: str
    notify_by: str
    phone_verified: bool

    def channels(self) -> list[tuple[str, str]]:
        """(channel, address) for every channel this person is written to: the inbox always;
        SMS and e-mail as chosen, and where only one has an address, that one."""
        available = []
        if self.phone and self.phone_verified:
            available.append((Channel.SMS, self.phone))
        if self.email:
            available.append((Channel.EMAIL, self.email))
        wanted = [
            (channel, address)
            for channel, address in available
            if self.notify_by == NotificationPreference.BOTH or self.notify_by == channel
        ]
        return [(Channel.INBOX, ""), *(wanted or available)]


RECIPIENT_FIELDS = ("id", "language", "phone", "email", "notify_by", "verified_id_number")


def _recipient(values: Sequence) -> Recipient:
    id_, language, phone, email, notify_by, verified = values
    return Recipient(id_, language or "zh-hans", phone, email, notify_by, bool(verified))


def recipient_of(user: User) -> Recipient:
    return _recipient([getattr(user, name) for name in RECIPIENT_FIELDS])


def _applicants(application_ids: Iterable[int]) -> dict[int, tuple[str, Recipient]]:
    """application id -> (reference, the account that applied), for applications with one."""
    rows = Application.objects.filter(id__in=list(application_ids), applicant__isnull=False)
    fields = [f"applicant__{name}" for name in RECIPIENT_FIELDS]
    return {
        values[0]: (values[1], _recipient(values[2:]))
        for values in rows.values_list("id", "ref", *fields)
    }


def notification_rows(
    *,
    event: str,
    object_key: str,
    recipient: Recipient,
    renderer: Renderer,
    params: dict,
    now: datetime,
    send_after: datetime | None = None,
    application_id: int | None = None,
) -> list[Notification]:
    """The rows of one event for one recipient, one per channel, in the recipient's language.
    The inbox's row is delivered by being written (visible from `send_after`)."""
    text = renderer.render(recipient.language, **params)
    send_after = send_after or now
    rows = []
    for channel, address in recipient.channels():
        inbox = channel == Channel.INBOX
        rows.append(
            Notification(
                key=f"{event}:{object_key}:{recipient.id}:{channel}",
                event=event,
                channel=channel,
                recipient_id=recipient.id,
                application_id=application_id,
                address=address,
                subject=text.subject,
                body=text.body,
                status=Notification.Status.SENT if inbox else Notification.Status.QUEUED,
                created_at=now,
                send_after=send_after,
                sent_at=send_after if inbox else None,
            )
        )
    return rows


def _store(rows: list[Notification]) -> int:
    """Write the rows that are new, skip the keys already written, and wake the workers once
    the transaction commits. Returns how many rows were written."""
    if not rows:
        return 0
    written = insert_skipping_conflicts(Notification, rows, unique="key")
    if any(row.channel != Channel.INBOX for row in rows):
        dispatch.notifications_signal_on_commit(count=len(rows))
    return written


# --- The events -----------------------------------------------------------------------------


def application_received_rows(*, application: Application, recipient: User | None, now) -> list:
    """The submission's messages, stored with the application by `submission_store` in its one
    statement (keyed by the reference, as the application has no id yet)."""
    if recipient is None:
        return []
    return notification_rows(
        event=Event.RECEIVED,
        object_key=application.ref,
        recipient=recipient_of(recipient),
        renderer=Renderer(Event.RECEIVED),
        params={"ref": application.ref},
        now=now,
    )


def application_received_signal(*, recipient: User | None) -> None:
    """After `application_received_rows` are stored: wake the workers once committed."""
    if recipient is not None:
        dispatch.notifications_signal_on_commit(count=1)


def verification_outcomes_notify(*, application_ids: Sequence[int]) -> int:
    """A verification batch's results, set-based: a decision ready (with the total) or a
    request for evidence or a commitment (needs review). Keyed by the decision, so the same
    batch recorded twice writes nothing more."""
    applicants = _applicants(application_ids)
    if not applicants:
        return 0
    now = timezone.now()
    renderers = {
        variant: Renderer(variant)
        for variant in (Event.DECIDED, "decided_ineligible", Event.NEEDS_REVIEW)
    }
    decisions = Decision.objects.current().filter(
        application_id__in=list(applicants),
        application__state__in=[ApplicationState.DECIDED, ApplicationState.NEEDS_REVIEW],
    )
    rows = []
    for decision_id, application_id, state, outcome, total in decisions.values_list(
        "id", "application_id", "application__state", "outcome", "total_points"
    ):
        ref, recipient = applicants[application_id]
        if state == ApplicationState.NEEDS_REVIEW:
            event, variant = Event.NEEDS_REVIEW, Event.NEEDS_REVIEW
        else:
            event = Event.DECIDED
            variant = (
                Event.DECIDED if outcome == Decision.Outcome.ELIGIBLE else "decided_ineligible"
            )
        rows += notification_rows(
            event=event,
            object_key=str(decision_id),
            recipient=recipient,
            renderer=renderers[variant],
            params={"ref": ref, "total": total},
            now=now,
            application_id=application_id,
        )
    return _store(rows)


def evidence_reviewed_notify(*, evidence: Evidence) -> int:
    """An officer accepted or refused a piece of evidence or a commitment."""
    accepted = evidence.review == Evidence.Review.ACCEPTED
    event = Event.EVIDENCE_ACCEPTED if accepted else Event.EVIDENCE_REJECTED
    return _application_event(
        event=event,
        variant=event,
        object_key=str(evidence.pk),
        application_id=evidence.application_id,
        params={"fact": Evidence.Fact(evidence.fact).label},
    )


def recheck_answered_notify(*, recheck: Recheck) -> int:
    changed = recheck.status == Recheck.Status.CHANGED
    return _application_event(
        event=Event.RECHECK_ANSWERED,
        variant="recheck_changed" if changed else Event.RECHECK_ANSWERED,
        object_key=str(recheck.pk),
        application_id=recheck.application_id,
    )


def enrolment_notify(*, offer: Offer) -> int:
    """The school confirmed the child's 报到 (a no-show is not news the family needs from us)."""
    if offer.enrolment != Offer.Enrolment.ENROLLED:
        return 0
    return _application_event(
        event=Event.ENROLLED,
        variant=Event.ENROLLED,
        object_key=str(offer.pk),
        application_id=offer.application_id,
        params={"school": offer.school.name},
    )


def _application_event(
    *, event: str, variant: str, object_key: str, application_id: int, params: dict | None = None
) -> int:
    applicant = _applicants([application_id]).get(application_id)
    if applicant is None:
        return 0
    ref, recipient = applicant
    return _store(
        notification_rows(
            event=event,
            object_key=object_key,
            recipient=recipient,
            renderer=Renderer(variant),
            params={"ref": ref, **(params or {})},
            now=timezone.now(),
            application_id=application_id,
        )
    )


def offers_made_notify(*, offers: Sequence[Offer], visible_from: datetime, round: int) -> int:
    """A publication's offers, set-based: each family is told its school and the deadline,
    from the moment the run becomes visible to families (its embargo), not before. A later
    round's offer is a place from the waiting list."""
    if not offers:
        return 0
    event = Event.OFFER_MADE if round == 1 else Event.WAITLIST_OFFER
    return _offers_rows(offers=offers, event=event, now=timezone.now(), send_after=visible_from)


def _offers_rows(*, offers, event: str, now: datetime, send_after: datetime | None = None) -> int:
    applicants = _applicants(offer.application_id for offer in offers)
    schools = dict(
        School.objects.filter(id__in={offer.school_id for offer in offers}).values_list(
            "id", "name"
        )
    )
    renderer = Renderer(event)
    rows = []
    for offer in offers:
        applicant = applicants.get(offer.application_id)
        if applicant is None:
            continue
        ref, recipient = applicant
        rows += notification_rows(
            event=event,
            object_key=str(offer.pk),
            recipient=recipient,
            renderer=renderer,
            params={
                "ref": ref,
                "school": schools[offer.school_id],
                "deadline": offer.respond_by,
                "round": offer.round,
            },
            now=now,
            send_after=send_after,
            application_id=offer.application_id,
        )
    return _store(rows)


def _not_yet_written(event: str):
    """Offers whose family has no message of this event for this offer yet: the unique key is
    the guarantee, this only keeps beat from rendering the same messages every run."""
    return ~Exists(
        Notification.objects.filter(
            event=event,
            application_id=OuterRef("application_id"),
            channel=Channel.INBOX,
            created_at__gte=OuterRef("made_at"),
        )
    )


def offer_reminders_write(*, now: datetime | None = None) -> dict[str, int]:
    """Beat's sweep over the offer deadlines: a reminder 48 h and 12 h before an unanswered
    offer expires, and word that it expired once the deadline passed unanswered. An answered
    offer is not `offered` any more, so it is never reminded. Returns rows written per event."""
    now = now or timezone.now()
    visible = Offer.objects.visible_to_parents(now).filter(application__applicant__isnull=False)
    written = {}
    for event, window in REMINDERS:
        due = visible.filter(
            status=Offer.Status.OFFERED, respond_by__gt=now, respond_by__lte=now + window
        )
        if event == Event.OFFER_REMINDER_48H:
            # Inside the last 12 hours only the last reminder is worth a message.
            due = due.filter(respond_by__gt=now + REMINDERS[1][1])
        written[event] = _offers_rows(
            offers=list(due.filter(_not_yet_written(event))), event=event, now=now
        )
    lapsed = visible.filter(
        Q(status=Offer.Status.OFFERED) | Q(status=Offer.Status.EXPIRED),
        respond_by__lte=now,
        respond_by__gt=now - EXPIRED_LOOKBACK,
    ).filter(_not_yet_written(Event.OFFER_EXPIRED))
    written[Event.OFFER_EXPIRED] = _offers_rows(
        offers=list(lapsed), event=Event.OFFER_EXPIRED, now=now
    )
    return written


def review_digest_write(*, now: datetime | None = None) -> int:
    """Each officer's morning digest: how many applications of their district wait for a
    person. Keyed by the day, so beat running twice that day writes it once."""
    now = now or timezone.now()
    day = timezone.localdate(now).isoformat()
    waiting = dict(
        Application.objects.filter(state=ApplicationState.NEEDS_REVIEW)
        .values_list("district_code")
        .annotate(n=Count("id"))
    )
    renderer = Renderer(Event.REVIEW_DIGEST)
    rows = []
    officers = User.objects.filter(role=Role.OFFICER, is_active=True).values_list(
        "district_code", *RECIPIENT_FIELDS
    )
    for district_code, *values in officers:
        count = waiting.get(district_code, 0)
        if count:
            rows += notification_rows(
                event=Event.REVIEW_DIGEST,
                object_key=day,
                recipient=_recipient(values),
                renderer=renderer,
                params={"count": count},
                now=now,
            )
    return _store(rows)


# --- The family's side ----------------------------------------------------------------------


def inbox_mark_read(*, user: User, now: datetime | None = None) -> int:
    """The family opened its inbox: what it showed counts as read."""
    now = now or timezone.now()
    return Notification.objects.inbox_of(user, now).filter(read_at__isnull=True).update(read_at=now)


def notification_preferences_set(*, actor: User, language: str, notify_by: str, email: str) -> User:
    """A family chooses the language of its messages, SMS, e-mail or both, and its address.
    Messages written from now on follow the choice; those written already stay as written."""
    actor.language = language
    actor.notify_by = notify_by
    actor.email = email.strip()
    actor.save(update_fields=["language", "notify_by", "email"])
    return actor
