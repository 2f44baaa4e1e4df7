"""Reads behind the data stewards' pages: import batches, handed-in files and the audit log."""

from datetime import date, datetime, time

from django.db.models import Count, QuerySet
from django.utils import timezone

from registry.models import AuditEntry, AuditSubject, FeedUpload, ImportBatch, Source


def import_batches() -> QuerySet[ImportBatch]:
    return ImportBatch.objects.order_by("-started_at", "-id")


def feed_uploads() -> QuerySet[FeedUpload]:
    return FeedUpload.objects.select_related("batch").order_by("-submitted_at", "-id")


def latest_batch_per_source() -> list[ImportBatch]:
    """The newest finished batch of each department feed, for the data-quality summary."""
    batches = []
    for source in Source.values:
        batch = (
            ImportBatch.objects.filter(source=source, status=ImportBatch.Status.DONE)
            .order_by("-started_at", "-id")
            .first()
        )
        if batch is not None:
            batches.append(batch)
    return batches


def audit_entries(
    *,
    client: str = "",
    purpose: str = "",
    outcome: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.order_by("-id")
    if client:
        entries = entries.filter(client_id__icontains=client)
    if purpose:
        entries = entries.filter(purpose__icontains=purpose)
    if outcome:
        entries = entries.filter(outcome=outcome)
    tz = timezone.get_current_timezone()
    if date_from:
        entries = entries.filter(at__gte=datetime.combine(date_from, time.min, tzinfo=tz))
    if date_to:
        entries = entries.filter(at__lte=datetime.combine(date_to, time.max, tzinfo=tz))
    return entries


def audit_subject_counts(*, entry_ids) -> dict[int, int]:
    """How many people each entry was about, for one page of entries only: counting over the
    whole (very long) log before paginating would read all of it."""
    rows = (
        AuditSubject.objects.filter(entry_id__in=list(entry_ids))
        .values("entry_id")
        .annotate(n=Count("id"))
        .values_list("entry_id", "n")
    )
    return dict(rows)
