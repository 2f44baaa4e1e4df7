"""Allocation runs: gather the inputs, run deferred acceptance, record, compare and publish.

A run is recorded before it starts (who, seed, year, district, round) and computed by the
`enrollment.allocation_run` task, which updates `progress` as it goes. Its placements are
written in chunks so that the progress stays visible; a run that is not `done` is ignored by
everyone, and running it again starts it over, so a worker lost half-way costs only time.

Rounds. Round 1 allocates every eligible application. A later round starts from the offers of
the published rounds: a family keeps the place it holds (offered or accepted, or enrolled) with
top priority there and may still rise on the waiting lists of schools it ranked higher; a
declined place frees the seat and the family stays on the lists above it; an unanswered offer
past its deadline, or a place not taken up at 报到, frees the seat and the family drops out.
Applications made eligible by a re-check enter a later round with their full list.
"""

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from enrollment import allocation
from enrollment.errors import ApplicationError, ErrorCode
from enrollment.models import (
    AllocationRun,
    ApplicationState,
    AuditAction,
    Decision,
    Offer,
    Placement,
    School,
    SchoolPreference,
    User,
    WaitlistEntry,
)
from enrollment.services import dispatch
from enrollment.services.audit import audit_log
from enrollment.services.notifications import offers_made_notify
from registry.idnumber import mask_in_text

logger = logging.getLogger("enrollment.allocation")

# 5,000 placements are about 1 MB of objects in the worker and a few hundred ms of INSERT, so
# progress moves every second or so on a city-wide run.
WRITE_CHUNK = 5000


def offer_response_days() -> int:
    return settings.OFFER_RESPONSE_DAYS


@dataclass
class AllocationInputs:
    """Everything one run reads, as plain data, and the fingerprint of it."""

    applicants: list[allocation.Applicant]
    schools: list[allocation.School]
    application_ids: dict[str, int]  # ref -> application id
    school_ids: dict[str, int]  # code -> school id
    policy_versions: list[str]
    fingerprint: str = ""
    preferences: dict[str, tuple[str, ...]] = field(default_factory=dict)  # full lists


def _check_officer_scope(*, actor: User | None, district_code: str) -> None:
    """Officers act on their own district only; an operator's command (no user) on any."""
    if actor is None:
        return
    if not actor.is_officer or actor.district_code != district_code:
        raise ApplicationError(
            ErrorCode.PERMISSION_DENIED,
            "Officers allocate places of their own district only.",
            field="district_code",
        )


def published_runs(*, admission_year: int, district_code: str):
    return AllocationRun.objects.published().filter(
        admission_year=admission_year, district_code=district_code
    )


def next_round(*, admission_year: int, district_code: str) -> int:
    last = published_runs(admission_year=admission_year, district_code=district_code).aggregate(
        last=Max("round")
    )["last"]
    return (last or 0) + 1


def _latest_offers(*, admission_year: int, district_code: str) -> dict[int, Offer]:
    """Each application's latest offer from the published runs of this scope."""
    offers = Offer.objects.filter(
        run__in=published_runs(admission_year=admission_year, district_code=district_code)
    ).order_by("application_id", "made_at", "id")
    latest: dict[int, Offer] = {}
    for offer in offers.only(
        "id", "application_id", "school_id", "status", "respond_by", "enrolment", "made_at"
    ):
        latest[offer.application_id] = offer
    return latest


