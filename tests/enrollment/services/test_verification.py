"""Verification through the registry gateway: idempotent, recoverable, and a handful of queries
per batch whatever its size."""

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from enrollment.gateway import LookupRefused, RegistryUnavailable, get_gateway
from enrollment.models import (
    Application,
    ApplicationEvent,
    Consent,
    Decision,
    Guardian,
    PolicyDocument,
    VerificationJob,
)
from enrollment.services.applications import application_withdraw
from enrollment.services.facts import answer_json
from enrollment.services.verification import retry_delay, verification_reconcile, verification_run
from enrollment.tasks import reconcile_verification_jobs
from registry import idnumber
from registry.contract import FamilyAnswer, from_json, to_json
from registry.models import AuditEntry, HukouRecord, ImportBatch, PropertyRecord
from tests.conftest import HOME, YEAR
from tests.enrollment.factories import UserFactory
from tests.enrollment.pipeline_support import open_job_ids, verify_all, worked_example

pytestmark = pytest.mark.django_db


def _events(application) -> list[str]:
    return list(application.events.values_list("to_state", flat=True))


def _down(monkeypatch):
    def refuse(**kwargs):
        raise RegistryUnavailable("registry answered HTTP 503")

    monkeypatch.setattr(get_gateway(), "verify_families", refuse)


def test_registry_down_leaves_the_application_visibly_waiting_with_a_next_attempt(
    district, monkeypatch
):
    # given
    application = worked_example(1)
    _down(monkeypatch)
    before = timezone.now()

    # when
    with pytest.raises(RegistryUnavailable):
        verification_run(job_ids=open_job_ids())

    # then
    job = VerificationJob.objects.get(application=application)
    assert (job.status, job.attempts, job.last_error) == (
        "waiting_registry",
        1,
        "registry answered HTTP 503",
    )
    assert (
        before + timedelta(seconds=5)
        <= job.next_attempt_at
        <= timezone.now() + timedelta(seconds=5)
    )
    application.refresh_from_db()
    assert application.state == "waiting_registry"
    assert _events(application) == ["submitted", "verifying", "waiting_registry"]
    assert list(application.events.values_list("reason_code", "reason")) == [
        ("submitted", ""),
        ("verification_started", ""),
        ("registry_waiting", ""),
    ]
    assert Decision.objects.count() == 0


def test_registry_back_after_an_outage_decides_once(district, monkeypatch):
    application = worked_example(1)
    with monkeypatch.context() as patch:
        _down(patch)
        with pytest.raises(RegistryUnavailable):
            verification_run(job_ids=open_job_ids())

    result = verification_run(job_ids=open_job_ids())

    assert (result.claimed, result.decided) == (1, 1)
    application.refresh_from_db()
    assert _events(application) == [
        "submitted",
        "verifying",
        "waiting_registry",
        "verifying",
        "decided",
    ]
    assert Decision.objects.get(application=application).total_points == Decimal("109.3")


def test_past_the_attempt_cap_the_job_goes_to_manual_review(district, monkeypatch, settings):
    settings.VERIFICATION_MAX_ATTEMPTS = 3
    application = worked_example(1)
    job_ids = open_job_ids()
    _down(monkeypatch)

    for _ in range(2):
        with pytest.raises(RegistryUnavailable):
            verification_run(job_ids=job_ids)
    result = verification_run(job_ids=job_ids)

    assert (result.claimed, result.decided, result.manual) == (1, 0, 1)
    job = VerificationJob.objects.get(application=application)
    assert (job.status, job.attempts) == ("manual", 3)
    application.refresh_from_db()
    assert application.state == "needs_review"
    event = application.events.last()
    assert (event.reason_code, event.reason_params, event.reason) == (
        "registry_unavailable",
        {"attempts": 3},
        "",
    )
    assert Decision.objects.count() == 0


def test_backoff_doubles_up_to_five_minutes():
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4, 7, 8)] == [
        5,
        10,
        20,
        40,
        300,
        300,
    ]


def test_a_job_delivered_twice_is_decided_once(district):
    application = worked_example(1)
    job_ids = open_job_ids()

    first = verification_run(job_ids=job_ids)
    second = verification_run(job_ids=job_ids)

    assert (first.decided, second.claimed, second.decided) == (1, 0, 0)
    assert Decision.objects.filter(application=application).count() == 1
    assert AuditEntry.objects.count() == 1
    assert _events(application) == ["submitted", "verifying", "decided"]


