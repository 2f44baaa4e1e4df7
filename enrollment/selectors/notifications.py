"""Reads of the messages: a person's inbox, and a case's delivery log for its officer."""

from datetime import datetime

from django.db.models import Prefetch

from enrollment.models import DeliveryAttempt, Notification, NotificationChannel

# An inbox page: a family's whole year is a few dozen messages.
INBOX_LIMIT = 100


def inbox_list(*, user, now: datetime) -> list[Notification]:
    return list(
        Notification.objects.inbox_of(user, now).select_related("application")[:INBOX_LIMIT]
    )


def inbox_unread_count(*, user, now: datetime) -> int:
    return Notification.objects.inbox_of(user, now).filter(read_at__isnull=True).count()


def case_deliveries(*, application) -> list[Notification]:
    """Every SMS and e-mail written about one application, oldest first, with its attempts:
    what the officer on the telephone needs to answer "nobody told me"."""
    return list(
        Notification.objects.filter(application=application)
        .exclude(channel=NotificationChannel.INBOX)
        .prefetch_related(
            Prefetch("attempts_log", queryset=DeliveryAttempt.objects.order_by("at", "id"))
        )
        .order_by("created_at", "id")
    )