def allocation_inputs(
    *, admission_year: int, district_code: str, round: int, now: datetime | None = None
) -> AllocationInputs:
    """Eligible applications with their current decisions and lists, and the schools, of one
    year and district (all districts when empty), shaped for `enrollment.allocation`."""
    now = now or timezone.now()
    schools_qs = School.objects.filter(admission_year=admission_year)
    decisions = Decision.objects.current().filter(
        outcome=Decision.Outcome.ELIGIBLE,
        application__admission_year=admission_year,
        application__state=ApplicationState.DECIDED,
    )
    if district_code:
        schools_qs = schools_qs.filter(district_code=district_code)
        decisions = decisions.filter(application__district_code=district_code)
    schools = list(
        schools_qs.order_by("code").values_list("id", "code", "capacity", "catchment_communities")
    )
    school_code_of = {school_id: code for school_id, code, _, _ in schools}

    rows = list(
        decisions.values_list(
            "application_id",
            "application__ref",
            "application__home_community_code",
            "total_points",
            "hukou_class",
            "housing_class",
            "residence_months",
            "si_months",
            "id",
            "policy__version",
        )
    )
    eligible_ids = {row[0] for row in rows}
    lists: dict[int, list[str]] = {}
    preferences = (
        SchoolPreference.objects.filter(
            application__admission_year=admission_year,
            application__state=ApplicationState.DECIDED,
            school__admission_year=admission_year,
        )
        .order_by("application_id", "rank")
        .values_list("application_id", "school_id")
    )
    if district_code:
        preferences = preferences.filter(application__district_code=district_code)
    for application_id, school_id in preferences.iterator(chunk_size=20000):
        if application_id in eligible_ids and school_id in school_code_of:
            lists.setdefault(application_id, []).append(school_code_of[school_id])

    latest = (
        _latest_offers(admission_year=admission_year, district_code=district_code)
        if round > 1
        else {}
    )
    applicants: list[allocation.Applicant] = []
    application_ids: dict[str, int] = {}
    full_lists: dict[str, tuple[str, ...]] = {}
    fingerprint = hashlib.sha256()
    fingerprint.update(f"year={admission_year};district={district_code};round={round}\n".encode())
    for row in sorted(rows, key=lambda r: r[1]):
        (app_id, ref, home, total, hukou, housing, residence, si, decision_id, _) = row
        prefs = tuple(lists.get(app_id, ()))
        full_lists[ref] = prefs
        held = ""
        offer = latest.get(app_id)
        if offer is not None:
            code = school_code_of.get(offer.school_id, "")
            status = offer.status
            if status == Offer.Status.OFFERED and offer.respond_by and offer.respond_by < now:
                status = Offer.Status.EXPIRED
            if status == Offer.Status.EXPIRED or offer.enrolment == Offer.Enrolment.NO_SHOW:
                continue
            if offer.enrolment == Offer.Enrolment.ENROLLED:
                prefs, held = (code,), code
            elif status in Offer.LIVE:
                prefs = prefs[: prefs.index(code) + 1] if code in prefs else (*prefs, code)
                held = code
            elif status == Offer.Status.DECLINED:
                prefs = prefs[: prefs.index(code)] if code in prefs else prefs
            # superseded and withdrawn offers were replaced or taken back: a fresh start
        applicants.append(
            allocation.Applicant(
                key=ref,
                preferences=prefs,
                home_community=home,
                total_points=total,
                hukou_class=hukou,
                housing_class=housing,
                residence_months=residence,
                si_months=si,
                held_school=held,
            )
        )
        application_ids[ref] = app_id
        fingerprint.update(
            f"{ref}|{decision_id}|{total}|{hukou}|{housing}|{residence}|{si}|{home}|"
            f"{','.join(prefs)}|{held}\n".encode()
        )
    school_inputs = []
    for _, code, capacity, catchment in schools:
        catchment_set = frozenset(catchment or [])
        school_inputs.append(allocation.School(code, capacity, catchment_set))
        fingerprint.update(f"S|{code}|{capacity}|{';'.join(sorted(catchment_set))}\n".encode())
    return AllocationInputs(
        applicants=applicants,
        schools=school_inputs,
        application_ids=application_ids,
        school_ids={code: school_id for school_id, code, _, _ in schools},
        policy_versions=sorted({row[9] for row in rows}),
        fingerprint=fingerprint.hexdigest(),
        preferences=full_lists,
    )


