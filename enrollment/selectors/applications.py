"""Reads of applications, their decisions and evidence, each scoped to the asking user.

Who sees which application is `Application.objects.visible_to` (a parent their own, an officer
their district's); the API and the pages both read through the functions here.
"""

from functools import partial

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from enrollment.models import Application, Decision, Evidence, User, applicant_is_related


def application_list(*, user: User) -> QuerySet[Application]:
    return Application.objects.visible_to(user)


def current_decision_prefetch() -> Prefetch:
    return Prefetch(
        "decisions",
        queryset=Decision.objects.current().select_related("policy"),
        to_attr="current_decisions",
    )


_ACCEPTED_RELATION = {"fact": Evidence.Fact.RELATION, "review": Evidence.Review.ACCEPTED}


def accepted_relations_prefetch() -> Prefetch:
    """The relations accepted on evidence, as `accepted_relations`: what applicant_related
    reads when the registry's answer did not relate the account."""
    return Prefetch(
        "evidence",
        queryset=Evidence.objects.filter(**_ACCEPTED_RELATION),
        to_attr="accepted_relations",
    )


def application_get(*, user: User, ref: str) -> Application | None:
    """One application this user may open, with what its pages and the API show."""
    return (
        application_list(user=user)
        .select_related("consent", "applicant")
        .prefetch_related(
            "guardians",
            "preferences__school",
            "events__actor",
            current_decision_prefetch(),
            accepted_relations_prefetch(),
        )
        .filter(ref=ref)
        .first()
    )


def applicant_related(*, application: Application, decision: Decision | None) -> bool | None:
    """Whether the account that applied is a related guardian of the child, by the decision's
    registry answer and the relations accepted on evidence since (models.applicant_is_related).

    None when there is no registry answer to judge by (not yet verified, or decided by an
    officer without one): the pages then have no registry fact to show either way. True for a
    counter-entered application, which no account reads.
    """
    if application.applicant_id is None:
        return True
    answer = (decision.facts or {}).get("answer") if decision is not None else None
    if answer is None:
        return None
    related = answer.get("related_guardians")
    relation = partial(
        applicant_is_related,
        applicant_id_number=application.applicant.verified_id_number,
        guardians=[(g.position, g.id_number) for g in application.guardians.all()],
        related_indexes=None if related is None else {r["guardian_index"] for r in related},
    )
    # The registry's answer settles nearly every case; evidence is read only when it does not.
    if relation():
        return True
    rows = getattr(application, "accepted_relations", None)
    if rows is None:
        rows = application.evidence.filter(**_ACCEPTED_RELATION)
    accepted = {(row.accepted_values or {}).get("guardian_position") for row in rows}
    return relation(accepted_positions=accepted)


def decision_withheld(*, application: Application, decision: Decision | None) -> bool:
    """Whether the account that applied must not see what its application found: it is not a
    related guardian (applicant_related) and the registry found something about the family
    (the child's hukou, or another adult related to the child).

    When the registry found nothing at all (no hukou for the child, so no one could be
    related), the pages may say just that and ask for the child's hukou evidence: there is
    no fact of anyone's to withhold. Lookups about the family stay unrelated accounts' to see
    only under the stricter applicant_related.
    """
    if applicant_related(application=application, decision=decision) is not False:
        return False
    answer = decision.facts["answer"]
    return answer.get("child_hukou") is not None or bool(answer.get("related_guardians"))


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
    *,
    user: User,
    admission_year: int,
    state: str = "",
    reason: str = "",
    ref: str = "",
    pending_evidence: bool = False,
) -> QuerySet[Application]:
    """The officer's district's applications for the review queue, with their current decision
    and evidence: those with evidence waiting for an officer first, then the oldest.
    `pending_evidence` keeps only those with evidence waiting, in any state."""
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
    if pending_evidence:
        applications = applications.filter(has_pending_evidence=True)
    if reason:
        # The quoted code inside the JSON list's text: works on PostgreSQL and SQLite alike.
        gives_reason = Decision.objects.current().filter(
            application=OuterRef("pk"), reasons__icontains=f'"{reason}"'
        )
        applications = applications.filter(Exists(gives_reason))
    if ref:
        applications = applications.filter(ref__icontains=ref)
    return applications


def current_decision_get(*, application: Application) -> Decision | None:
    """The application's current decision with its policy, or None before one is made."""
    return (
        Decision.objects.current().select_related("policy").filter(application=application).first()
    )


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
