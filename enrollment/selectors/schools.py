"""Reads of schools, their applicants and demand against seats."""

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from enrollment.models import (
    AllocationRun,
    Application,
    ApplicationState,
    Decision,
    Offer,
    Role,
    School,
    SchoolPreference,
    User,
)
from enrollment.selectors.applications import current_decision_prefetch


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


def school_for_officer(*, user: User, code: str, admission_year: int) -> School | None:
    if user.role != Role.OFFICER:
        return None
    return School.objects.filter(
        code=code, admission_year=admission_year, district_code=user.district_code
    ).first()


@dataclass(frozen=True)
class SchoolDemand:
    school: School
    first_choice: int
    any_choice: int
    in_catchment_first: int

    @property
    def seats(self) -> int:
        return self.school.capacity

    @property
    def seats_short(self) -> int:
        """First-choice demand beyond the seats; negative when seats are left over."""
        return self.first_choice - self.school.capacity


def district_school_demand(*, user: User, admission_year: int) -> list[SchoolDemand]:
    """Per school of the district: first-choice and any-choice demand from live applications."""
    schools = list(
        School.objects.filter(district_code=user.district_code, admission_year=admission_year)
    )
    preferences = (
        SchoolPreference.objects.filter(school__in=schools)
        .exclude(application__state=ApplicationState.WITHDRAWN)
        .order_by()
    )
    # One grouped query: per (school, home community), all choices and first choices.
    groups = (
        preferences.values("school_id", "application__home_community_code")
        .annotate(any_choice=Count("id"), first_choice=Count("id", filter=Q(rank=1)))
        .values_list("school_id", "application__home_community_code", "any_choice", "first_choice")
    )
    anyc, first, catch = Counter(), Counter(), Counter()
    catchments = {s.id: set(s.catchment_communities) for s in schools}
    for school_id, community, any_choice, first_choice in groups:
        anyc[school_id] += any_choice
        first[school_id] += first_choice
        if community in catchments[school_id]:
            catch[school_id] += first_choice
    return [SchoolDemand(s, first[s.id], anyc[s.id], catch[s.id]) for s in schools]


def staff_school(*, user: User, admission_year: int | None = None) -> School | None:
    """The school this staff member works at, for the year asked or its newest year."""
    schools = School.objects.filter(code=user.school_code)
    if admission_year:
        schools = schools.filter(admission_year=admission_year)
    return schools.order_by("-admission_year").first()


def school_live_offers(*, school: School) -> dict[str, Offer]:
    """The school's live offers that families can see, by application reference."""
    offers = Offer.objects.filter(
        school=school, status__in=Offer.LIVE, run__visible_from__lte=timezone.now()
    ).select_related("application", "enrolment_marked_by")
    return {offer.application.ref: offer for offer in offers}
