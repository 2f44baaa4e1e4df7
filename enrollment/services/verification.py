"""Verification of submitted applications against the registry, a batch at a time.

A batch goes through three steps so that no step holds a lock while waiting on another:
1. claim: jobs move to `running` with this run's token, in a short transaction that skips
   jobs another worker holds; a job delivered twice is claimed once;
2. ask: one gateway call for the whole batch (the registry audits each question);
3. record: decisions, states and job completion in one transaction, only for jobs still
   carrying this run's token, so a run that lost its claim writes nothing.
A worker killed between 1 and 3 leaves jobs `running`; after the lease the reconciler hands
them out again. A registry that does not answer leaves the jobs `waiting_registry` (and their
applications visibly so) with a time for the next attempt; past the attempt cap the
application goes to an officer instead. Every step costs a fixed number of queries whatever
the batch size.
"""

import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from enrollment.db import copy_insert
from enrollment.gateway import LookupRefused, RegistryUnavailable, get_gateway
from enrollment.models import (
    Application,
    ApplicationEvent,
    ApplicationState,
    Consent,
    Decision,
    EventReason,
    Evidence,
    User,
    VerificationJob,
)
from enrollment.policy import Policy, score
from enrollment.services import dispatch, notifications
from enrollment.services.competition import (
    competing_applications,
    competition_review,
    competitors_unrelated,
)
from enrollment.services.facts import (
    decision_from_score,
    facts_from_answer,
    state_for_outcome,
)
from enrollment.services.verification_cases import (
    applicant_related_in,
    cases_load,
    policies_load,
    question_for,
)
from enrollment.states import can_transition
from registry.contract import LookupContext

logger = logging.getLogger(__name__)


OPEN = [VerificationJob.Status.PENDING, VerificationJob.Status.WAITING_REGISTRY]


OPEN_OR_RUNNING = [*OPEN, VerificationJob.Status.RUNNING]


# Applications whose verification is still to come or under way.
UNDECIDED_STATES = [
    ApplicationState.SUBMITTED,
    ApplicationState.VERIFYING,
    ApplicationState.WAITING_REGISTRY,
]


@dataclass(frozen=True)
class RunResult:
    claimed: int
    decided: int
    waiting: int
    manual: int


def lease() -> timedelta:
    """A claimed job not finished within this time is taken to be lost with its worker."""
    return timedelta(seconds=settings.VERIFICATION_LEASE_SECONDS)


def retry_delay(attempts: int) -> timedelta:
    """Backoff after a registry failure: 5 s, 10 s, 20 s ... at most 5 minutes."""
    return timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 300))


def _claim(job_ids: Sequence[int], token: str, fill_to: int = 0) -> list[int]:
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            VerificationJob.objects.select_for_update(skip_locked=True)
            .filter(
                Q(status__in=OPEN)
                | Q(status=VerificationJob.Status.RUNNING, claimed_at__lt=now - lease()),
                id__in=list(job_ids),
            )
            .values_list("id", flat=True)
        )
        if len(ids) < fill_to:
            ids += _waiting_jobs(now, exclude=ids, limit=fill_to - len(ids))
        if not ids:
            return []
        VerificationJob.objects.filter(id__in=ids).update(
            status=VerificationJob.Status.RUNNING, claim_token=token, claimed_at=now
        )
        applications = Application.objects.filter(verification_jobs__id__in=ids).exclude(
            state=ApplicationState.VERIFYING
        )
        _bulk_transition(
            applications, ApplicationState.VERIFYING, EventReason.VERIFICATION_STARTED, now
        )
    return ids


def _waiting_jobs(now, *, exclude: list[int], limit: int) -> list[int]:
    """Other open jobs due now, oldest first, locked for this claim (skipping any another
    worker holds). When submissions arrive one message each, a worker takes every job that
    has piled up since its last batch: a registry batch costs about the same for one family
    as for hundreds. The messages of the jobs taken find nothing left to claim."""
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    return list(
        VerificationJob.objects.select_for_update(skip_locked=True)
        .filter(due, status__in=OPEN)
        .exclude(id__in=exclude)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )


def _bulk_transition(
    applications,
    to_state: str,
    reason_code: str,
    now,
    *,
    reason_params: dict | None = None,
    actor: User | None = None,
) -> list[int]:
    """Move many applications at once, recording an event for each (why, as an EventReason
    code); illegal moves are skipped (a withdrawn application stays withdrawn). Returns the
    ids moved."""
    rows = [
        (app_id, state)
        for app_id, state in applications.values_list("id", "state")
        if can_transition(state, to_state)
    ]
    if not rows:
        return []
    copy_insert(
        ApplicationEvent,
        [
            ApplicationEvent(
                application_id=app_id,
                from_state=state,
                to_state=to_state,
                actor=actor,
                actor_label="" if actor else "worker",
                reason_code=reason_code,
                reason_params=reason_params or {},
                at=now,
            )
            for app_id, state in rows
        ],
    )
    update = {"state": to_state, "updated_at": now}
    if to_state == ApplicationState.DECIDED:
        update["decided_at"] = now
    ids = [app_id for app_id, _ in rows]
    Application.objects.filter(id__in=ids).update(**update)
    return ids


def verification_run(*, job_ids: Sequence[int], fill_to: int = 0) -> RunResult:
    """Verify and decide the applications behind these jobs; safe to call again with the same
    ids, or concurrently: each job is decided once. With `fill_to`, a batch of fewer jobs is
    filled up to that many with other open jobs that are due (the workers' batches).

    Raises RegistryUnavailable (after recording it) when jobs are left waiting for the
    registry, so that the task retries with backoff.
    """
    token = uuid.uuid4().hex
    claimed = _claim(job_ids, token, fill_to)
    if not claimed:
        return RunResult(0, 0, 0, 0)
    jobs = cases_load(claimed, token)
    policy_rows = policies_load(jobs)
    without_policy = [j for j in jobs if j.application_id not in policy_rows]
    jobs = [j for j in jobs if j.application_id in policy_rows]
    manual = 0
    if without_policy:
        manual += _record_manual(
            without_policy, token, "no active points policy", EventReason.NO_POLICY
        )
    if not jobs:
        return RunResult(len(claimed), 0, 0, manual)
    policies = {app_id: Policy(row.document) for app_id, row in policy_rows.items()}
    questions = [question_for(j, policies[j.application_id]) for j in jobs]
    context = LookupContext(
        client_id=settings.REGISTRY_CLIENT_ID, purpose=Consent.PURPOSE_ENROLLMENT
    )
    try:
        answers = get_gateway().verify_families(questions=questions, context=context)
    except RegistryUnavailable as error:
        waiting, capped = _record_unavailable(jobs, token, str(error))
        if waiting:
            raise
        return RunResult(len(claimed), 0, 0, manual + capped)
    except LookupRefused as error:
        manual += _record_manual(
            jobs,
            token,
            f"registry refused the lookup: {error.code}",
            EventReason.LOOKUP_REFUSED,
            {"refusal": error.code},
        )
        return RunResult(len(claimed), 0, 0, manual)
    decided = _record_decisions(jobs, answers, policies, policy_rows, token)
    return RunResult(len(claimed), decided, 0, manual)


def verification_batch(*, job_ids: Sequence[int]) -> RunResult:
    """One worker message's work: these jobs, filled up to VERIFICATION_BATCH_SIZE with others
    that are due. A full batch means more may be due: one more message drains them."""
    size = settings.VERIFICATION_BATCH_SIZE
    result = verification_run(job_ids=job_ids, fill_to=size)
    if result.claimed >= size:
        dispatch.verification_continue()
    return result