@transaction.atomic
def allocation_run_create(
    *,
    admission_year: int,
    seed: int,
    actor: User | None,
    district_code: str = "",
    dry_run: bool = False,
    enqueue: bool = True,
) -> AllocationRun:
    """Record a run of the next round and hand it to the allocation queue after commit."""
    _check_officer_scope(actor=actor, district_code=district_code)
    if not 0 <= seed < 2**63:
        raise ApplicationError(
            ErrorCode.INVALID, "The seed must be a whole number from 0 to 2^63-1.", field="seed"
        )
    if not School.objects.filter(
        admission_year=admission_year, **({"district_code": district_code} if district_code else {})
    ).exists():
        raise ApplicationError(
            ErrorCode.NOT_FOUND,
            f"No schools admit in {admission_year} in this district.",
            field="admission_year",
        )
    run = AllocationRun.objects.create(
        admission_year=admission_year,
        district_code=district_code,
        round=next_round(admission_year=admission_year, district_code=district_code),
        seed=seed,
        is_dry_run=dry_run,
        created_by=actor,
        progress_note="queued",
    )
    audit_log(
        actor=actor,
        action=AuditAction.ALLOCATION_DRY_RUN if dry_run else AuditAction.ALLOCATION_RUN,
        target=run,
        reason=f"round {run.round}, seed {seed}",
        data={"admission_year": admission_year, "district_code": district_code},
    )
    if enqueue:
        dispatch.allocation_run_enqueue(run_id=run.pk)
    return run


def _progress(run: AllocationRun, percent: int, note: str) -> None:
    """Written outside any transaction so that watchers see it while the run goes on."""
    run.progress, run.progress_note = percent, note
    AllocationRun.objects.filter(pk=run.pk).update(progress=percent, progress_note=note)


def allocation_run_execute(*, run_id: int) -> AllocationRun:
    """Compute one recorded run. Idempotent: a finished or running run returns at once; one
    abandoned by a dead worker is started over."""
    now = timezone.now()
    # A run another worker is still computing is left to it; one started longer ago than the
    # task time limit was abandoned (its worker died) and is started over.
    abandoned = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    claimed = (
        AllocationRun.objects.filter(pk=run_id)
        .filter(
            Q(status=AllocationRun.Status.PENDING)
            | Q(status=AllocationRun.Status.RUNNING, started_at__lt=abandoned)
        )
        .update(status=AllocationRun.Status.RUNNING, started_at=now, error="")
    )
    run = AllocationRun.objects.get(pk=run_id)
    if not claimed:
        return run
    try:
        return _execute(run)
    except Exception as error:
        logger.exception("allocation run %s failed", run_id)
        AllocationRun.objects.filter(pk=run_id).update(
            # Shown to officers through the API: a database error can quote a row's ID number.
            status=AllocationRun.Status.FAILED,
            error=mask_in_text(str(error))[:500],
            finished_at=timezone.now(),
        )
        raise


