import os
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from enrollment.models import (
    AllocationRun,
    Application,
    AuditLog,
    Consent,
    Decision,
    Evidence,
    Guardian,
)
from enrollment.services.allocation import (
    allocation_publish,
    allocation_run_create,
    allocation_run_execute,
)
from enrollment.services.applications import ApplicationInput, PersonInput, application_submit
from enrollment.services.rechecks import recheck_request
from enrollment.services.retention import (
    placeholder_id_number,
    retention_apply,
    retention_last_expired_year,
)
from enrollment.services.verification import verification_run
from registry import idnumber
from tests.conftest import HOME, YEAR
from tests.registry.factories import PropertyRecordFactory, related_family

pytestmark = pytest.mark.django_db

CHILD = idnumber.make("440604", date(2020, 3, 15), 123)
MOTHER = idnumber.make("440604", date(1990, 7, 1), 222)
# RETENTION_YEARS is 2: admission year 2027's data is kept through 31 December 2029.
LAST_KEPT_DAY = date(2029, 12, 31)
FIRST_EXPIRED_DAY = date(2030, 1, 1)


def _decided_application(parent, *, with_evidence=True) -> Application:
    related_family(CHILD, MOTHER, hukou_district_code="440604", registered_on=date(2019, 6, 15))
    PropertyRecordFactory(owner_id_number=MOTHER, share_percent=Decimal("100"), community_code=HOME)
    application = application_submit(
        data=ApplicationInput(
            admission_year=YEAR,
            child=PersonInput(name="陈小明", id_number=CHILD),
            guardians=[PersonInput(name="李美玲", id_number=MOTHER, relation="mother")],
            home_community_code=HOME,
            home_address="禅城区示范路1号",
            preferences=["S440604001"],
            consent_given_by=MOTHER,
        ),
        actor=parent,
        enqueue=False,
    )
    verification_run(job_ids=list(application.verification_jobs.values_list("id", flat=True)))
    if with_evidence:
        evidence = Evidence(
            application=application,
            fact=Evidence.Fact.HOUSING,
            kind=Evidence.Kind.UPLOAD,
            content_type="application/pdf",
            size=4,
            statement="租住在示范路1号",
            submitted_by=parent,
            submitted_at=timezone.now(),
        )
        evidence.file.save("lease.pdf", ContentFile(b"%PDF"), save=False)
        evidence.save()
    return Application.objects.get(pk=application.pk)


def test_last_expired_year_follows_the_retention_period():
    assert retention_last_expired_year(today=LAST_KEPT_DAY) == 2026
    assert retention_last_expired_year(today=FIRST_EXPIRED_DAY) == 2027
    assert retention_last_expired_year(today=FIRST_EXPIRED_DAY, years=5) == 2024


def test_nothing_is_touched_while_the_retention_period_runs(district, parent):
    application = _decided_application(parent)

    result = retention_apply(today=LAST_KEPT_DAY)

    assert (result.last_expired_year, result.deidentified, result.evidence_files_removed) == (
        2026,
        0,
        0,
    )
    application.refresh_from_db()
    assert (application.child_id_number, application.child_name, application.deidentified_at) == (
        CHILD,
        "陈小明",
        None,
    )
    assert not AuditLog.objects.filter(action="retention.deidentify").exists()


def test_expired_application_loses_personal_data_and_keeps_its_statistics(district, parent):
    application = _decided_application(parent)
    evidence = Evidence.objects.get(application=application)
    stored_file = evidence.file.path

    result = retention_apply(today=FIRST_EXPIRED_DAY)

    assert (result.last_expired_year, result.deidentified, result.evidence_files_removed) == (
        2027,
        1,
        1,
    )
    application.refresh_from_db()
    assert application.deidentified_at is not None
    assert application.child_name == ""
    assert application.child_id_number == placeholder_id_number(application.pk)
    assert not idnumber.is_valid(application.child_id_number)
    assert application.home_address == ""
    assert application.applicant_id is None
    # what statistics and later years need stays
    assert (application.state, application.home_community_code, application.admission_year) == (
        "decided",
        HOME,
        YEAR,
    )
    decision = Decision.objects.get(application=application)
    assert (decision.outcome, decision.total_points, decision.facts, decision.trace) == (
        "eligible",
        Decimal("109.3"),
        {},
        [],
    )
    assert list(Guardian.objects.filter(application=application).values("name", "id_number")) == [
        {"name": "", "id_number": ""}
    ]
    consent = Consent.objects.get(application=application)
    assert (consent.given_by_id_number, consent.given_by_user_id) == ("", None)
    evidence.refresh_from_db()
    assert (evidence.file.name, evidence.statement) == ("", "")
    assert not os.path.exists(stored_file)
    audit = AuditLog.objects.get(action="retention.deidentify")
    assert (audit.actor_id, audit.target_type, audit.target_id, audit.data) == (
        None,
        "Application",
        str(application.pk),
        {"ref": application.ref, "admission_year": YEAR},
    )


