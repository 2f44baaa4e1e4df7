"""Reads behind the staff pages, each scoped to the asking officer's district or school."""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Floor
from django.utils import timezone

from enrollment.models import (
    AllocationRun,
    Application,
    ApplicationState,
    Decision,
    Evidence,
    Offer,
    PolicyDocument,
    Recheck,
    School,
    SchoolPreference,
    User,
)
from enrollment.selectors import current_decision_prefetch
from registry.models import AuditEntry, AuditSubject, FeedUpload, ImportBatch, Source


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


def district_applications(*, user: User, admission_year: int) -> QuerySet[Application]:
    return Application.objects.filter(
        district_code=user.district_code, admission_year=admission_year
    )


def district_state_counts(*, user: User, admission_year: int) -> dict[str, int]:
    rows = (
        district_applications(user=user, admission_year=admission_year)
        .values("state")
        .annotate(n=Count("id"))
    )
    counts = dict.fromkeys(ApplicationState.values, 0)
    counts.update({row["state"]: row["n"] for row in rows})
    return counts


def district_current_decisions(*, user: User, admission_year: int) -> QuerySet[Decision]:
    return Decision.objects.filter(
        is_current=True,
        application__district_code=user.district_code,
        application__admission_year=admission_year,
    ).exclude(application__state=ApplicationState.WITHDRAWN)


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


@dataclass(frozen=True)
class SchoolDemand:
    school: School
    first_choice: int
    any_choice: int
    in_catchment_first: int

    @property
    def seats(self) -> int:
        return self.school.capacity

    @property
    def seats_short(self) -> int:
        """First-choice demand beyond the seats; negative when seats are left over."""
        return self.first_choice - self.school.capacity


def district_school_demand(*, user: User, admission_year: int) -> list[SchoolDemand]:
    """Per school of the district: first-choice and any-choice demand from live applications."""
    schools = list(
        School.objects.filter(district_code=user.district_code, admission_year=admission_year)
    )
    preferences = (
        SchoolPreference.objects.filter(school__in=schools)
        .exclude(application__state=ApplicationState.WITHDRAWN)
        .order_by()
    )
    # One grouped query: per (school, home community), all choices and first choices.
    groups = (
        preferences.values("school_id", "application__home_community_code")
        .annotate(any_choice=Count("id"), first_choice=Count("id", filter=Q(rank=1)))
        .values_list("school_id", "application__home_community_code", "any_choice", "first_choice")
    )
    anyc, first, catch = Counter(), Counter(), Counter()
    catchments = {s.id: set(s.catchment_communities) for s in schools}
    for school_id, community, any_choice, first_choice in groups:
        anyc[school_id] += any_choice
        first[school_id] += first_choice
        if community in catchments[school_id]:
            catch[school_id] += first_choice
    return [SchoolDemand(s, first[s.id], anyc[s.id], catch[s.id]) for s in schools]


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


def officer_case(*, user: User, ref: str) -> Application | None:
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


def import_batches() -> QuerySet[ImportBatch]:
    return ImportBatch.objects.order_by("-started_at", "-id")


def feed_uploads() -> QuerySet[FeedUpload]:
    return FeedUpload.objects.select_related("batch").order_by("-submitted_at", "-id")


def latest_batch_per_source() -> list[ImportBatch]:
    """The newest finished batch of each department feed, for the data-quality summary."""
    batches = []
    for source in Source.values:
        batch = (
            ImportBatch.objects.filter(source=source, status=ImportBatch.Status.DONE)
            .order_by("-started_at", "-id")
            .first()
        )
        if batch is not None:
            batches.append(batch)
    return batches


def audit_entries(
    *,
    client: str = "",
    purpose: str = "",
    outcome: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.order_by("-id")
    if client:
        entries = entries.filter(client_id__icontains=client)
    if purpose:
        entries = entries.filter(purpose__icontains=purpose)
    if outcome:
        entries = entries.filter(outcome=outcome)
    tz = timezone.get_current_timezone()
    if date_from:
        entries = entries.filter(at__gte=datetime.combine(date_from, time.min, tzinfo=tz))
    if date_to:
        entries = entries.filter(at__lte=datetime.combine(date_to, time.max, tzinfo=tz))
    return entries


def audit_subject_counts(*, entry_ids) -> dict[int, int]:
    """How many people each entry was about, for one page of entries only: counting over the
    whole (very long) log before paginating would read all of it."""
    rows = (
        AuditSubject.objects.filter(entry_id__in=list(entry_ids))
        .values("entry_id")
        .annotate(n=Count("id"))
        .values_list("entry_id", "n")
    )
    return dict(rows)


def _runs_of(user: User) -> QuerySet[AllocationRun]:
    """The district's own runs and the city-wide ones (district_code empty), which place the
    district's applicants too; pages show only the district's part of a city-wide run."""
    return AllocationRun.objects.filter(
        Q(district_code=user.district_code) | Q(district_code="")
    ).select_related("created_by", "published_by")


def district_runs(*, user: User, admission_year: int) -> QuerySet[AllocationRun]:
    return _runs_of(user).filter(admission_year=admission_year)


def officer_run(*, user: User, run_id: int) -> AllocationRun | None:
    return _runs_of(user).filter(pk=run_id).first()


def district_refs(*, user: User, refs) -> set[str]:
    """Which of these application references belong to the officer's district."""
    return set(
        Application.objects.filter(
            district_code=user.district_code, ref__in=list(refs)
        ).values_list("ref", flat=True)
    )


def district_rechecks(*, user: User, status: str = "") -> QuerySet[Recheck]:
    rechecks = Recheck.objects.filter(application__district_code=user.district_code).select_related(
        "application", "run", "resolved_by"
    )
    if status:
        rechecks = rechecks.filter(status=status)
    return rechecks.order_by("requested_at", "id")


def officer_recheck(*, user: User, recheck_id: int) -> Recheck | None:
    return (
        Recheck.objects.filter(pk=recheck_id, application__district_code=user.district_code)
        .select_related("application", "run", "resolved_by", "new_decision")
        .first()
    )


def staff_school(*, user: User, admission_year: int | None = None) -> School | None:
    """The school this staff member works at, for the year asked or its newest year."""
    schools = School.objects.filter(code=user.school_code)
    if admission_year:
        schools = schools.filter(admission_year=admission_year)
    return schools.order_by("-admission_year").first()


def school_live_offers(*, school: School) -> dict[str, Offer]:
    """The school's live offers that families can see, by application reference."""
    offers = Offer.objects.filter(
        school=school, status__in=Offer.LIVE, run__visible_from__lte=timezone.now()
    ).select_related("application", "enrolment_marked_by")
    return {offer.application.ref: offer for offer in offers}
