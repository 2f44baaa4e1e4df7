"""Reads of allocation runs, scoped to the asking officer."""

from django.db.models import Q, QuerySet

from enrollment.models import (
    AllocationRun,
    Role,
    User,
)


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


def _runs_of(user: User) -> QuerySet[AllocationRun]:
    """The district's own runs and the city-wide ones (district_code empty), which place the
    district's applicants too; pages show only the district's part of a city-wide run."""
    return AllocationRun.objects.filter(
        Q(district_code=user.district_code) | Q(district_code="")
    ).select_related("created_by", "published_by")


def district_runs(*, user: User, admission_year: int) -> QuerySet[AllocationRun]:
    return _runs_of(user).filter(admission_year=admission_year)


def district_run(*, user: User, run_id: int) -> AllocationRun | None:
    return _runs_of(user).filter(pk=run_id).first()
