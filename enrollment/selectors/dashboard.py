"""The counts behind an officer's dashboard, grouped by the database."""

from django.db.models import Count, F
from django.db.models.functions import Floor
from django.utils import timezone

from enrollment.models import (
    Application,
    ApplicationState,
    Decision,
    Evidence,
    PolicyDocument,
    Recheck,
    School,
    User,
)


def officer_default_year(*, user: User) -> int:
    """The newest admission year the district has a policy or schools for; else this year."""
    years = [
        PolicyDocument.objects.for_officer(user)
        .order_by("-admission_year")
        .values_list("admission_year", flat=True)
        .first(),
        School.objects.for_officer(user)
        .order_by("-admission_year")
        .values_list("admission_year", flat=True)
        .first(),
    ]
    return max((y for y in years if y), default=timezone.localdate().year)


def _live_decisions(user: User, admission_year: int):
    """The district's current decisions of the year, withdrawn applications left out."""
    return (
        Decision.objects.current()
        .for_officer(user)
        .filter(application__admission_year=admission_year)
        .exclude(application__state=ApplicationState.WITHDRAWN)
        .order_by()
    )


def district_state_counts(*, user: User, admission_year: int) -> dict[str, int]:
    rows = (
        Application.objects.for_officer(user)
        .filter(admission_year=admission_year)
        .order_by()
        .values("state")
        .annotate(n=Count("id"))
    )
    counts = dict.fromkeys(ApplicationState.values, 0)
    counts.update({row["state"]: row["n"] for row in rows})
    return counts


def district_outcome_counts(*, user: User, admission_year: int) -> dict[str, int]:
    rows = _live_decisions(user, admission_year).values("outcome").annotate(n=Count("id"))
    counts = dict.fromkeys(Decision.Outcome.values, 0)
    counts.update({row["outcome"]: row["n"] for row in rows})
    return counts


def district_open_work(*, user: User, admission_year: int) -> dict[str, int]:
    """What waits for an officer: pending evidence and open re-checks."""
    return {
        "pending_evidence": Evidence.objects.for_officer(user)
        .filter(application__admission_year=admission_year, review=Evidence.Review.PENDING)
        .count(),
        "open_rechecks": Recheck.objects.for_officer(user)
        .filter(application__admission_year=admission_year, status=Recheck.Status.OPEN)
        .count(),
    }


def district_points_counts(*, user: User, admission_year: int, width: int) -> dict[int, int]:
    """Eligible applications per band of `width` points, by band number (floor(total / width)),
    grouped by the database so that a district's totals never travel one by one."""
    rows = (
        _live_decisions(user, admission_year)
        .filter(outcome=Decision.Outcome.ELIGIBLE)
        .annotate(band=Floor(F("total_points") / width))
        .order_by()
        .values("band")
        .annotate(n=Count("id"))
        .values_list("band", "n")
    )
    return {int(band): n for band, n in rows}