@transaction.atomic
def _record_decisions(jobs, answers, policies, policy_rows, token) -> int:
    now = timezone.now()
    live = set(
        VerificationJob.objects.select_for_update()
        .filter(
            id__in=[j.id for j in jobs], claim_token=token, status=VerificationJob.Status.RUNNING
        )
        .values_list("id", flat=True)
    )
    jobs = [j for j in jobs if j.id in live]
    if not jobs:
        return 0
    withdrawn = set(
        Application.objects.filter(
            id__in=[j.application_id for j in jobs], state=ApplicationState.WITHDRAWN
        ).values_list("id", flat=True)
    )
    deciding = [j for j in jobs if j.application_id not in withdrawn]
    app_ids = [j.application_id for j in deciding]
    evidence = defaultdict(list)
    for row in Evidence.objects.filter(application_id__in=app_ids).exclude(
        review=Evidence.Review.PENDING
    ):
        evidence[row.application_id].append(row)
    answer_by_key = {a.key: a for a in answers}
    # Another live application for the same child: scored, but decided by an officer.
    competing = competing_applications(application_ids=app_ids)
    # An account the registry did not relate to the child: scored, but decided by an officer.
    related = {case.ref: applicant_related_in(case, answer_by_key[case.ref]) for case in deciding}
    unrelated: list[int] = []
    decisions = []
    outcomes: dict[str, list[int]] = defaultdict(list)
    for case in deciding:
        answer = answer_by_key[case.ref]
        rows = evidence.get(case.application_id, [])
        facts = facts_from_answer(answer, rows)
        result = score(facts, policies[case.application_id])
        decisions.append(
            decision_from_score(
                application_id=case.application_id,
                policy=policy_rows[case.application_id],
                result=result,
                facts=facts,
                answer=answer,
                evidence_ids=[e.pk for e in rows],
            )
        )
        others = competing.get(case.application_id)
        if (
            others is not None
            and related[case.ref]
            and competitors_unrelated(refs=others, known=related)
        ):
            # The family's own application against strangers' alone: decided as usual.
            del competing[case.application_id]
        if case.application_id in competing:
            continue
        state = state_for_outcome(result.outcome)
        if state != ApplicationState.NEEDS_REVIEW and not related[case.ref]:
            unrelated.append(case.application_id)
        else:
            outcomes[state].append(case.application_id)
    if app_ids:
        Decision.objects.current().filter(application_id__in=app_ids).update(is_current=False)
        copy_insert(Decision, decisions)
    for state, ids in outcomes.items():
        _bulk_transition(Application.objects.filter(id__in=ids), state, EventReason.VERIFIED, now)
    if unrelated:
        _bulk_transition(
            Application.objects.filter(id__in=unrelated),
            ApplicationState.NEEDS_REVIEW,
            EventReason.APPLICANT_NOT_RELATED,
            now,
        )
    competition_review(
        competing=competing,
        unrelated={case.application_id for case in deciding if not related[case.ref]},
    )
    notifications.verification_outcomes_notify(application_ids=app_ids)
    VerificationJob.objects.filter(id__in=[j.id for j in jobs]).update(
        status=VerificationJob.Status.DONE, finished_at=now, last_error="", next_attempt_at=None
    )
    return len(deciding)


@transaction.atomic
def _record_manual(jobs, token: str, why: str, code: str, params: dict | None = None) -> int:
    """Jobs that no retry can help: the application goes to an officer, with the reason (`why`
    for the job and the log, `code` and `params` for the application's history)."""
    now = timezone.now()
    ids = list(
        VerificationJob.objects.select_for_update()
        .filter(
            id__in=[j.id for j in jobs], claim_token=token, status=VerificationJob.Status.RUNNING
        )
        .values_list("id", flat=True)
    )
    VerificationJob.objects.filter(id__in=ids).update(
        status=VerificationJob.Status.MANUAL, finished_at=now, last_error=why[:255]
    )
    _bulk_transition(
        Application.objects.filter(verification_jobs__id__in=ids),
        ApplicationState.NEEDS_REVIEW,
        code,
        now,
        reason_params=params,
    )
    logger.warning("verification: %d jobs to manual review: %s", len(ids), why)
    return len(ids)