def test_a_batch_is_filled_with_other_due_jobs_and_their_own_messages_find_nothing(
    district, monkeypatch
):
    # given: four submissions, one message each; the second is waiting for its next attempt
    applications = [worked_example(number, seq=number) for number in (1, 2, 3, 4)]
    first, waiting, third, fourth = (
        VerificationJob.objects.get(application=application) for application in applications
    )
    VerificationJob.objects.filter(pk=waiting.pk).update(
        status="waiting_registry", next_attempt_at=timezone.now() + timedelta(minutes=5)
    )

    # when: the first message arrives, with room for three jobs in its batch
    result = verification_run(job_ids=[first.pk], fill_to=3)

    # then: it took the oldest due jobs besides its own, never one still backing off
    assert (result.claimed, result.decided) == (3, 3)
    assert dict(VerificationJob.objects.values_list("pk", "status")) == {
        first.pk: "done",
        waiting.pk: "waiting_registry",
        third.pk: "done",
        fourth.pk: "done",
    }
    assert AuditEntry.objects.count() == 3
    # and the messages of the jobs it took change nothing
    assert verification_run(job_ids=[third.pk, fourth.pk], fill_to=3).claimed == 0
    assert Decision.objects.count() == 3


def test_the_worker_task_fills_its_batches(district, settings):
    from enrollment.tasks import verify_batch

    settings.VERIFICATION_BATCH_SIZE = 10
    applications = [worked_example(number, seq=number) for number in (1, 2, 3)]
    own = VerificationJob.objects.get(application=applications[0]).pk

    assert verify_batch.run([own]) == {"claimed": 3, "decided": 3, "waiting": 0, "manual": 0}


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_the_same_batch_decide_each_application_once(district):
    applications = [worked_example(number, seq=number) for number in (1, 2, 3, 4)]
    job_ids = open_job_ids()
    barrier = threading.Barrier(3)
    results, errors = [], []

    def deliver():
        try:
            barrier.wait()
            results.append(verification_run(job_ids=job_ids))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(r.decided for r in results) == 4
    for application in applications:
        assert Decision.objects.filter(application=application).count() == 1
        assert _events(application) == ["submitted", "verifying", "decided"]


class WorkerKilled(BaseException):
    """Stands for the worker process dying between claim and record."""


def test_a_claim_lost_with_its_worker_is_reclaimed_after_the_lease(district, monkeypatch):
    application = worked_example(1)
    job_ids = open_job_ids()
    with monkeypatch.context() as patch:

        def die(**kwargs):
            raise WorkerKilled

        patch.setattr(get_gateway(), "verify_families", die)
        with pytest.raises(WorkerKilled):
            verification_run(job_ids=job_ids)
    job = VerificationJob.objects.get(application=application)
    assert job.status == "running"
    # Within the lease nobody else takes it, and the reconciler leaves it alone.
    assert verification_run(job_ids=job_ids).claimed == 0
    assert verification_reconcile() == []

    # when: the lease has passed
    VerificationJob.objects.filter(pk=job.pk).update(
        claimed_at=timezone.now() - timedelta(seconds=301)
    )
    reclaimed = verification_reconcile()
    result = verification_run(job_ids=reclaimed)

    # then
    assert reclaimed == [job.pk]
    assert result.decided == 1
    assert Decision.objects.filter(application=application).count() == 1
    assert VerificationJob.objects.get(pk=job.pk).status == "done"


def test_a_stale_run_whose_token_no_longer_matches_writes_nothing(district, monkeypatch):
    application = worked_example(1)
    job = VerificationJob.objects.get(application=application)
    real = get_gateway().verify_families

    def reclaimed_meanwhile(**kwargs):
        answers = real(**kwargs)
        # Another worker took the job over (its lease had passed) while this one waited.
        VerificationJob.objects.filter(pk=job.pk).update(claim_token="another-run")
        return answers

    monkeypatch.setattr(get_gateway(), "verify_families", reclaimed_meanwhile)

    result = verification_run(job_ids=[job.pk])

    assert (result.claimed, result.decided) == (1, 0)
    assert Decision.objects.count() == 0
    job.refresh_from_db()
    assert (job.status, job.claim_token) == ("running", "another-run")
    application.refresh_from_db()
    assert application.state == "verifying"


def test_jobs_whose_message_redis_lost_are_requeued_by_the_periodic_reconciler(district):
    # given: submitted and enqueued, but the queue was dropped before any worker saw it
    applications = [worked_example(number, seq=number) for number in (1, 2)]
    VerificationJob.objects.update(enqueued_at=timezone.now() - timedelta(minutes=10))

    # when: beat runs the reconciler (tasks run in-process in this test)
    requeued = reconcile_verification_jobs.apply().get()

    # then
    assert requeued == 2
    for application in applications:
        application.refresh_from_db()
        assert application.state == "decided"
    assert VerificationJob.objects.filter(status="done").count() == 2


