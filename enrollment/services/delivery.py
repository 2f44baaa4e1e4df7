"""Sending the outbox: workers claim due messages, send them, and log every attempt.

A claim moves a batch of `queued` rows to `sending` under FOR UPDATE SKIP LOCKED, so two
workers never hold the same row and a row is sent at most once by this side; the gateway is
given the row's key as its client id, so a worker that dies between the gateway's answer and
its own commit (the one moment this side cannot see) is not a second SMS either, where the
gateway deduplicates. A `sending` row whose worker died is put back by the reconciler after
NOTIFY_LEASE_SECONDS.

Before sending, each SMS is held through quiet hours (NOTIFY_QUIET_START to NOTIFY_QUIET_END
local time) until they end, except the last reminder of an offer about to expire; and a
family gets at most NOTIFY_DAILY_CAP messages a channel a day, beyond which a message stays
in the inbox alone (recorded as `skipped`). A failed send is retried with an exponential
backoff (NOTIFY_RETRY_SECONDS doubling, at most NOTIFY_MAX_ATTEMPTS attempts).
"""

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Min
from django.utils import timezone

from enrollment.models import DeliveryAttempt, Notification, NotificationChannel
from enrollment.models import NotificationEvent as Event
from enrollment.services import dispatch
from enrollment.sms import SmsFailed, sms_send

logger = logging.getLogger("enrollment.notifications")

Status = Notification.Status
Outcome = DeliveryAttempt.Outcome
# Sent through quiet hours and past the daily cap: without it the family may lose the place.
URGENT = {Event.OFFER_REMINDER_12H}


@dataclass
class SendResult:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    held: int = 0
    skipped: int = 0


def quiet_until(moment: datetime) -> datetime | None:
    """When quiet hours end, if `moment` falls in them (local time, settings.TIME_ZONE)."""
    local = timezone.localtime(moment)
    start = time(settings.NOTIFY_QUIET_START)
    end = time(settings.NOTIFY_QUIET_END)
    now = local.time()
    # Over midnight (22:00 to 08:00) the quiet hours are two pieces of the local day.
    quiet = (now >= start or now < end) if start > end else (start <= now < end)
    if not quiet:
        return None
    day = local.date() if now < end else local.date() + timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, end), local.tzinfo)


def retry_delay(attempts: int) -> timedelta:
    base = settings.NOTIFY_RETRY_SECONDS
    return timedelta(seconds=min(base * 2 ** (attempts - 1), 6 * 60 * 60))


def _claim(now: datetime, limit: int) -> list[Notification]:
    with transaction.atomic():
        ids = list(
            Notification.objects.due(now)
            .exclude(channel=NotificationChannel.INBOX)
            .order_by("send_after", "id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        Notification.objects.filter(id__in=ids, status=Status.QUEUED).update(
            status=Status.SENDING, claimed_at=now
        )
    return list(Notification.objects.filter(id__in=ids, status=Status.SENDING, claimed_at=now))


def _sent_today(messages: list[Notification], now: datetime) -> Counter:
    """Messages already sent today to each (recipient, channel) of the batch."""
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = (
        Notification.objects.filter(
            recipient_id__in={m.recipient_id for m in messages},
            channel__in=[NotificationChannel.SMS, NotificationChannel.EMAIL],
            status=Status.SENT,
            sent_at__gte=midnight,
        )
        .values_list("recipient_id", "channel")
        .annotate(n=Count("id"))
    )
    return Counter({(recipient, channel): n for recipient, channel, n in rows})


def _deliver(message: Notification) -> str:
    """Hand one message to its channel; returns the gateway's answer, raises on failure."""
    if message.channel == NotificationChannel.SMS:
        return sms_send(phone=message.address, text=message.body, key=message.key)
    send_mail(message.subject, message.body, None, [message.address])
    return ""


def _finish(message: Notification, outcome: str, detail: str, now: datetime, **fields) -> None:
    with transaction.atomic():
        Notification.objects.filter(pk=message.pk, status=Status.SENDING).update(
            claimed_at=None, **fields
        )
        DeliveryAttempt.objects.create(
            notification=message, at=now, outcome=outcome, detail=detail[:255]
        )


def notifications_send(*, limit: int | None = None, now: datetime | None = None) -> SendResult:
    """Claim and send one batch of due messages (NOTIFY_BATCH_SIZE)."""
    limit = limit or settings.NOTIFY_BATCH_SIZE
    now = now or timezone.now()
    messages = _claim(now, limit)
    result = SendResult(claimed=len(messages))
    if not messages:
        return result
    sent_today = _sent_today(messages, now)
    cap = settings.NOTIFY_DAILY_CAP
    for message in messages:
        urgent = message.event in URGENT
        held = message.channel == NotificationChannel.SMS and not urgent and quiet_until(now)
        pair = (message.recipient_id, message.channel)
        if held:
            detail = f"until {held.isoformat()}"
            _finish(message, Outcome.HELD, detail, now, status=Status.QUEUED, send_after=held)
            result.held += 1
        elif not message.address:
            _finish(message, Outcome.NO_ADDRESS, "", now, status=Status.SKIPPED)
            result.skipped += 1
        elif not urgent and sent_today[pair] >= cap:
            _finish(message, Outcome.CAPPED, f"{cap} a day", now, status=Status.SKIPPED)
            result.skipped += 1
        else:
            _attempt(message, now, result)
            if message.status == Status.SENT:
                sent_today[pair] += 1
    if result.claimed == limit:
        dispatch.notifications_continue()
    if result.failed:
        _schedule_retry()
    return result


def _attempt(message: Notification, now: datetime, result: SendResult) -> None:
    attempts = message.attempts + 1
    try:
        answer = _deliver(message)
    except (SmsFailed, OSError) as error:
        # OSError: smtplib's errors are OSErrors, as are a refused connection and a timeout.
        detail = str(error) or type(error).__name__
        final = attempts >= settings.NOTIFY_MAX_ATTEMPTS
        _finish(
            message,
            Outcome.FAILED,
            detail,
            now,
            attempts=attempts,
            last_error=detail[:255],
            status=Status.FAILED if final else Status.QUEUED,
            send_after=now if final else now + retry_delay(attempts),
        )
        logger.warning(
            "notification %s failed (attempt %d%s): %s",
            message.pk,
            attempts,
            ", giving up" if final else "",
            detail,
        )
        result.failed += 1
        return
    message.status = Status.SENT
    _finish(message, Outcome.SENT, answer, now, attempts=attempts, status=Status.SENT, sent_at=now)
    result.sent += 1


def _schedule_retry() -> None:
    """One message due when the earliest retry is, so a failure is retried without waiting for
    the reconciler (which would find it anyway)."""
    first = Notification.objects.filter(status=Status.QUEUED, attempts__gt=0).aggregate(
        at=Min("send_after")
    )["at"]
    if first is not None:
        dispatch.notifications_retry_at(when=first)


def notifications_reconcile(*, now: datetime | None = None) -> dict[str, int]:
    """Beat's recovery: rows claimed by a worker that died go back to the queue, and workers
    are woken for every due row, whose message Redis may have lost. PostgreSQL holds the
    outbox, so this is all a worker or Redis restart needs."""
    now = now or timezone.now()
    lease = timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)
    returned = Notification.objects.filter(
        status=Status.SENDING, claimed_at__lt=now - lease
    ).update(status=Status.QUEUED, claimed_at=None)
    due = Notification.objects.due(now).exclude(channel=NotificationChannel.INBOX).count()
    if due:
        dispatch.notifications_wake(count=due)
    return {"returned": returned, "due": due}