def _execute(run: AllocationRun) -> AllocationRun:
    Placement.objects.filter(run=run).delete()
    WaitlistEntry.objects.filter(run=run).delete()
    _progress(run, 5, "reading applications")
    inputs = allocation_inputs(
        admission_year=run.admission_year, district_code=run.district_code, round=run.round
    )
    _progress(run, 30, "allocating")
    result = allocation.allocate(
        inputs.applicants, inputs.schools, seed=run.seed, with_waiting_lists=True
    )
    _progress(run, 45, "writing placements")

    school_rank = {
        key: rank for keys in result.admitted.values() for rank, key in enumerate(keys, start=1)
    }
    placements = []
    for applicant in inputs.applicants:
        code = result.placement[applicant.key]
        full = inputs.preferences[applicant.key]
        placements.append(
            Placement(
                run=run,
                application_id=inputs.application_ids[applicant.key],
                school_id=inputs.school_ids[code] if code else None,
                in_catchment=result.in_catchment[applicant.key],
                total_points=applicant.total_points,
                lottery_number=result.lottery[applicant.key],
                preference_rank=(full.index(code) + 1) if code in full else None,
                school_rank=school_rank.get(applicant.key),
            )
        )
    waiting = [
        WaitlistEntry(
            run=run,
            school_id=inputs.school_ids[code],
            application_id=inputs.application_ids[key],
            position=position,
        )
        for code, keys in result.waiting.items()
        for position, key in enumerate(keys, start=1)
    ]
    total = max(len(placements) + len(waiting), 1)
    written = 0
    for rows, model in ((placements, Placement), (waiting, WaitlistEntry)):
        for start in range(0, len(rows), WRITE_CHUNK):
            chunk = rows[start : start + WRITE_CHUNK]
            model.objects.bulk_create(chunk)
            written += len(chunk)
            _progress(run, 45 + int(50 * written / total), "writing placements")

    counts = {}
    for school in inputs.schools:
        admitted = result.admitted[school.code]
        counts[school.code] = {
            "capacity": school.capacity,
            "placed": len(admitted),
            "in_catchment": sum(1 for key in admitted if result.in_catchment[key]),
            "waiting": len(result.waiting.get(school.code, [])),
        }
    run.inputs_fingerprint = inputs.fingerprint
    run.policy_version = ",".join(inputs.policy_versions)[:64]
    run.applicants_count = len(inputs.applicants)
    run.unplaced_count = len(result.unplaced)
    run.placed_count = run.applicants_count - run.unplaced_count
    run.counts = counts
    run.status = AllocationRun.Status.DONE
    run.progress, run.progress_note = 100, "done"
    run.finished_at = timezone.now()
    run.save(
        update_fields=[
            "inputs_fingerprint",
            "policy_version",
            "applicants_count",
            "unplaced_count",
            "placed_count",
            "counts",
            "status",
            "progress",
            "progress_note",
            "finished_at",
        ]
    )
    logger.info(
        "allocation run %s: %d applicants, %d placed, %d unplaced",
        run.pk,
        run.applicants_count,
        run.placed_count,
        run.unplaced_count,
    )
    return run


@dataclass(frozen=True)
class PlacementChange:
    ref: str
    first_school: str | None
    second_school: str | None


def allocation_runs_compare(
    *, first: AllocationRun, second: AllocationRun, user: User | None = None
) -> list[PlacementChange]:
    """Applicants whose school differs between two runs (absent from a run counts as none).
    An officer (`user`) is shown only their district's applicants, whom a city-wide run
    places among every other district's; an operator's command (no user) sees all."""
    if (first.admission_year, first.district_code) != (second.admission_year, second.district_code):
        raise ApplicationError(
            ErrorCode.INVALID, "Compare runs of the same year and district.", field="other"
        )
    for run in (first, second):
        if run.status != AllocationRun.Status.DONE:
            raise ApplicationError(
                ErrorCode.INVALID,
                f"Run {run.pk} has not finished.",
                field="run",
                extra={"why": "not_finished"},
            )

    placements = Placement.objects.all() if user is None else Placement.objects.for_officer(user)

    def outcome(run):
        return dict(placements.filter(run=run).values_list("application__ref", "school__code"))

    a, b = outcome(first), outcome(second)
    return [
        PlacementChange(ref, a.get(ref), b.get(ref))
        for ref in sorted(a.keys() | b.keys())
        if a.get(ref) != b.get(ref)
    ]


@transaction.atomic
def offers_expire(*, admission_year: int, now: datetime | None = None) -> int:
    """Offers nobody answered by their deadline lapse; their seats go to the next round."""
    now = now or timezone.now()
    return Offer.objects.filter(
        run__admission_year=admission_year,
        status=Offer.Status.OFFERED,
        respond_by__lt=now,
    ).update(status=Offer.Status.EXPIRED)


