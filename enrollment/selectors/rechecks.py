"""Reads of re-checks (复核), scoped to the asking officer's district."""

from django.db.models import QuerySet

from enrollment.models import (
    Recheck,
    Role,
    User,
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


def district_rechecks(*, user: User, status: str = "") -> QuerySet[Recheck]:
    rechecks = Recheck.objects.filter(application__district_code=user.district_code).select_related(
        "application", "run", "resolved_by"
    )
    if status:
        rechecks = rechecks.filter(status=status)
    return rechecks.order_by("requested_at", "id")


def district_recheck(*, user: User, recheck_id: int) -> Recheck | None:
    return (
        Recheck.objects.filter(pk=recheck_id, application__district_code=user.district_code)
        .select_related("application", "run", "resolved_by", "new_decision")
        .first()
    )
