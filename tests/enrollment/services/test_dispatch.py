"""Which messages go to the workers, with what, and when: after the commit for what a
transaction writes, at once for what is committed already. Each test records the task's
`delay` instead of reaching a broker."""

from datetime import timedelta

import pytest
from django.utils import timezone

from enrollment.gateway import RegistryUnavailable, get_gateway
from enrollment.models import AllocationRun, VerificationJob
from enrollment.services.allocation import allocation_run_create
from enrollment.services.applications import (
    ApplicationInput,
    PersonInput,
    application_submit_many,
)
from enrollment.services.review import verification_retry
from enrollment.tasks import allocation_run, reconcile_verification_jobs, verify_batch
from tests.conftest import HOME, YEAR
from tests.enrollment.pipeline_support import child_id, guardian_id, verify_all, worked_example

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    messages = []
    monkeypatch.setattr(verify_batch, "delay", lambda ids: messages.append(("verify", ids)))
    monkeypatch.setattr(allocation_run, "delay", lambda pk: messages.append(("allocate", pk)))
    return messages


def _item(n: int) -> ApplicationInput:
    return ApplicationInput(
        ref=f"D{n}",
        admission_year=YEAR,
        child=PersonInput(name="陈小明", id_number=child_id(n)),
        guardians=[PersonInput(name="李美玲", id_number=guardian_id(n), relation="mother")],
        home_community_code=HOME,
        preferences=["S440604001"],
        consent_given_by=guardian_id(n),
    )


def test_a_bulk_submission_sends_its_jobs_in_batches_after_commit(
    district, settings, sent, django_capture_on_commit_callbacks
):
    settings.VERIFICATION_BATCH_SIZE = 2

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = application_submit_many(items=[_item(n) for n in (1, 2, 3)])
        assert sent == []
    for callback in callbacks:
        callback()

    first, second, third = result.job_ids
    assert sent == [("verify", [first, second]), ("verify", [third])]


def test_an_officers_retry_sends_its_job_alone_after_commit(
    district, officer, settings, monkeypatch, sent, django_capture_on_commit_callbacks
):
    settings.VERIFICATION_MAX_ATTEMPTS = 1
    application = worked_example(1)
    with monkeypatch.context() as patch:
        patch.setattr(
            get_gateway(),
            "verify_families",
            lambda **kw: (_ for _ in ()).throw(RegistryUnavailable("down")),
        )
        verify_all()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        verification_retry(actor=officer, application=application, reason="registry is back")
        assert sent == []
    for callback in callbacks:
        callback()

    job = VerificationJob.objects.get(application=application, status="pending")
    assert sent == [("verify", [job.pk])]


def test_an_allocation_run_goes_to_its_queue_after_commit(
    district, officer, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = allocation_run_create(
            admission_year=YEAR, seed=7, actor=officer, district_code="440604"
        )
        assert sent == []
    for callback in callbacks:
        callback()

    assert sent == [("allocate", run.pk)]
    assert AllocationRun.objects.get().status == "pending"


def test_the_reconciler_sends_lost_jobs_at_once_in_batches(district, settings, sent):
    settings.VERIFICATION_BATCH_SIZE = 2
    for n in (1, 2, 3):
        worked_example(1, seq=n)
    VerificationJob.objects.update(enqueued_at=timezone.now() - timedelta(minutes=10))
    first, second, third = VerificationJob.objects.order_by("id").values_list("id", flat=True)

    # no commit to wait for: the reconciler marked the jobs in its own transaction
    assert reconcile_verification_jobs.run() == 3

    assert sent == [("verify", [first, second]), ("verify", [third])]


def test_a_full_batch_in_a_worker_sends_one_message_for_the_rest_but_not_in_process(
    district, settings, sent
):
    settings.VERIFICATION_BATCH_SIZE = 1
    for n in (1, 2, 3):
        worked_example(1, seq=n)

    settings.CELERY_TASK_ALWAYS_EAGER = True
    in_process = verify_batch.run([])
    settings.CELERY_TASK_ALWAYS_EAGER = False
    in_a_worker = verify_batch.run([])

    assert (in_process["claimed"], in_a_worker["claimed"]) == (1, 1)
    assert sent == [("verify", [])]
