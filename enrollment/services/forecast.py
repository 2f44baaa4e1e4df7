"""The demand forecast of DOMAIN.md ("Demand forecast", 教育一张图): seats needed per school
and per community for the admission years ahead, each figure traceable to a cohort count and
the take-up behind it.

The cohort counts are the registry's: one planning question through the gateway (purpose
`planning`, a token signed for exactly the communities and cohorts asked, audited in the
registry's chain, answered with counts only). Take-up and the arithmetic are the bureau's,
from this year's applications:

    take_up(s)     = this year's live applications from s's catchment / children(s, Y),
                     4 decimal places, half up; 1 when children(s, Y) is 0 (live: not
                     withdrawn)
    forecast(s, Y') = children(s, Y') × take_up(s), rounded half up (四舍五入)
    shortfall      = forecast - seats (this year's published seats)

Rounding take-up first keeps the file and the page checkable by hand: the forecast is the
product of the two figures printed beside it. A community counts for every school whose
catchment holds it.

Counts the registry withholds (1 or 2 children in a community, registry/services/cohorts.py)
are left out of the sums and counted in `withheld`, so a page can say so. A community whose
count for this year is withheld is left out of both sides of the take-up, its applications
as well as its children: counting its applications over the other communities' children
would inflate the take-up of every school around it.
"""

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import Count

from enrollment.consent_tokens import planning_token_sign
from enrollment.errors import ApplicationError, ErrorCode
from enrollment.gateway import get_gateway
from enrollment.models import Application, ApplicationState, Community, School
from registry.contract import (
    PURPOSE_PLANNING,
    CohortAnswer,
    CohortQuestion,
    LookupContext,
    entry_cohort_window,
)

# Foshan (DOMAIN.md): a forecast without a district covers the city's schools.
CITY_CODE = "4406"
# The registry answers up to twelve admission years: this one and up to ten ahead.
HORIZON_MAX = 10


@dataclass(frozen=True)
class YearFigure:
    """One admission year's figures for a school's catchment or a community."""

    admission_year: int
    # The cohort's children in the area, counts the registry withheld left out.
    children: int
    # Communities of the area whose count the registry withheld (1 or 2 children each).
    withheld: int
    # None for a single community whose own count was withheld.
    forecast: int | None
    # This year's seats (schools only).
    seats: int | None = None

    @property
    def shortfall(self) -> int | None:
        if self.seats is None or self.forecast is None:
            return None
        return self.forecast - self.seats


@dataclass(frozen=True)
class AreaForecast:
    """A school (its catchment) or a single community, over the years asked."""

    code: str
    name: str
    communities: tuple[str, ...]
    # This year's live applications from these communities and this year's entry cohort,
    # both over the communities whose count for this year the registry gave.
    applications: int
    children_now: int
    # Communities whose count for this year was withheld, and their applications.
    withheld_now: int
    applications_left_out: int
    take_up: Decimal
    years: tuple[YearFigure, ...]
    seats: int | None = None
    lat: Decimal | None = None
    lon: Decimal | None = None

    def year(self, admission_year: int) -> YearFigure | None:
        return next((f for f in self.years if f.admission_year == admission_year), None)


@dataclass(frozen=True)
class DemandForecast:
    area_code: str
    admission_year: int
    years: tuple[int, ...]
    schools: tuple[AreaForecast, ...]
    communities: tuple[AreaForecast, ...]
    # The registry withholds counts from 1 to min_count - 1; as_of is its data's date.
    min_count: int
    as_of: date | None
    consent_reference: str
    audit_entry_id: int | None

    def cohort_incomplete(self, admission_year: int) -> bool:
        """True when the cohort's birth window ends after the registry's data: children born
        since are not counted yet."""
        return self.as_of is None or entry_cohort_window(admission_year)[1] > self.as_of


