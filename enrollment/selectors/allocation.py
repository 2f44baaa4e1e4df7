"""Reads of allocation runs: which runs an officer sees, and what they see of each.

The API and the staff pages ask these same questions here. An officer sees their district's
runs and the city-wide ones (`AllocationRun.objects.for_officer`); of a city-wide run they see
only their district's part: its schools' counts and its own applicants.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet

from enrollment.models import AllocationRun, Application, Decision, Placement, School, User


def allocation_run_list(*, user: User, admission_year: int) -> QuerySet[AllocationRun]:
    return (
        AllocationRun.objects.for_officer(user)
        .filter(admission_year=admission_year)
        .select_related("created_by", "published_by")
    )


def allocation_run_get(*, user: User, run_id: int) -> AllocationRun | None:
    return (
        AllocationRun.objects.for_officer(user)
        .filter(pk=run_id)
        .select_related("created_by", "published_by")
        .first()
    )


@dataclass(frozen=True)
class RunOutcome:
    """What one officer sees of a run's results: their district's share of it."""

    # {school_code: {"capacity", "placed", "in_catchment", "waiting"}} for the district's
    # schools, in code order.
    counts: dict[str, dict]
    names: dict[str, str]
    applicants_count: int
    placed_count: int
    unplaced_count: int

    @property
    def school_rows(self) -> list[dict]:
        return [
            {
                "code": code,
                "name": self.names[code],
                "capacity": counts.get("capacity", 0),
                "placed": counts.get("placed", 0),
                "in_catchment": counts.get("in_catchment", 0),
            }
            for code, counts in self.counts.items()
        ]


def allocation_run_outcome(*, user: User, run: AllocationRun) -> RunOutcome:
    """The run's results as far as they concern the officer's district. A district's own run
    concerns only it; of a city-wide run, the figures are recounted over the district's own
    applicants, so that nothing of another district's children shows."""
    names = dict(
        School.objects.for_officer(user)
        .filter(admission_year=run.admission_year, code__in=list(run.counts or {}))
        .values_list("code", "name")
    )
    counts = {code: run.counts[code] for code in sorted(run.counts or {}) if code in names}
    if run.district_code:
        applicants, placed = run.applicants_count, run.placed_count
        unplaced_count = run.unplaced_count
    elif run.status == AllocationRun.Status.DONE:
        totals = (
            Placement.objects.for_officer(user)
            .filter(run=run)
            .aggregate(applicants=Count("id"), placed=Count("id", filter=Q(school__isnull=False)))
        )
        applicants, placed = totals["applicants"], totals["placed"]
        unplaced_count = applicants - placed
    else:
        # Placements of an unfinished run are half written: count nothing yet, as for a
        # district's own run.
        applicants = placed = unplaced_count = 0
    return RunOutcome(
        counts=counts,
        names=names,
        applicants_count=applicants,
        placed_count=placed,
        unplaced_count=unplaced_count,
    )


def allocation_run_unplaced(*, user: User, run: AllocationRun) -> list[str]:
    """References of the district's applicants the run placed nowhere, in reference order."""
    return list(
        Placement.objects.for_officer(user)
        .filter(run=run, school__isnull=True)
        .order_by("application__ref")
        .values_list("application__ref", flat=True)
    )


def allocation_run_latest_visible(
    *, application: Application, now: datetime
) -> AllocationRun | None:
    """The latest run whose results the family of this application may see now: its
    district's or the city's, published and past its embargo."""
    return (
        AllocationRun.objects.covering(application.district_code)
        .visible_to_parents(now)
        .filter(admission_year=application.admission_year)
        .order_by("-published_at", "-id")
        .first()
    )


def allocation_run_of_results(
    *, application: Application, now: datetime, visible: bool = True
) -> AllocationRun | None:
    """The latest published run whose results concern this application: one that took it part
    (placed or not), or one it was left out of because it was found ineligible when the run
    was made. None for an application the runs have not reached yet (submitted after the
    latest run, or still being checked then): its results come with the next run.

    `visible`: only runs its family may see now (past the embargo); otherwise every
    published run, so that a page can say when the results will be shown."""
    runs = (
        AllocationRun.objects.covering(application.district_code)
        .published()
        .filter(admission_year=application.admission_year)
        .order_by("-published_at", "-id")
    )
    if visible:
        runs = runs.visible_to_parents(now)
    took_part = runs.filter(placements__application=application).first()
    if took_part is not None:
        return took_part
    latest = runs.first()
    if latest is None or application.submitted_at > latest.created_at:
        return None
    ineligible = (
        Decision.objects.current()
        .filter(application=application, outcome=Decision.Outcome.INELIGIBLE)
        .exists()
    )
    return latest if ineligible else None