def test_reconciler_leaves_recent_jobs_and_waits_for_the_next_attempt(district):
    worked_example(1)
    worked_example(2, seq=2)
    now = timezone.now()
    recent, waiting = VerificationJob.objects.order_by("id")
    VerificationJob.objects.filter(pk=recent.pk).update(enqueued_at=now)
    VerificationJob.objects.filter(pk=waiting.pk).update(
        status="waiting_registry",
        enqueued_at=now - timedelta(minutes=10),
        next_attempt_at=now + timedelta(minutes=1),
    )

    assert verification_reconcile(now=now) == []
    assert verification_reconcile(now=now + timedelta(minutes=3)) == [recent.pk, waiting.pk]


def test_a_refused_lookup_goes_to_manual_review(district, monkeypatch):
    application = worked_example(1)

    def refuse(**kwargs):
        raise LookupRefused("CONSENT_MISSING", "every lookup needs a consent reference")

    monkeypatch.setattr(get_gateway(), "verify_families", refuse)

    result = verification_run(job_ids=open_job_ids())

    assert (result.decided, result.manual) == (0, 1)
    job = VerificationJob.objects.get(application=application)
    assert (job.status, job.last_error) == (
        "manual",
        "registry refused the lookup: CONSENT_MISSING",
    )
    application.refresh_from_db()
    assert application.state == "needs_review"
    event = application.events.last()
    assert (event.reason_code, event.reason_params, event.reason) == (
        "lookup_refused",
        {"refusal": "CONSENT_MISSING"},
        "",
    )


def test_an_application_without_an_active_policy_goes_to_manual_review(district):
    application = worked_example(1)
    PolicyDocument.objects.update(is_active=False)

    result = verification_run(job_ids=open_job_ids())

    assert (result.decided, result.manual) == (0, 1)
    job = VerificationJob.objects.get(application=application)
    assert (job.status, job.last_error) == ("manual", "no active points policy")
    application.refresh_from_db()
    assert application.state == "needs_review"
    assert list(application.events.values_list("reason_code", "reason_params", "reason")) == [
        ("submitted", {}, ""),
        ("verification_started", {}, ""),
        ("no_policy", {}, ""),
    ]


def test_a_withdrawn_application_is_not_decided(district):
    application = worked_example(1)
    job_ids = open_job_ids()
    officer = UserFactory(officer=True)
    application_withdraw(application=application, actor=officer, reason="family moved")
    # A message for the job was already on its way: the run must still not decide.
    VerificationJob.objects.update(status="pending")

    result = verification_run(job_ids=job_ids)

    assert result.decided == 0
    assert Decision.objects.count() == 0
    application.refresh_from_db()
    assert application.state == "withdrawn"


