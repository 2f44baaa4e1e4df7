"""The outbox end to end through Redis and a real worker process: a lost queue and a lost
claim both end with every application decided exactly once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from enrollment.models import ApplicationEvent, Decision, VerificationJob
from enrollment.services.applications import application_submit_many
from enrollment.tasks import reconcile_verification_jobs, verify_batch
from tests.conftest import wait_until
from tests.enrollment.pipeline_support import worked_example

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _all_decided(count: int):
    return lambda: (
        Decision.objects.filter(is_current=True).count() == count
        and not (VerificationJob.objects.exclude(status="done").exists())
    )


def test_jobs_lost_with_the_queue_are_recovered_by_the_reconciler_in_the_worker(
    celery_worker_process, district
):
    # given: three submitted applications whose messages Redis lost (none was ever sent)
    applications = [worked_example(n, seq=n) for n in (1, 2, 3)]
    VerificationJob.objects.update(enqueued_at=timezone.now() - timedelta(minutes=10))

    # when: beat's schedule fires the reconciler, which runs in the worker
    reconcile_verification_jobs.delay()

    # then
    wait_until(_all_decided(3), timeout=60)
    for application in applications:
        assert Decision.objects.filter(application=application).count() == 1
        assert list(application.events.values_list("to_state", flat=True)) == [
            "submitted",
            "verifying",
            "decided",
        ]


def test_a_claim_left_by_a_killed_worker_is_reclaimed_and_decided_once(
    celery_worker_process, district
):
    # given: a worker claimed the job, then died before recording anything
    application = worked_example(1)
    job = VerificationJob.objects.get(application=application)
    VerificationJob.objects.filter(pk=job.pk).update(
        status="running",
        claim_token="dead-worker",
        claimed_at=timezone.now() - timedelta(minutes=6),
    )
    # its message, redelivered, and a duplicate of it arrive as well
    verify_batch.delay([job.pk])
    verify_batch.delay([job.pk])

    wait_until(_all_decided(1), timeout=60)

    assert Decision.objects.filter(application=application).count() == 1
    assert ApplicationEvent.objects.filter(application=application, to_state="decided").count() == 1


def test_a_bulk_submission_is_enqueued_after_commit_and_decided_by_the_worker(
    celery_worker_process, district
):
    from tests.enrollment.pipeline_support import child_id, guardian_id
    from tests.registry.factories import related_family

    items = []
    for n in range(1, 6):
        related_family(child_id(n), guardian_id(n))
        items.append(_input(child_id(n), guardian_id(n), ref=f"BULK{n}"))

    result = application_submit_many(items=items)

    assert len(result.created) == 5
    wait_until(_all_decided(5), timeout=60)
    # the mothers share their children's households, but the registry knows no housing for
    # these families: each waits for an officer
    assert (
        list(Decision.objects.values_list("outcome", "reasons"))
        == [("needs_review", ["HOUSING_NOT_VERIFIED"])] * 5
    )


def _input(child: str, mother: str, ref: str):
    from enrollment.services.applications import ApplicationInput, PersonInput
    from tests.conftest import HOME, YEAR

    return ApplicationInput(
        ref=ref,
        admission_year=YEAR,
        child=PersonInput(name="陈小明", id_number=child),
        guardians=[PersonInput(name="李美玲", id_number=mother, relation="mother")],
        home_community_code=HOME,
        preferences=["S440604001"],
        consent_given_by=mother,
    )
