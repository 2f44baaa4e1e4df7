"""Reads of applications, their decisions and evidence, each scoped to the asking user.

Who sees which application is `Application.objects.visible_to` (a parent their own, an officer
their district's); the API and the pages both read through the functions here.
"""

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from enrollment.models import Application, Decision, Evidence, User


def application_list(*, user: User) -> QuerySet[Application]:
    return Application.objects.visible_to(user)


def current_decision_prefetch() -> Prefetch:
    return Prefetch(
        "decisions",
        queryset=Decision.objects.current().select_related("policy"),
        to_attr="current_decisions",
    )


def application_get(*, user: User, ref: str) -> Application | None:
    """One application this user may open, with what its pages and the API show."""
    return (
        application_list(user=user)
        .select_related("consent")
        .prefetch_related(
            "guardians", "preferences__school", "events__actor", current_decision_prefetch()
        )
        .filter(ref=ref)
        .first()
    )


def decision_list(*, user: User, admission_year: int) -> QuerySet[Decision]:
    """The current decisions of the officer's district for one admission year, by reference."""
    return (
        Decision.objects.current()
        .for_officer(user)
        .filter(application__admission_year=admission_year)
        .select_related("application", "policy")
        .order_by("application__ref")
    )


def application_review_list(
    *, user: User, admission_year: int, state: str = "", reason: str = "", ref: str = ""
) -> QuerySet[Application]:
    """The officer's district's applications for the review queue, with their current decision
    and evidence: those with evidence waiting for an officer first, then the oldest."""
    pending = Evidence.objects.filter(application=OuterRef("pk"), review=Evidence.Review.PENDING)
    applications = (
        Application.objects.for_officer(user)
        .filter(admission_year=admission_year)
        .annotate(has_pending_evidence=Exists(pending))
        .prefetch_related("evidence", current_decision_prefetch())
        .order_by("-has_pending_evidence", "submitted_at", "id")
    )
    if state:
        applications = applications.filter(state=state)
    if reason:
        # The quoted code inside the JSON list's text: works on PostgreSQL and SQLite alike.
        gives_reason = Decision.objects.current().filter(
            application=OuterRef("pk"), reasons__icontains=f'"{reason}"'
        )
        applications = applications.filter(Exists(gives_reason))
    if ref:
        applications = applications.filter(ref__icontains=ref)
    return applications


def case_evidence(*, application: Application) -> QuerySet[Evidence]:
    return application.evidence.select_related("reviewed_by").order_by("submitted_at", "id")


def case_decision_history(*, application: Application) -> QuerySet[Decision]:
    return application.decisions.select_related("policy", "decided_by").order_by("-created_at")


def evidence_get(*, user: User, evidence_id: int) -> Evidence | None:
    """One piece of evidence of the officer's district."""
    return (
        Evidence.objects.for_officer(user)
        .filter(id=evidence_id)
        .select_related("application")
        .first()
    )
