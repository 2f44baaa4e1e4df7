"""Reads of re-checks (复核), scoped to the asking officer's district."""

from django.db.models import QuerySet

from enrollment.models import Recheck, User


def recheck_list(
    *, user: User, admission_year: int | None = None, status: str = ""
) -> QuerySet[Recheck]:
    """The district's re-checks, oldest request first: of one admission year, or of every
    year when none is given; of one status, or of any."""
    rechecks = Recheck.objects.for_officer(user).select_related(
        "application", "run", "requested_by", "resolved_by"
    )
    if admission_year is not None:
        rechecks = rechecks.filter(application__admission_year=admission_year)
    if status:
        rechecks = rechecks.filter(status=status)
    return rechecks.order_by("requested_at", "id")


def recheck_get(*, user: User, recheck_id: int) -> Recheck | None:
    return (
        Recheck.objects.for_officer(user)
        .filter(pk=recheck_id)
        .select_related("application", "run", "resolved_by", "new_decision")
        .first()
    )
