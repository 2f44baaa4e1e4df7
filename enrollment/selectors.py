"""Reads for views and APIs; each applies its own scoping to the asking user."""

from django.db.models import Prefetch, QuerySet

from enrollment.models import Application, Decision, Role, School, User


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
