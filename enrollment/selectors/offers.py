"""Reads of offers and waiting-list places, as a family may see them.

A family sees an offer once its run is visible to parents (`Offer.objects.visible_to_parents`),
and waiting lists of the latest run it can see; the parents' pages and API read both here.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from enrollment.models import Application, Offer, User, WaitlistEntry
from enrollment.selectors.allocation import allocation_run_latest_visible


@dataclass(frozen=True)
class WaitlistPlace:
    school_code: str
    school_name: str
    position: int
    length: int


def offer_list(*, user: User, now: datetime | None = None) -> QuerySet[Offer]:
    """The parent's offers that families may see now, newest first."""
    return (
        Offer.objects.for_parent(user)
        .visible_to_parents(now or timezone.now())
        .select_related("run", "school", "application")
        .order_by("-made_at", "-id")
    )


def offer_get(*, user: User, offer_id: int) -> Offer | None:
    return offer_list(user=user).filter(pk=offer_id).first()


def _places(*, run, application: Application) -> list[WaitlistPlace]:
    """The application's places on the waiting lists of `run`, by school code."""
    if run is None:
        return []
    entries = list(
        WaitlistEntry.objects.filter(run=run, application=application).select_related("school")
    )
    lengths = Counter(
        WaitlistEntry.objects.filter(
            run=run, school__in=[e.school_id for e in entries]
        ).values_list("school_id", flat=True)
    )
    return [
        WaitlistPlace(e.school.code, e.school.name, e.position, lengths[e.school_id])
        for e in sorted(entries, key=lambda e: e.school.code)
    ]


def offer_list_with_places(
    *, user: User, admission_year: int, now: datetime | None = None
) -> list[tuple[Offer, list[WaitlistPlace]]]:
    """The parent's visible offers of a year, newest first, each live one with the family's
    places on the waiting lists (of schools it ranked above the offer) in the latest run it
    can see."""
    now = now or timezone.now()
    result = []
    for offer in offer_list(user=user, now=now).filter(application__admission_year=admission_year):
        places = []
        if offer.status in Offer.LIVE:
            run = allocation_run_latest_visible(application=offer.application, now=now)
            places = _places(run=run, application=offer.application)
        result.append((offer, places))
    return result


def waitlist_place_list(
    *, user: User, admission_year: int, now: datetime | None = None
) -> list[tuple[str, WaitlistPlace]]:
    """(application ref, place) for every waiting list the parent's families are on in the
    latest published round they can see, placed or not: a family with no offer waits on the
    list of every school it ranked."""
    now = now or timezone.now()
    applications = Application.objects.for_parent(user).filter(admission_year=admission_year)
    return [
        (application.ref, place)
        for application in applications.order_by("ref")
        for place in _places(
            run=allocation_run_latest_visible(application=application, now=now),
            application=application,
        )
    ]
