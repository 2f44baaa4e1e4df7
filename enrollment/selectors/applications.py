"""Reads of applications and their decisions, each scoped to the asking user."""

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from enrollment.models import (
    Application,
    ApplicationState,
    Decision,
    Evidence,
    Role,
    User,
)


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


def district_applications(*, user: User, admission_year: int) -> QuerySet[Application]:
    return Application.objects.filter(
        district_code=user.district_code, admission_year=admission_year
    )


def district_current_decisions(*, user: User, admission_year: int) -> QuerySet[Decision]:
    return Decision.objects.filter(
        is_current=True,
        application__district_code=user.district_code,
        application__admission_year=admission_year,
    ).exclude(application__state=ApplicationState.WITHDRAWN)


def review_queue(
    *, user: User, admission_year: int, state: str = "", reason: str = "", ref: str = ""
) -> QuerySet[Application]:
    """The district's applications for the review queue, with their current decision."""
    pending = Evidence.objects.filter(application=OuterRef("pk"), review=Evidence.Review.PENDING)
    applications = (
        district_applications(user=user, admission_year=admission_year)
        .annotate(has_pending_evidence=Exists(pending))
        .prefetch_related(current_decision_prefetch())
        # Cases with evidence waiting for an officer first, then the oldest.
        .order_by("-has_pending_evidence", "submitted_at", "id")
    )
    if state:
        applications = applications.filter(state=state)
    if reason:
        # The quoted code inside the JSON list's text: works on PostgreSQL and SQLite alike.
        applications = applications.filter(
            decisions__is_current=True, decisions__reasons__icontains=f'"{reason}"'
        )
    if ref:
        applications = applications.filter(ref__icontains=ref)
    return applications


def district_case(*, user: User, ref: str) -> Application | None:
    return (
        Application.objects.filter(district_code=user.district_code, ref=ref)
        .select_related("consent")
        .prefetch_related(
            "guardians",
            "preferences__school",
            "events__actor",
            current_decision_prefetch(),
        )
        .first()
    )


def case_evidence(*, application: Application) -> QuerySet[Evidence]:
    return application.evidence.select_related("reviewed_by").order_by("submitted_at", "id")


def case_decision_history(*, application: Application) -> QuerySet[Decision]:
    return application.decisions.select_related("policy", "decided_by").order_by("-created_at")


def officer_evidence(*, user: User, evidence_id: int) -> Evidence | None:
    return (
        Evidence.objects.filter(id=evidence_id, application__district_code=user.district_code)
        .select_related("application")
        .first()
    )


def district_refs(*, user: User, refs) -> set[str]:
    """Which of these application references belong to the officer's district."""
    return set(
        Application.objects.filter(
            district_code=user.district_code, ref__in=list(refs)
        ).values_list("ref", flat=True)
    )
