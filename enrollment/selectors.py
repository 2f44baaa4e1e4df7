"""Reads for views and APIs; each applies its own scoping to the asking user."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from enrollment.models import (
    AllocationRun,
    Application,
    ApplicationState,
    Decision,
    Offer,
    Recheck,
    Role,
    School,
    SchoolPreference,
    User,
    WaitlistEntry,
)


def applications_visible_to(*, user: User) -> QuerySet[Application]:
    """A parent sees their own applications, an officer their district's; no one else any."""
    base = Application.objects.all()
    if user.role == Role.PARENT:
        return base.filter(applicant=user)
    if user.role == Role.OFFICER:
        return base.filter(district_code=user.district_code)
    return base.none()


def current_decision_prefetch() -> Prefetch:
    return Prefetch(
        "decisions",
        queryset=Decision.objects.filter(is_current=True).select_related("policy"),
        to_attr="current_decisions",
    )


def application_detail(*, user: User, ref: str) -> Application | None:
    return (
        applications_visible_to(user=user)
        .select_related("consent")
        .prefetch_related("guardians", "preferences__school", current_decision_prefetch())
        .filter(ref=ref)
        .first()
    )


def decisions_for_officer(*, user: User, admission_year: int) -> QuerySet[Decision]:
    return (
        Decision.objects.filter(
            is_current=True,
            application__admission_year=admission_year,
            application__district_code=user.district_code,
        )
        .select_related("application", "policy")
        .order_by("application__ref")
    )


def school_for_staff(*, user: User, code: str, admission_year: int) -> School | None:
    """The school, if this user is its staff; None for anyone else."""
    if user.role != Role.SCHOOL or user.school_code != code:
        return None
    return School.objects.filter(code=code, admission_year=admission_year).first()


def school_applicants(*, school: School) -> QuerySet[Application]:
    """Applications that list this school, with their current decision."""
    return (
        Application.objects.filter(preferences__school=school)
        .prefetch_related("preferences", current_decision_prefetch())
        .order_by("ref")
    )


# --- allocation, offers, demand --------------------------------------------------------------


@dataclass(frozen=True)
class SchoolDemandRow:
    """Demand against seats at one school (see `school_demand`)."""

    code: str
    name: str
    kind: str
    district_code: str
    seats: int
    first_preference: int
    any_preference: int
    eligible_first_preference: int
    eligible_any_preference: int
    placed: int
    lat: Decimal | None
    lon: Decimal | None

    @property
    def first_preference_per_seat(self) -> float | None:
        return self.first_preference / self.seats if self.seats else None


def school_demand(*, admission_year: int, district_code: str = "") -> list[SchoolDemandRow]:
    """Demand against seats for every school of a year (one district, or the city when empty),
    ordered by school code, for the officers' demand page (charts and map):

    - `first_preference` / `any_preference`: live applications (not withdrawn) ranking the school
      first / anywhere;
    - `eligible_first_preference` / `eligible_any_preference`: the same, counting only
      applications whose current decision is `eligible`;
    - `seats`: the published capacity; `placed`: children the latest published round placed
      there (the latest finished real run when nothing is published yet; 0 before any run);
    - `lat`, `lon`: the school's location, None when unknown.

    Three grouped queries whatever the number of schools.
    """
    schools = School.objects.filter(admission_year=admission_year)
    if district_code:
        schools = schools.filter(district_code=district_code)
    schools = list(schools.order_by("code"))
    preferences = SchoolPreference.objects.filter(school__in=schools).exclude(
        application__state=ApplicationState.WITHDRAWN
    )
    first, anywhere, eligible_first, eligible_any = Counter(), Counter(), Counter(), Counter()
    eligible = set(
        Decision.objects.filter(
            is_current=True,
            outcome=Decision.Outcome.ELIGIBLE,
            application__admission_year=admission_year,
        ).values_list("application_id", flat=True)
    )
    for school_id, rank, application_id in preferences.values_list(
        "school_id", "rank", "application_id"
    ).iterator(chunk_size=20000):
        anywhere[school_id] += 1
        is_eligible = application_id in eligible
        eligible_any[school_id] += is_eligible
        if rank == 1:
            first[school_id] += 1
            eligible_first[school_id] += is_eligible
    runs = AllocationRun.objects.filter(
        admission_year=admission_year, status=AllocationRun.Status.DONE, is_dry_run=False
    )
    if district_code:
        runs = runs.filter(district_code__in=[district_code, ""])
    run = (
        runs.filter(published_at__isnull=False).order_by("-published_at", "-id").first()
        or runs.order_by("-finished_at", "-id").first()
    )
    counts = run.counts if run else {}
    return [
        SchoolDemandRow(
            code=school.code,
            name=school.name,
            kind=school.kind,
            district_code=school.district_code,
            seats=school.capacity,
            first_preference=first[school.id],
            any_preference=anywhere[school.id],
            eligible_first_preference=eligible_first[school.id],
            eligible_any_preference=eligible_any[school.id],
            placed=counts.get(school.code, {}).get("placed", 0),
            lat=school.lat,
            lon=school.lon,
        )
        for school in schools
    ]


def allocation_runs_for_officer(*, user: User, admission_year: int) -> QuerySet[AllocationRun]:
    return AllocationRun.objects.filter(
        admission_year=admission_year, district_code=user.district_code
    ).select_related("created_by", "published_by")


def allocation_run_for_officer(*, user: User, run_id: int) -> AllocationRun | None:
    if user.role != Role.OFFICER:
        return None
    return AllocationRun.objects.filter(pk=run_id, district_code=user.district_code).first()


def allocation_run_unplaced(*, run: AllocationRun) -> list[str]:
    """References of the applications the run placed nowhere, in reference order."""
    return list(
        run.placements.filter(school__isnull=True)
        .order_by("application__ref")
        .values_list("application__ref", flat=True)
    )


def school_for_officer(*, user: User, code: str, admission_year: int) -> School | None:
    if user.role != Role.OFFICER:
        return None
    return School.objects.filter(
        code=code, admission_year=admission_year, district_code=user.district_code
    ).first()


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


def rechecks_for_officer(*, user: User, admission_year: int, status: str = "") -> QuerySet:
    rechecks = Recheck.objects.filter(
        application__district_code=user.district_code,
        application__admission_year=admission_year,
    ).select_related("application", "requested_by", "resolved_by")
    if status:
        rechecks = rechecks.filter(status=status)
    return rechecks


def recheck_for_officer(*, user: User, recheck_id: int) -> Recheck | None:
    if user.role != Role.OFFICER:
        return None
    return Recheck.objects.filter(
        pk=recheck_id, application__district_code=user.district_code
    ).first()


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
