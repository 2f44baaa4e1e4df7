"""The counts behind an officer's dashboard, grouped by the database."""

from django.db.models import Count, F
from django.db.models.functions import Floor
from django.utils import timezone

from enrollment.models import (
    ApplicationState,
    Decision,
    Evidence,
    PolicyDocument,
    Recheck,
    School,
    User,
)
from enrollment.selectors.applications import district_applications, district_current_decisions


def officer_default_year(*, user: User) -> int:
    """The newest admission year the district has a policy or schools for; else this year."""
    years = [
        PolicyDocument.objects.filter(district_code=user.district_code)
        .order_by("-admission_year")
        .values_list("admission_year", flat=True)
        .first(),
        School.objects.filter(district_code=user.district_code)
        .order_by("-admission_year")
        .values_list("admission_year", flat=True)
        .first(),
    ]
    return max((y for y in years if y), default=timezone.localdate().year)


def district_state_counts(*, user: User, admission_year: int) -> dict[str, int]:
    rows = (
        district_applications(user=user, admission_year=admission_year)
        .values("state")
        .annotate(n=Count("id"))
    )
    counts = dict.fromkeys(ApplicationState.values, 0)
    counts.update({row["state"]: row["n"] for row in rows})
    return counts


def district_outcome_counts(*, user: User, admission_year: int) -> dict[str, int]:
    rows = (
        district_current_decisions(user=user, admission_year=admission_year)
        .values("outcome")
        .annotate(n=Count("id"))
    )
    counts = dict.fromkeys(Decision.Outcome.values, 0)
    counts.update({row["outcome"]: row["n"] for row in rows})
    return counts


def district_open_work(*, user: User, admission_year: int) -> dict[str, int]:
    """What waits for an officer: pending evidence and open re-checks."""
    return {
        "pending_evidence": Evidence.objects.filter(
            application__district_code=user.district_code,
            application__admission_year=admission_year,
            review=Evidence.Review.PENDING,
        ).count(),
        "open_rechecks": Recheck.objects.filter(
            application__district_code=user.district_code,
            application__admission_year=admission_year,
            status=Recheck.Status.OPEN,
        ).count(),
    }


def district_points_counts(*, user: User, admission_year: int, width: int) -> dict[int, int]:
    """Eligible applications per band of `width` points, by band number (floor(total / width)),
    grouped by the database so that a district's totals never travel one by one."""
    rows = (
        district_current_decisions(user=user, admission_year=admission_year)
        .filter(outcome=Decision.Outcome.ELIGIBLE)
        .annotate(band=Floor(F("total_points") / width))
        .order_by()
        .values("band")
        .annotate(n=Count("id"))
        .values_list("band", "n")
    )
    return {int(band): n for band, n in rows}
