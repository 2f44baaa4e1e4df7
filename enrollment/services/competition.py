"""Competing applications: two accounts applying for the same child in the same year.

An account applies only for a child it names itself a guardian of, with its verified
identity (services/applications), and one account applies once per child and year. Another
account may still apply for the same child: refusing it would let whoever applies first, a
stranger included, keep the child's own guardians out, and would tell a stranger that the
child has applied. So both applications are taken. When one is verified while another live
application names the same child and year, it goes to an officer (`needs_review`, event
`competing_application` naming the others), and so does an earlier one that was already
decided and has not been through this review. The officer keeps the family's application and
decides the stray one `ineligible`, which ends the competition: a later verification of
either finds no competitor.

The registry's relation settles the plain case without the officer: an application whose
account is a related guardian, against competitors that are all known to come from accounts
the registry did not relate to the child, is decided as usual; and an unrelated account's
application goes to review alone, pulling in no one. Two related accounts (the father and the
mother applying apart), a counter entry, or a competitor not verified yet still go to an
officer: which of them speaks for the child is not the machine's to say.

The event is for officers: parents' pages show the state, never the reason, so the stray
applicant does not learn that the family applied.

Live: not withdrawn, and not decided ineligible.
"""

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence

from django.db.models import Exists, OuterRef

from enrollment.models import Application, ApplicationState, Decision, EventReason
from enrollment.selectors.applications import applicant_related, current_decision_prefetch
from enrollment.services.applications import application_transition


def competing_applications(*, application_ids: Sequence[int]) -> dict[int, list[str]]:
    """For each of these applications that has any, the refs of the other live applications
    for its child and year. One query, whatever the number of applications."""
    if not application_ids:
        return {}
    these = Application.objects.filter(id__in=list(application_ids))
    ineligible = Decision.objects.filter(
        application=OuterRef("pk"), is_current=True, outcome=Decision.Outcome.INELIGIBLE
    )
    rows = (
        Application.objects.filter(
            child_id_number__in=these.values("child_id_number"),
            admission_year__in=these.values("admission_year"),
        )
        .exclude(state=ApplicationState.WITHDRAWN)
        .exclude(Exists(ineligible), state=ApplicationState.DECIDED)
        .order_by("id")
        .values_list("id", "ref", "child_id_number", "admission_year")
    )
    by_child: dict[tuple[str, int], list[tuple[int, str]]] = defaultdict(list)
    for app_id, ref, child, year in rows:
        by_child[(child, year)].append((app_id, ref))
    wanted = set(application_ids)
    competing = {}
    for family in by_child.values():
        for app_id, _ref in family:
            if app_id in wanted and len(family) > 1:
                competing[app_id] = [ref for other, ref in family if other != app_id]
    return competing


def competitors_unrelated(*, refs: Sequence[str], known: Mapping[str, bool]) -> bool:
    """Whether every one of these applications is known to come from an account the registry
    did not relate to the child. `known` holds the relation of applications being decided in
    the same batch, by ref; the others are read from their current decisions
    (`applicant_related` False). A competitor not verified yet, or entered at the counter, may
    be the family's: it is not known unrelated."""
    if any(known.get(ref) for ref in refs):
        return False
    applications = (
        Application.objects.filter(ref__in=[ref for ref in refs if ref not in known])
        .select_related("applicant")
        .prefetch_related("guardians", current_decision_prefetch())
    )
    return all(
        applicant_related(
            application=application, decision=(application.current_decisions or [None])[0]
        )
        is False
        for application in applications
    )


def competition_review(
    *, competing: dict[int, list[str]], unrelated: Collection[int] = ()
) -> list[int]:
    """Send these verified applications to an officer, with the refs of their competitors,
    and with them each competitor already decided that has not been through this review
    (it was decided before this application existed). Returns the ids moved.

    `unrelated`: those of these applications whose account the registry did not relate to the
    child. They go to review themselves but pull no one in: a stranger's application cannot
    send the family's decided one back to an officer."""
    if not competing:
        return []
    refs = {
        ref for app_id, others in competing.items() if app_id not in unrelated for ref in others
    }
    reviewed_before = Application.objects.filter(
        events__reason_code=EventReason.COMPETING_APPLICATION
    )
    decided_unreviewed = list(
        Application.objects.select_for_update()
        .filter(ref__in=refs, state=ApplicationState.DECIDED)
        .exclude(id__in=competing)
        .exclude(id__in=reviewed_before.values("id"))
        .order_by("id")
    )
    these = list(Application.objects.select_for_update().filter(id__in=competing).order_by("id"))
    ref_of = {application.id: application.ref for application in these}
    moved = []
    for application in these:
        others = competing[application.id]
        _to_review(application, others)
        moved.append(application.id)
    for application in decided_unreviewed:
        others = [
            ref_of[app_id] for app_id, theirs in competing.items() if application.ref in theirs
        ]
        _to_review(application, others)
        moved.append(application.id)
    return moved


def _to_review(application: Application, others: list[str]) -> None:
    application_transition(
        application=application,
        to_state=ApplicationState.NEEDS_REVIEW,
        actor_label="worker",
        reason_code=EventReason.COMPETING_APPLICATION,
        reason_params={"others": sorted(others)},
    )
