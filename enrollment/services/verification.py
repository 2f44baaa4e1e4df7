"""Verification of submitted applications against the registry, a batch at a time.

A batch goes through three steps so that no step holds a lock while waiting on another:
1. claim: jobs move to `running` with this run's token, in a short transaction that skips
   jobs another worker holds; a job delivered twice is claimed once;
2. ask: one gateway call for the whole batch (the registry audits each question);
3. record: decisions, states and job completion in one transaction, only for jobs still
   carrying this run's token, so a run that lost its claim writes nothing.
A worker killed between 1 and 3 leaves jobs `running`; after the lease the reconciler hands
them out again.
"""

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from enrollment.gateway import RegistryUnavailable, get_gateway
from enrollment.models import (
    Application,
    ApplicationEvent,
    ApplicationState,
    Consent,
    Decision,
    Evidence,
    PolicyDocument,
    VerificationJob,
)
from enrollment.policy import Facts, Policy, Score, score
from registry.contract import FamilyAnswer, FamilyQuestion, LookupContext, to_json

logger = logging.getLogger(__name__)

# A claimed job not finished within this time is taken to be lost with its worker.
LEASE = timedelta(seconds=getattr(settings, "VERIFICATION_LEASE_SECONDS", 300))
OPEN = [VerificationJob.Status.PENDING, VerificationJob.Status.WAITING_REGISTRY]


@dataclass(frozen=True)
class RunResult:
    claimed: int
    decided: int
    waiting: int
    manual: int


def _claim(job_ids: Sequence[int], token: str) -> list[int]:
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            VerificationJob.objects.select_for_update(skip_locked=True)
            .filter(
                Q(status__in=OPEN)
                | Q(status=VerificationJob.Status.RUNNING, claimed_at__lt=now - LEASE),
                id__in=list(job_ids),
            )
            .values_list("id", flat=True)
        )
        if not ids:
            return []
        VerificationJob.objects.filter(id__in=ids).update(
            status=VerificationJob.Status.RUNNING, claim_token=token, claimed_at=now
        )
        applications = Application.objects.filter(verification_jobs__id__in=ids).exclude(
            state=ApplicationState.VERIFYING
        )
        _bulk_transition(applications, ApplicationState.VERIFYING, "verification started", now)
    return ids


def _bulk_transition(applications, to_state: str, reason: str, now) -> None:
    from enrollment.states import can_transition

    rows = [a for a in applications.only("id", "state") if can_transition(a.state, to_state)]
    if not rows:
        return
    ApplicationEvent.objects.bulk_create(
        ApplicationEvent(
            application_id=a.id,
            from_state=a.state,
            to_state=to_state,
            actor_label="worker",
            reason=reason,
            at=now,
        )
        for a in rows
    )
    update = {"state": to_state, "updated_at": now}
    if to_state == ApplicationState.DECIDED:
        update["decided_at"] = now
    Application.objects.filter(id__in=[a.id for a in rows]).update(**update)


def _questions(jobs, policies: dict[int, Policy]) -> list[FamilyQuestion]:
    questions = []
    for job in jobs:
        application = job.application
        policy = policies[application.id]
        doc = policy.document
        questions.append(
            FamilyQuestion(
                key=application.ref,
                consent_reference=application.consent.reference,
                end_user=f"user:{application.applicant_id}"
                if application.applicant_id
                else "counter",
                child_id_number=application.child_id_number,
                guardian_id_numbers=tuple(g.id_number for g in application.guardians.all()),
                home_community_code=application.home_community_code,
                cutoff=policy.cutoff,
                district_code=doc["district_code"],
                city_code=doc["city_code"],
                si_window_months=int(doc["si_window_months"]),
                permit_min_months=int(doc["permit_min_months"]),
            )
        )
    return questions


def facts_from_answer(answer: FamilyAnswer, *, housing_evidence_accepted: bool = False) -> Facts:
    hukou = answer.child_hukou
    housing = answer.housing
    return Facts(
        hukou_class=hukou.hukou_class if hukou else None,
        hukou_registered_on=hukou.registered_on if hukou else None,
        owned_share_percent=housing.owned_share_percent,
        has_rental=housing.rental_record is not None,
        owns_elsewhere=housing.owns_elsewhere,
        si_months=answer.social_insurance.qualifying_months,
        permit_qualifies=bool(answer.permit and answer.permit.qualifies),
        housing_evidence_accepted=housing_evidence_accepted,
        sources={
            "child_hukou": to_json(hukou.record) if hukou else None,
            "housing": to_json(housing.owned_record or housing.rental_record),
            "social_insurance": to_json(answer.social_insurance),
            "residence_permit": to_json(answer.permit.record) if answer.permit else None,
        },
    )


def _load_policies(jobs) -> tuple[dict[int, Policy], dict[int, PolicyDocument]]:
    documents: dict[tuple, PolicyDocument] = {}
    policies, rows = {}, {}
    for job in jobs:
        a = job.application
        key = (a.district_code, a.admission_year, a.grade)
        if key not in documents:
            documents[key] = PolicyDocument.objects.get(
                district_code=a.district_code,
                admission_year=a.admission_year,
                grade=a.grade,
                is_active=True,
            )
        rows[a.id] = documents[key]
        policies[a.id] = Policy(documents[key].document)
    return policies, rows