def take_up_rate(applications: int, children: int) -> Decimal:
    """applications / children to 4 places, half up; 1 when there are no children."""
    if children == 0:
        return Decimal("1.0000")
    # In whole ten-thousandths, by integers: exact, and a city's thousands of areas are many
    # times quicker than through Decimal division.
    return Decimal((applications * 20_000 + children) // (2 * children)).scaleb(-4)


def forecast_seats(children: int, take_up: Decimal) -> int:
    """children x take_up (4 places), rounded half up."""
    return (children * int(take_up.scaleb(4)) + 5_000) // 10_000


def _area(
    *,
    code: str,
    name: str,
    communities: Sequence[str],
    applications: Counter,
    cohorts: dict[str, tuple[int | None, ...]],
    years: Sequence[int],
    seats: int | None = None,
    lat: Decimal | None = None,
    lon: Decimal | None = None,
) -> AreaForecast:
    """`cohorts[c]`: community c's counts for this year and then each of `years`."""
    rows = [cohorts[c] for c in communities]
    disclosed = [c for c, row in zip(communities, rows, strict=True) if row[0] is not None]
    counted = sum(applications[c] for c in disclosed)
    sums = []
    for column in zip(*rows, strict=True):
        known = [value for value in column if value is not None]
        sums.append((sum(known), len(column) - len(known)))
    (children_now, withheld_now), ahead = sums[0], sums[1:]
    take_up = take_up_rate(counted, children_now)
    alone = len(communities) == 1
    figures = tuple(
        YearFigure(
            admission_year=year,
            children=children,
            withheld=withheld,
            forecast=None if alone and withheld else forecast_seats(children, take_up),
            seats=seats,
        )
        for year, (children, withheld) in zip(years, ahead, strict=True)
    )
    return AreaForecast(
        code=code,
        name=name,
        communities=tuple(communities),
        applications=counted,
        children_now=children_now,
        withheld_now=withheld_now,
        applications_left_out=sum(applications[c] for c in communities) - counted,
        take_up=take_up,
        years=figures,
        seats=seats,
        lat=lat,
        lon=lon,
    )


def demand_forecast(
    *,
    admission_year: int,
    horizon: int = 6,
    district_code: str | None = None,
    end_user: str,
) -> DemandForecast:
    """The forecast for `admission_year + 1 .. + horizon`, for the schools of the district
    (of the city without one) published for `admission_year`, and for every community of
    their catchments and of the district.

    One planning question to the registry (RegistryUnavailable and LookupRefused pass up to
    the caller), one grouped query for this year's applications, arithmetic in memory.
    """
    if not 1 <= horizon <= HORIZON_MAX:
        raise ApplicationError(
            ErrorCode.INVALID, f"the horizon is 1 to {HORIZON_MAX} years", field="horizon"
        )
    area = district_code or CITY_CODE
    schools = list(
        School.objects.filter(admission_year=admission_year, district_code__startswith=area)
        .order_by("code")
        .only("code", "name", "capacity", "catchment_communities", "lat", "lon")
    )
    if not schools:
        raise ApplicationError(
            ErrorCode.NOT_FOUND,
            f"no schools published for {admission_year} in {area}",
            field="year",
        )
    names = dict(Community.objects.filter(code__startswith=area).values_list("code", "name"))
    codes = sorted(
        {c for s in schools for c in s.catchment_communities if c.startswith(area)} | set(names)
    )
    if not codes:
        raise ApplicationError(
            ErrorCode.NOT_FOUND, f"the schools of {area} have no catchment", field="year"
        )
    applications = Counter(
        dict(
            Application.objects.filter(admission_year=admission_year, home_community_code__in=codes)
            .exclude(state=ApplicationState.WITHDRAWN)
            .order_by()
            .values_list("home_community_code")
            .annotate(count=Count("id"))
        )
    )
    years = tuple(range(admission_year + 1, admission_year + horizon + 1))
    answer = _ask(area=area, codes=codes, years=(admission_year, *years), end_user=end_user)
    counts = answer.counts()
    asked = (admission_year, *years)
    cohorts = {c: tuple(counts.get((c, year), 0) for year in asked) for c in codes}
    common = {"applications": applications, "cohorts": cohorts, "years": years}
    school_rows = tuple(
        _area(
            code=school.code,
            name=school.name,
            communities=[c for c in school.catchment_communities if c.startswith(area)],
            seats=school.capacity,
            lat=school.lat,
            lon=school.lon,
            **common,
        )
        for school in schools
    )
    community_rows = tuple(
        _area(
            code=code,
            name=names.get(code) or code,
            communities=[code],
            **common,
        )
        for code in codes
    )
    return DemandForecast(
        area_code=area,
        admission_year=admission_year,
        years=years,
        schools=school_rows,
        communities=community_rows,
        min_count=answer.min_count,
        as_of=answer.as_of,
        # The question's key is its consent reference (`_ask`), which the answer repeats.
        consent_reference=answer.key,
        audit_entry_id=answer.audit_entry_id,
    )


def _ask(*, area: str, codes: Sequence[str], years: Sequence[int], end_user: str) -> CohortAnswer:
    """The planning question for these communities and cohorts, with its signed token."""
    reference = f"PLAN-{area}-{years[0]}-{uuid.uuid4().hex[:8]}"
    question = CohortQuestion(
        key=reference,
        consent_reference=reference,
        end_user=end_user,
        area_code=area,
        community_codes=tuple(codes),
        admission_years=tuple(years),
        consent_token=planning_token_sign(
            consent_reference=reference,
            area_code=area,
            community_codes=codes,
            admission_years=years,
        ),
    )
    context = LookupContext(client_id=settings.REGISTRY_CLIENT_ID, purpose=PURPOSE_PLANNING)
    return get_gateway().cohort_counts(question=question, context=context)


# The forecast file (INTERCHANGE.md, `forecast_demand`): one row per school and forecast year.
FORECAST_COLUMNS = (
    "school_code",
    "admission_year",
    "children",
    "take_up",
    "forecast",
    "seats",
    "shortfall",
)


def forecast_rows(forecast: DemandForecast) -> list[tuple[str, ...]]:
    """The forecast file's rows, by school code and admission year, as text."""
    return [
        (
            school.code,
            str(figure.admission_year),
            str(figure.children),
            f"{school.take_up:.4f}",
            str(figure.forecast),
            str(figure.seats),
            str(figure.shortfall),
        )
        for school in forecast.schools
        for figure in school.years
    ]
