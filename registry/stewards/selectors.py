"""Reads behind the data stewards' pages: import batches, handed-in files and the audit log."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from registry.models import (
    AuditEntry,
    AuditSubject,
    FeedUpload,
    HukouRecord,
    ImportBatch,
    PropertyRecord,
    RentalRecord,
    ResidencePermitRecord,
    SocialInsuranceRecord,
    Source,
)

# Batches per source the quality page shows: about two years of monthly deliveries.
QUALITY_BATCHES = 24


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


def batches_per_source(*, limit: int = QUALITY_BATCHES) -> dict[str, list[ImportBatch]]:
    """The newest `limit` batches of every department feed, oldest first, whatever their
    outcome (a failed load is part of a source's record). Without the rejected lines: a
    batch's list can hold a hundred thousand of them."""
    return {
        source: list(
            reversed(
                ImportBatch.objects.filter(source=source)
                .defer("rejections")
                .order_by("-started_at", "-id")[:limit]
            )
        )
        for source in Source.values
    }


def admission_cutoff(today: date) -> date:
    """The data cut-off of the coming admission (DOMAIN.md: 31 March of the admission year):
    until the end of August the year's own, from September on the next year's. The policy
    enrollment applies holds the real date; the registry knows only this default."""
    year = today.year if today.month < 9 else today.year + 1
    return date(year, 3, 31)


@dataclass(frozen=True)
class PoolQuality:
    """Figures about the data pool as a whole, as of `today` and the admission's `cutoff`."""

    cutoff: date
    today: date
    permit_days: int
    # People the other feeds name (owner, tenant, insured, permit holder) without a hukou
    # record: their families' questions cannot be answered from the pool.
    without_hukou: int
    rentals: int
    # Rentals ending before the cut-off: they cannot make a family's housing RENT.
    rentals_ending_before_cutoff: int
    permits: int
    permits_expired: int
    # Valid today and expiring within `permit_days` days.
    permits_expiring: int


def pool_quality(*, cutoff: date, today: date, permit_days: int = 90) -> PoolQuality:
    """Three aggregate statements, each one pass over its tables however many millions of
    rows they hold: no row comes to Python."""
    return PoolQuality(
        cutoff=cutoff,
        today=today,
        permit_days=permit_days,
        without_hukou=_people_without_hukou(),
        **_rental_counts(cutoff),
        **_permit_counts(today, permit_days),
    )


def _people_without_hukou() -> int:
    # One statement: the four feeds' ID numbers, each without a hukou record (an anti-join
    # on hukou's unique index), made distinct by UNION and counted.
    no_hukou = ~Exists(HukouRecord.objects.filter(id_number=OuterRef("person")))
    parts = [
        model.objects.annotate(person=F(column))
        .filter(no_hukou)
        .values_list("person", flat=True)
        .order_by()
        for model, column in (
            (PropertyRecord, "owner_id_number"),
            (RentalRecord, "tenant_id_number"),
            (SocialInsuranceRecord, "id_number"),
            (ResidencePermitRecord, "id_number"),
        )
    ]
    return parts[0].union(*parts[1:]).count()


def _rental_counts(cutoff: date) -> dict:
    return RentalRecord.objects.aggregate(
        rentals=Count("pk"),
        rentals_ending_before_cutoff=Count("pk", filter=Q(end_date__lt=cutoff)),
    )


def _permit_counts(today: date, days: int) -> dict:
    return ResidencePermitRecord.objects.aggregate(
        permits=Count("pk"),
        permits_expired=Count("pk", filter=Q(expires_on__lt=today)),
        permits_expiring=Count(
            "pk", filter=Q(expires_on__gte=today, expires_on__lte=today + timedelta(days=days))
        ),
    )


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