@transaction.atomic
def allocation_publish(
    *,
    run: AllocationRun,
    actor: User | None,
    reason: str,
    visible_from: datetime | None = None,
    respond_by: datetime | None = None,
) -> AllocationRun:
    """Make one finished run the allocation of its round: offers for its placements, visible to
    families from `visible_from` (never before now), to be answered by `respond_by`."""
    _check_officer_scope(actor=actor, district_code=run.district_code)
    if not (reason or "").strip():
        raise ApplicationError(
            ErrorCode.REASON_REQUIRED, "Say why this run is published.", field="reason"
        )
    run = AllocationRun.objects.select_for_update().get(pk=run.pk)
    if run.is_dry_run:
        raise ApplicationError(
            ErrorCode.INVALID,
            "A dry run cannot be published; run it for real.",
            field="run",
            extra={"why": "dry_run"},
        )
    if run.status != AllocationRun.Status.DONE:
        raise ApplicationError(
            ErrorCode.INVALID,
            "The run has not finished.",
            field="run",
            extra={"why": "not_finished"},
        )
    if run.published_at is not None:
        raise ApplicationError(
            ErrorCode.ILLEGAL_TRANSITION,
            "The run is already published.",
            field="run",
            extra={"why": "published"},
        )
    # Serialise publications of one scope: the published rounds are read and then extended.
    list(
        AllocationRun.objects.select_for_update()
        .filter(admission_year=run.admission_year, district_code=run.district_code)
        .values_list("id", flat=True)
    )
    expected = next_round(admission_year=run.admission_year, district_code=run.district_code)
    if run.round != expected:
        raise ApplicationError(
            ErrorCode.ILLEGAL_TRANSITION,
            f"This run is for round {run.round}; round {expected} is the one to publish.",
            field="run",
            extra={"why": "wrong_round"},
        )
    now = timezone.now()
    offers_expire(admission_year=run.admission_year, now=now)
    current = allocation_inputs(
        admission_year=run.admission_year,
        district_code=run.district_code,
        round=run.round,
        now=now,
    )
    if current.fingerprint != run.inputs_fingerprint:
        raise ApplicationError(
            ErrorCode.INVALID,
            "The applications, decisions, offers or schools changed since this run; "
            "run the allocation again.",
            field="run",
            extra={"why": "inputs_changed"},
        )
    visible_from = max(visible_from or now, now)
    respond_by = respond_by or visible_from + timedelta(days=offer_response_days())
    if respond_by <= visible_from:
        raise ApplicationError(
            ErrorCode.INVALID, "The answer deadline must come after the offers.", field="respond_by"
        )

    live = {
        offer.application_id: offer
        for offer in Offer.objects.select_for_update().filter(
            run__admission_year=run.admission_year,
            run__district_code=run.district_code,
            status__in=Offer.LIVE,
        )
    }
    placed = dict(
        Placement.objects.filter(run=run, school__isnull=False).values_list(
            "application_id", "school_id"
        )
    )
    ended: list[Offer] = []
    new: list[Offer] = []
    for application_id, school_id in placed.items():
        offer = live.get(application_id)
        if offer is not None and offer.school_id == school_id:
            continue
        if offer is not None:
            offer.status = Offer.Status.SUPERSEDED
            ended.append(offer)
        new.append(
            Offer(
                run=run,
                application_id=application_id,
                school_id=school_id,
                round=run.round,
                made_at=now,
                respond_by=respond_by,
            )
        )
    for application_id, offer in live.items():
        if application_id not in placed:
            # no longer eligible (a re-check changed the decision) or withdrawn
            offer.status = Offer.Status.WITHDRAWN
            ended.append(offer)
    Offer.objects.bulk_update(ended, ["status"], batch_size=WRITE_CHUNK)
    Offer.objects.bulk_create(new, batch_size=WRITE_CHUNK)
    offers_made_notify(offers=new, visible_from=visible_from, round=run.round)
    run.published_at = now
    run.published_by = actor
    run.visible_from = visible_from
    run.respond_by = respond_by
    run.save(update_fields=["published_at", "published_by", "visible_from", "respond_by"])
    audit_log(
        actor=actor,
        action=AuditAction.ALLOCATION_PUBLISH,
        target=run,
        reason=reason,
        data={
            "round": run.round,
            "seed": run.seed,
            "offers_made": len(new),
            "offers_ended": len(ended),
            "visible_from": visible_from.isoformat(),
            "respond_by": respond_by.isoformat(),
        },
    )
    return run


def latest_published_run(*, admission_year: int, district_code: str) -> AllocationRun | None:
    return (
        published_runs(admission_year=admission_year, district_code=district_code)
        .order_by("-round")
        .first()
    )