def _bulk_applications(count: int) -> list[int]:
    """`count` applications of example 1's shape, written in bulk: the query test needs many."""
    batch = ImportBatch.objects.create(source="hukou", as_of=date(2027, 3, 1), status="done")
    flats = ImportBatch.objects.create(source="property", as_of=date(2027, 3, 1), status="done")
    now = timezone.now()
    children = [
        idnumber.make("440604", date(2020, 1, 1) + timedelta(days=i // 900), i % 900 + 1)
        for i in range(count)
    ]
    mothers = [
        idnumber.make("440604", date(1990, 1, 1) + timedelta(days=i // 900), i % 900 + 1)
        for i in range(count)
    ]
    fathers = [
        idnumber.make("440604", date(1988, 1, 1) + timedelta(days=i // 900), i % 900 + 1)
        for i in range(count)
    ]
    HukouRecord.objects.bulk_create(
        HukouRecord(
            batch=batch,
            as_of=batch.as_of,
            id_number=c,
            name="孩子",
            sex="M",
            birth_date=idnumber.birth_date_of(c),
            hukou_district_code="440604",
            community_code=HOME,
            registered_on=date(2019, 6, 15),
            household_no=f"H{i}",
        )
        for i, c in enumerate(children)
    )
    # Both parents in the child's household: related guardians, as in example 1.
    HukouRecord.objects.bulk_create(
        HukouRecord(
            batch=batch,
            as_of=batch.as_of,
            id_number=parent,
            name="家长",
            sex="F",
            birth_date=idnumber.birth_date_of(parent),
            hukou_district_code="440604",
            community_code=HOME,
            registered_on=date(2015, 1, 1),
            household_no=f"H{i}",
        )
        for i, pair in enumerate(zip(mothers, fathers, strict=True))
        for parent in pair
    )
    PropertyRecord.objects.bulk_create(
        PropertyRecord(
            batch=flats,
            as_of=flats.as_of,
            certificate_no=f"C{i}",
            owner_id_number=m,
            share_percent=Decimal("100"),
            community_code=HOME,
            registered_on=date(2018, 1, 1),
        )
        for i, m in enumerate(mothers)
    )
    applications = Application.objects.bulk_create(
        Application(
            ref=f"B{i:06d}",
            admission_year=YEAR,
            district_code="440604",
            channel="assisted",
            child_name="孩子",
            child_id_number=c,
            child_birth_date=idnumber.birth_date_of(c),
            home_community_code=HOME,
            submitted_at=now,
        )
        for i, c in enumerate(children)
    )
    Guardian.objects.bulk_create(
        Guardian(
            application=a,
            position=p + 1,
            name="家长",
            id_number=g,
            relation=("mother", "father")[p],
        )
        for a, m, f in zip(applications, mothers, fathers, strict=True)
        for p, g in enumerate((m, f))
    )
    Consent.objects.bulk_create(
        Consent(
            application=a,
            reference=f"C-{a.ref}",
            given_by_id_number=m,
            given_at=now,
            lookups=list(Consent.Lookup.values),
        )
        for a, m in zip(applications, mothers, strict=True)
    )
    jobs = VerificationJob.objects.bulk_create(
        VerificationJob(application=a, enqueued_at=now) for a in applications
    )
    return [job.pk for job in jobs]


def test_a_batch_of_500_jobs_is_a_handful_of_queries(district, django_assert_max_num_queries):
    job_ids = _bulk_applications(500)

    # 38 today: 18 on this side (claim, load with accepted relations, record), the rest the
    # registry's lookups and audit.
    with django_assert_max_num_queries(42):
        result = verification_run(job_ids=job_ids)

    assert (result.claimed, result.decided) == (500, 500)
    assert Decision.objects.filter(outcome="eligible", total_points=Decimal("109.3")).count() == 500
    assert ApplicationEvent.objects.filter(to_state="decided").count() == 500


def test_decisions_store_the_answer_exactly_as_the_contract_serialises_it(district):
    application = worked_example(4)
    verify_all()

    stored = Decision.objects.get(application=application).facts["answer"]
    answer = from_json(FamilyAnswer, stored)

    assert answer_json(answer) == to_json(answer) == stored
    assert stored["permit"]["issued_on"] == "2024-05-01"
    assert stored["social_insurance"]["qualifying_months"] == 40


class _Sent:
    """verify_batch's sending, recorded instead of going to a broker."""

    def __init__(self, monkeypatch):
        from enrollment import tasks

        self.messages = []
        monkeypatch.setattr(
            tasks.verify_batch, "delay", lambda ids: self.messages.append((ids, None))
        )
        monkeypatch.setattr(
            tasks.verify_batch,
            "apply_async",
            lambda args, countdown=None: self.messages.append((args[0], countdown)),
        )


def test_a_web_process_wakes_the_workers_once_per_window(monkeypatch, settings):
    from enrollment.services import dispatch

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.VERIFICATION_SIGNAL_SECONDS = 1.0
    sent = _Sent(monkeypatch)
    clock = iter([100.0, 100.2, 100.9, 101.0, 101.5, 102.1])
    monkeypatch.setattr(dispatch.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(dispatch, "_next_signal", 0.0)

    results = [dispatch.verification_signal(job_id) for job_id in (1, 2, 3, 4, 5, 6)]

    # one message per window, due when the window ends: the jobs committed meanwhile are in
    # the database by the time it runs, and the worker fills its batch with them
    assert results == [True, False, False, True, False, True]
    assert sent.messages == [([1], 1.0), ([4], 1.0), ([6], 1.0)]


def test_without_a_window_or_with_eager_tasks_every_job_sends_at_once(monkeypatch, settings):
    from enrollment.services import dispatch

    sent = _Sent(monkeypatch)
    monkeypatch.setattr(dispatch, "_next_signal", 0.0)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.VERIFICATION_SIGNAL_SECONDS = 0

    assert [dispatch.verification_signal(job_id) for job_id in (1, 2)] == [True, True]
    settings.VERIFICATION_SIGNAL_SECONDS = 1.0
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert [dispatch.verification_signal(job_id) for job_id in (3, 4)] == [True, True]
    assert sent.messages == [([1], None), ([2], None), ([3], None), ([4], None)]


def test_a_full_batch_sends_a_message_for_what_is_left(district, monkeypatch, settings):
    from enrollment.tasks import verify_batch

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.VERIFICATION_BATCH_SIZE = 2
    for number in (1, 2, 3):
        worked_example(number, seq=number)
    sent = _Sent(monkeypatch)

    first = verify_batch.run([])
    second = verify_batch.run([])

    assert (first["claimed"], second["claimed"]) == (2, 1)
    assert sent.messages == [([], None)]
    assert VerificationJob.objects.filter(status="done").count() == 3