@transaction.atomic
def _record_unavailable(jobs, token: str, error: str) -> tuple[int, int]:
    """Count an attempt and set the next; past the cap, hand the application to an officer."""
    now = timezone.now()
    cap = settings.VERIFICATION_MAX_ATTEMPTS
    waiting, manual = [], []
    rows = list(
        VerificationJob.objects.select_for_update().filter(
            id__in=[j.id for j in jobs], claim_token=token, status=VerificationJob.Status.RUNNING
        )
    )
    for job in rows:
        job.attempts += 1
        job.last_error = error[:255]
        if job.attempts >= cap:
            job.status = VerificationJob.Status.MANUAL
            job.finished_at = now
            job.next_attempt_at = None
            manual.append(job)
        else:
            job.status = VerificationJob.Status.WAITING_REGISTRY
            job.next_attempt_at = now + retry_delay(job.attempts)
            waiting.append(job)
    VerificationJob.objects.bulk_update(
        rows, ["attempts", "last_error", "status", "finished_at", "next_attempt_at"]
    )
    if waiting:
        _bulk_transition(
            Application.objects.filter(id__in=[j.application_id for j in waiting]),
            ApplicationState.WAITING_REGISTRY,
            EventReason.REGISTRY_WAITING,
            now,
        )
    if manual:
        _bulk_transition(
            Application.objects.filter(id__in=[j.application_id for j in manual]),
            ApplicationState.NEEDS_REVIEW,
            EventReason.REGISTRY_UNAVAILABLE,
            now,
            reason_params={"attempts": cap},
        )
    logger.warning(
        "registry unavailable: %s (%d waiting, %d to manual review)",
        error,
        len(waiting),
        len(manual),
    )
    return len(waiting), len(manual)


def verification_reconcile(*, now=None) -> list[int]:
    """Jobs whose message may have been lost, re-marked as enqueued now; returns their ids.

    Open jobs not enqueued within VERIFICATION_REQUEUE_SECONDS (and due for their next
    attempt), and claims past their lease. A job that was not lost after all is only delivered
    twice, which the claim makes harmless.
    """
    now = now or timezone.now()
    requeue_after = timedelta(seconds=settings.VERIFICATION_REQUEUE_SECONDS)
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    stale = Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - requeue_after)
    with transaction.atomic():
        ids = list(
            VerificationJob.objects.filter(
                (Q(status__in=OPEN) & due & stale)
                | Q(status=VerificationJob.Status.RUNNING, claimed_at__lt=now - lease())
            )
            .order_by("id")
            .values_list("id", flat=True)
        )
        VerificationJob.objects.filter(id__in=ids).update(enqueued_at=now)
    return ids


def verification_resend() -> list[int]:
    """The reconciler: the jobs whose message may have been lost, sent again; returns their
    ids. They are committed as enqueued before the messages go, so nothing waits for a
    caller's commit."""
    ids = verification_reconcile()
    dispatch.verification_enqueue(job_ids=ids, on_commit=False)
    return ids


@transaction.atomic
def verification_queue_year(*, admission_year: int) -> list[int]:
    """Every undecided application of the year gets an open job; returns the open jobs' ids
    (new and existing), marked as enqueued now. The caller enqueues them after commit."""
    now = timezone.now()
    undecided = Application.objects.filter(
        admission_year=admission_year, state__in=UNDECIDED_STATES
    )
    without_job = list(
        undecided.exclude(verification_jobs__status__in=OPEN_OR_RUNNING).values_list(
            "id", flat=True
        )
    )
    VerificationJob.objects.bulk_create(
        VerificationJob(application_id=app_id) for app_id in without_job
    )
    jobs = VerificationJob.objects.filter(
        application__in=undecided, status__in=OPEN_OR_RUNNING
    ).order_by("id")
    ids = list(jobs.values_list("id", flat=True))
    VerificationJob.objects.filter(id__in=ids).update(enqueued_at=now)
    return ids


@dataclass(frozen=True)
class YearProgress:
    total: int
    by_state: dict[str, int]

    @property
    def undecided(self) -> int:
        return sum(self.by_state.get(state, 0) for state in UNDECIDED_STATES)


def verification_progress(*, admission_year: int) -> YearProgress:
    """How many applications of the year are in each state."""
    from django.db.models import Count

    rows = (
        Application.objects.filter(admission_year=admission_year)
        .values("state")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_state = {row["state"]: row["n"] for row in rows}
    return YearProgress(total=sum(by_state.values()), by_state=by_state)
