"""Reads of offers and waiting-list places, as a family may see them."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from enrollment.models import (
    AllocationRun,
    Application,
    Offer,
    User,
    WaitlistEntry,
)


@dataclass(frozen=True)
class WaitlistPlace:
    school_code: str
    school_name: str
    position: int
    length: int


def offers_for_parent(
    *, user: User, admission_year: int, now: datetime | None = None
) -> list[tuple[Offer, list[WaitlistPlace]]]:
    """The parent's offers made visible (published and past the embargo), newest first, each
    with the family's places on the waiting lists of schools it ranked above the offer."""
    now = now or timezone.now()
    offers = list(
        Offer.objects.filter(
            application__applicant=user,
            application__admission_year=admission_year,
            run__published_at__isnull=False,
            run__visible_from__lte=now,
        )
        .select_related("run", "school", "application")
        .order_by("-made_at", "-id")
    )
    result = []
    for offer in offers:
        places = []
        if offer.status in Offer.LIVE:
            latest_run = _latest_visible_run(offer=offer, now=now)
            entries = WaitlistEntry.objects.filter(
                run=latest_run, application=offer.application
            ).select_related("school")
            lengths = Counter(
                WaitlistEntry.objects.filter(
                    run=latest_run, school__in=[e.school_id for e in entries]
                ).values_list("school_id", flat=True)
            )
            places = [
                WaitlistPlace(e.school.code, e.school.name, e.position, lengths[e.school_id])
                for e in entries
            ]
        result.append((offer, places))
    return result


def _latest_visible_run(*, offer: Offer, now: datetime) -> AllocationRun:
    run = offer.run
    return (
        AllocationRun.objects.filter(
            admission_year=run.admission_year,
            district_code=run.district_code,
            published_at__isnull=False,
            visible_from__lte=now,
        )
        .order_by("-round")
        .first()
        or run
    )


def offer_for_parent(*, user: User, offer_id: int) -> Offer | None:
    return (
        Offer.objects.filter(pk=offer_id, application__applicant=user)
        .select_related("run", "school", "application")
        .first()
    )


def waitlist_places_for_parent(
    *, user: User, admission_year: int, now: datetime | None = None
) -> list[tuple[str, WaitlistPlace]]:
    """(application ref, place) for every waiting list the parent's families are on in the
    latest published round they can see, placed or not: a family with no offer waits on the
    list of every school it ranked."""
    now = now or timezone.now()
    result = []
    applications = Application.objects.filter(applicant=user, admission_year=admission_year)
    for application in applications.order_by("ref"):
        run = (
            AllocationRun.objects.filter(
                admission_year=admission_year,
                district_code__in=[application.district_code, ""],
                published_at__isnull=False,
                visible_from__lte=now,
            )
            .order_by("-published_at", "-id")
            .first()
        )
        if run is None:
            continue
        entries = list(
            WaitlistEntry.objects.filter(run=run, application=application).select_related("school")
        )
        lengths = Counter(
            WaitlistEntry.objects.filter(
                run=run, school__in=[e.school_id for e in entries]
            ).values_list("school_id", flat=True)
        )
        result.extend(
            (
                application.ref,
                WaitlistPlace(e.school.code, e.school.name, e.position, lengths[e.school_id]),
            )
            for e in sorted(entries, key=lambda e: e.school.code)
        )
    return result
