"""Reads of schools, their applicants and demand against seats."""

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from enrollment.models import (
    AllocationRun,
    Application,
    ApplicationState,
    Decision,
    Offer,
    School,
    SchoolPreference,
    User,
)
from enrollment.selectors.applications import current_decision_prefetch


def staff_school_get(
    *, user: User, admission_year: int | None = None, code: str | None = None
) -> School | None:
    """The school this staff member works at, for the year asked or its newest year; None for
    anyone else, and when `code` names another school."""
    schools = School.objects.for_staff(user)
    if code is not None:
        schools = schools.filter(code=code)
    if admission_year:
        schools = schools.filter(admission_year=admission_year)
    return schools.order_by("-admission_year").first()


def school_get(*, user: User, code: str, admission_year: int) -> School | None:
    """A school of the officer's district."""
    return School.objects.for_officer(user).filter(code=code, admission_year=admission_year).first()


def school_applicants(*, school: School) -> QuerySet[Application]:
    """Applications that list this school, with their current decision."""
    return (
        Application.objects.filter(preferences__school=school)
        .prefetch_related("preferences", current_decision_prefetch())
        .order_by("ref")
    )


@dataclass(frozen=True)
class SchoolDemandRow:
    """Demand against seats at one school of the district (see `school_demand_list`)."""

    school: School
    first_preference: int
    any_preference: int
    in_catchment_first_preference: int
    eligible_first_preference: int
    eligible_any_preference: int
    placed: int

    @property
    def code(self) -> str:
        return self.school.code

    @property
    def name(self) -> str:
        return self.school.name

    @property
    def kind(self) -> str:
        return self.school.kind

    @property
    def district_code(self) -> str:
        return self.school.district_code

    @property
    def seats(self) -> int:
        return self.school.capacity

    @property
    def lat(self) -> Decimal | None:
        return self.school.lat

    @property
    def lon(self) -> Decimal | None:
        return self.school.lon

    @property
    def seats_short(self) -> int:
        """First-preference demand beyond the seats; negative when seats are left over."""
        return self.first_preference - self.seats

    @property
    def first_preference_per_seat(self) -> float | None:
        return self.first_preference / self.seats if self.seats else None


def school_demand_list(*, user: User, admission_year: int) -> list[SchoolDemandRow]:
    """Demand against seats for every school of the officer's district in a year, ordered by
    school code, for the officers' dashboard, demand page (charts and map) and API:

    - `first_preference` / `any_preference`: live applications (not withdrawn) ranking the school
      first / anywhere; `in_catchment_first_preference`: those ranking it first from a community
      of its catchment;
    - `eligible_first_preference` / `eligible_any_preference`: the same, counting only
      applications whose current decision is `eligible`;
    - `seats`: the published capacity; `placed`: children the latest published round covering
      the district (its own or the city's) placed there (the latest finished real run when
      nothing is published yet; 0 before any run);
    - `lat`, `lon`: the school's location, None when unknown.

    One grouped query for the preferences whatever the number of schools and applications.
    """
    schools = list(School.objects.for_officer(user).filter(admission_year=admission_year))
    eligible = Decision.objects.current().filter(
        application=OuterRef("application_id"), outcome=Decision.Outcome.ELIGIBLE
    )
    groups = (
        SchoolPreference.objects.filter(school__in=schools)
        .exclude(application__state=ApplicationState.WITHDRAWN)
        .annotate(eligible=Exists(eligible))
        .order_by()
        .values("school_id", "application__home_community_code", "eligible")
        .annotate(any_preference=Count("id"), first_preference=Count("id", filter=Q(rank=1)))
        .values_list(
            "school_id",
            "application__home_community_code",
            "eligible",
            "any_preference",
            "first_preference",
        )
    )
    first, anywhere, catchment = Counter(), Counter(), Counter()
    eligible_first, eligible_any = Counter(), Counter()
    catchments = {school.id: set(school.catchment_communities) for school in schools}
    for school_id, community, is_eligible, any_preference, first_preference in groups:
        anywhere[school_id] += any_preference
        first[school_id] += first_preference
        if community in catchments[school_id]:
            catchment[school_id] += first_preference
        if is_eligible:
            eligible_any[school_id] += any_preference
            eligible_first[school_id] += first_preference
    runs = AllocationRun.objects.for_officer(user).filter(
        admission_year=admission_year, status=AllocationRun.Status.DONE, is_dry_run=False
    )
    run = (
        runs.published().order_by("-published_at", "-id").first()
        or runs.order_by("-finished_at", "-id").first()
    )
    counts = run.counts if run else {}
    return [
        SchoolDemandRow(
            school=school,
            first_preference=first[school.id],
            any_preference=anywhere[school.id],
            in_catchment_first_preference=catchment[school.id],
            eligible_first_preference=eligible_first[school.id],
            eligible_any_preference=eligible_any[school.id],
            placed=counts.get(school.code, {}).get("placed", 0),
        )
        for school in schools
    ]


def school_live_offers(*, school: School) -> dict[str, Offer]:
    """The school's live offers that families can see, by application reference."""
    offers = (
        Offer.objects.filter(school=school)
        .live()
        .visible_to_parents(timezone.now())
        .select_related("application", "enrolment_marked_by")
    )
    return {offer.application.ref: offer for offer in offers}