def verification_run(*, job_ids: Sequence[int]) -> RunResult:
    """Verify and decide the applications behind these jobs; safe to call again with the same ids."""
    token = uuid.uuid4().hex
    claimed = _claim(job_ids, token)
    if not claimed:
        return RunResult(0, 0, 0, 0)
    jobs = list(
        VerificationJob.objects.filter(id__in=claimed, claim_token=token)
        .select_related("application__consent")
        .prefetch_related("application__guardians")
        .order_by("id")
    )
    policies, policy_rows = _load_policies(jobs)
    questions = _questions(jobs, policies)
    context = LookupContext(
        client_id=settings.REGISTRY_CLIENT_ID, purpose=Consent.PURPOSE_ENROLLMENT
    )
    try:
        answers = get_gateway().verify_families(questions=questions, context=context)
    except RegistryUnavailable as error:
        waiting, manual = _record_unavailable(jobs, token, str(error))
        if waiting:
            raise
        return RunResult(len(jobs), 0, waiting, manual)
    decided = _record_decisions(jobs, answers, policies, policy_rows, token)
    return RunResult(len(jobs), decided, 0, 0)


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
    app_ids = [j.application_id for j in jobs]
    accepted_housing = set(
        Evidence.objects.filter(
            application_id__in=app_ids, fact=Evidence.Fact.HOUSING, review=Evidence.Review.ACCEPTED
        ).values_list("application_id", flat=True)
    )
    answer_by_key = {a.key: a for a in answers}
    decisions = []
    outcomes: dict[str, list[int]] = {
        ApplicationState.DECIDED: [],
        ApplicationState.NEEDS_REVIEW: [],
    }
    for job in jobs:
        application = job.application
        answer = answer_by_key[application.ref]
        facts = facts_from_answer(
            answer, housing_evidence_accepted=application.id in accepted_housing
        )
        result = score(facts, policies[application.id])
        decisions.append(
            decision_from_score(
                application_id=application.id,
                policy=policy_rows[application.id],
                result=result,
                facts=facts,
                answer=answer,
            )
        )
        state = (
            ApplicationState.NEEDS_REVIEW
            if result.outcome == "needs_review"
            else ApplicationState.DECIDED
        )
        outcomes[state].append(application.id)
    Decision.objects.filter(application_id__in=app_ids, is_current=True).update(is_current=False)
    Decision.objects.bulk_create(decisions)
    for state, ids in outcomes.items():
        if ids:
            _bulk_transition(
                Application.objects.filter(id__in=ids), state, "verified against the registry", now
            )
    VerificationJob.objects.filter(id__in=[j.id for j in jobs]).update(
        status=VerificationJob.Status.DONE, finished_at=now, last_error=""
    )
    return len(jobs)


def decision_from_score(
    *,
    application_id,
    policy,
    result: Score,
    facts: Facts,
    answer=None,
    basis=Decision.Basis.COMPUTED,
    decided_by=None,
    reason="",
) -> Decision:
    return Decision(
        application_id=application_id,
        policy=policy,
        is_current=True,
        basis=basis,
        outcome=result.outcome,
        hukou_class=result.hukou_class,
        housing_class=result.housing_class,
        base_points=result.base_points,
        bonus_points=result.bonus_points,
        total_points=result.total_points,
        residence_months=result.residence_months,
        si_months=result.si_months,
        reasons=list(result.reasons),
        facts={
            "answer": to_json(answer) if answer is not None else None,
            "housing_evidence_accepted": facts.housing_evidence_accepted,
        },
        trace=list(result.trace),
        decided_by=decided_by,
        reason=reason,
    )


@transaction.atomic
def _record_unavailable(jobs, token: str, error: str) -> tuple[int, int]:
    """Count an attempt; past the cap, hand the application to an officer instead."""
    now = timezone.now()
    cap = settings.VERIFICATION_MAX_ATTEMPTS
    waiting, manual = [], []
    for job in VerificationJob.objects.select_for_update().filter(
        id__in=[j.id for j in jobs], claim_token=token, status=VerificationJob.Status.RUNNING
    ):
        job.attempts += 1
        job.last_error = error[:255]
        if job.attempts >= cap:
            job.status = VerificationJob.Status.MANUAL
            job.finished_at = now
            manual.append(job)
        else:
            job.status = VerificationJob.Status.WAITING_REGISTRY
            waiting.append(job)
        job.save(update_fields=["attempts", "last_error", "status", "finished_at"])
    if waiting:
        _bulk_transition(
            Application.objects.filter(id__in=[j.application_id for j in waiting]),
            ApplicationState.WAITING_REGISTRY,
            "registry unavailable; retrying",
            now,
        )
    if manual:
        _bulk_transition(
            Application.objects.filter(id__in=[j.application_id for j in manual]),
            ApplicationState.NEEDS_REVIEW,
            f"registry unavailable after {cap} attempts; manual review",
            now,
        )
    logger.warning(
        "registry unavailable: %s (%d waiting, %d to manual review)",
        error,
        len(waiting),
        len(manual),
    )
    return len(waiting), len(manual)


def verification_reconcile(*, older_than: timedelta = timedelta(seconds=30)) -> list[int]:
    """Jobs whose message may have been lost: open ones not enqueued recently, and claims past
    their lease. Returns the ids, re-marked as enqueued now."""
    now = timezone.now()
    ids = list(
        VerificationJob.objects.filter(
            Q(status__in=OPEN) & (Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - older_than))
            | Q(status=VerificationJob.Status.RUNNING, claimed_at__lt=now - LEASE)
        ).values_list("id", flat=True)
    )
    VerificationJob.objects.filter(id__in=ids).update(enqueued_at=now)
    return ids