def test_what_a_parent_wrote_in_a_recheck_is_removed(district, parent, officer):
    application = _decided_application(parent, with_evidence=False)
    run = allocation_run_create(
        admission_year=YEAR, seed=7, actor=officer, district_code="440604", enqueue=False
    )
    allocation_run_execute(run_id=run.pk)
    allocation_publish(run=AllocationRun.objects.get(pk=run.pk), actor=officer, reason="round 1")
    recheck = recheck_request(
        application=application, actor=parent, reason="我家租住在示范路1号三年了，请复核"
    )

    retention_apply(today=FIRST_EXPIRED_DAY)

    recheck.refresh_from_db()
    assert (recheck.reason, recheck.resolution_reason, recheck.status) == ("", "", "open")


def test_idle_parent_accounts_with_nothing_left_are_removed(district, parent, officer):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from enrollment.models import Role, User
    from tests.enrollment.factories import UserFactory

    shanghai = ZoneInfo("Asia/Shanghai")
    application = _decided_application(parent, with_evidence=False)
    User.objects.filter(pk=parent.pk).update(
        phone="13800138000", email="p@example.cn", last_login=datetime(2027, 5, 1, tzinfo=shanghai)
    )
    recent = UserFactory(role=Role.PARENT, username="recent", phone="13900139000")
    User.objects.filter(pk=recent.pk).update(last_login=datetime(2028, 3, 1, tzinfo=shanghai))
    User.objects.filter(pk=officer.pk).update(last_login=datetime(2027, 1, 1, tzinfo=shanghai))

    result = retention_apply(today=FIRST_EXPIRED_DAY)

    assert (result.deidentified, result.accounts_removed) == (1, 1)
    parent.refresh_from_db()
    assert (parent.username, parent.first_name, parent.last_name, parent.phone, parent.email) == (
        f"removed-{parent.pk}",
        "",
        "",
        "",
        "",
    )
    assert not parent.is_active
    assert not parent.has_usable_password()
    # the real-name identity it was bound to goes too
    assert parent.verified_id_number == ""
    assert list(parent.identity_verifications.values_list("status", "name", "id_number")) == [
        ("verified", "", "")
    ]
    recent.refresh_from_db()
    officer.refresh_from_db()
    assert (recent.username, recent.phone, recent.is_active) == ("recent", "13900139000", True)
    assert (officer.username, officer.is_active) == ("officer1", True)
    audit = AuditLog.objects.get(action="retention.account_removed")
    assert (audit.target_type, audit.target_id) == ("User", str(parent.pk))
    assert Application.objects.get(pk=application.pk).applicant_id is None
    assert retention_apply(today=FIRST_EXPIRED_DAY).accounts_removed == 0


def test_running_the_rule_again_changes_nothing(district, parent):
    application = _decided_application(parent, with_evidence=False)
    retention_apply(today=FIRST_EXPIRED_DAY)
    application.refresh_from_db()
    first_stamp = application.deidentified_at

    again = retention_apply(today=FIRST_EXPIRED_DAY)

    assert (again.deidentified, again.evidence_files_removed) == (0, 0)
    application.refresh_from_db()
    assert application.deidentified_at == first_stamp
    assert AuditLog.objects.filter(action="retention.deidentify").count() == 1


def test_the_periodic_task_applies_the_rule_and_is_scheduled(settings, district, parent):
    from enrollment.tasks import retention_apply as retention_task

    application = _decided_application(parent, with_evidence=False)
    Application.objects.filter(pk=application.pk).update(admission_year=2020)

    outcome = retention_task.delay().get()

    assert outcome["deidentified"] == 1
    assert Application.objects.get(pk=application.pk).deidentified_at is not None
    assert settings.CELERY_BEAT_SCHEDULE["retention-apply"]["task"] == "enrollment.retention_apply"
