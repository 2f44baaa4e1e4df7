"""One small district with every role the access checks need, built through the services."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.utils import timezone

from enrollment.models import AllocationRun, Application, Evidence, Role, User
from enrollment.services.allocation import (
    allocation_publish,
    allocation_run_create,
    allocation_run_execute,
)
from enrollment.services.applications import ApplicationInput, PersonInput, application_submit
from enrollment.services.verification import verification_run
from registry import idnumber
from tests.conftest import HOME, YEAR
from tests.enrollment.factories import SchoolFactory, UserFactory
from tests.registry.factories import HukouRecordFactory, PropertyRecordFactory, related_family

CHILD = idnumber.make("440604", date(2020, 3, 15), 123)
MOTHER = idnumber.make("440604", date(1990, 7, 1), 222)
OTHER_CHILD = idnumber.make("440604", date(2020, 5, 20), 345)
OTHER_FATHER = idnumber.make("440604", date(1987, 11, 3), 517)
PASSWORD = "demo-pass-2027"


@dataclass
class World:
    parent: User
    other_parent: User
    school: User
    other_school: User
    officer: User
    officer_other_district: User
    steward: User
    auditor: User
    application: Application
    other_application: Application
    evidence: Evidence

    @property
    def id_numbers(self) -> list[str]:
        return [CHILD, MOTHER, OTHER_CHILD, OTHER_FATHER]


def submit_and_verify(user, child, guardian, child_name, guardian_name) -> Application:
    application = application_submit(
        data=ApplicationInput(
            admission_year=YEAR,
            child=PersonInput(name=child_name, id_number=child),
            guardians=[PersonInput(name=guardian_name, id_number=guardian, relation="mother")],
            home_community_code=HOME,
            home_address="禅城区示范路8号",
            preferences=["S440604001", "S440604002"],
            consent_given_by=guardian,
        ),
        actor=user,
        enqueue=False,
    )
    verification_run(job_ids=list(application.verification_jobs.values_list("id", flat=True)))
    return Application.objects.get(pk=application.pk)


@pytest.fixture
def world(district) -> World:
    SchoolFactory(code="S440604002", catchment_communities=[HOME])
    related_family(CHILD, MOTHER, hukou_district_code="440604", registered_on=date(2019, 6, 15))
    PropertyRecordFactory(owner_id_number=MOTHER, share_percent=Decimal("100"), community_code=HOME)
    HukouRecordFactory(
        id_number=OTHER_CHILD, hukou_district_code="440604", registered_on=date(2020, 7, 1)
    )
    parent = UserFactory(role=Role.PARENT, username="parent1", identity=MOTHER)
    other_parent = UserFactory(role=Role.PARENT, username="parent2", identity=OTHER_FATHER)
    application = submit_and_verify(parent, CHILD, MOTHER, "陈小明", "李美玲")
    other_application = submit_and_verify(
        other_parent, OTHER_CHILD, OTHER_FATHER, "王小红", "王大伟"
    )
    evidence = Evidence(
        application=application,
        fact=Evidence.Fact.HOUSING,
        kind=Evidence.Kind.UPLOAD,
        content_type="application/pdf",
        size=4,
        statement="租住",
        submitted_by=parent,
        submitted_at=timezone.now(),
    )
    evidence.file.save("lease.pdf", ContentFile(b"%PDF"), save=False)
    evidence.save()
    return World(
        parent=parent,
        other_parent=other_parent,
        school=UserFactory(role=Role.SCHOOL, username="school1", school_code="S440604001"),
        other_school=UserFactory(role=Role.SCHOOL, username="school2", school_code="S440604002"),
        officer=UserFactory(role=Role.OFFICER, username="officer1", district_code="440604"),
        officer_other_district=UserFactory(
            role=Role.OFFICER, username="officer-nanhai", district_code="440605"
        ),
        steward=UserFactory(role=Role.STEWARD, username="steward1", district_code="440604"),
        auditor=UserFactory(role=Role.AUDITOR, username="auditor1"),
        application=application,
        other_application=other_application,
        evidence=evidence,
    )


def run_and_publish(officer: User, *, reason: str) -> AllocationRun:
    """The home district's allocation, run with a fixed seed and published by `officer`."""
    run = allocation_run_create(
        admission_year=YEAR, seed=20270401, actor=officer, district_code="440604", enqueue=False
    )
    allocation_run_execute(run_id=run.pk)
    return allocation_publish(
        run=AllocationRun.objects.get(pk=run.pk), actor=officer, reason=reason
    )


def stored_rows() -> dict[str, list[tuple]]:
    """Every row of the product's own tables (enrollment and registry), to show that a
    refused request changed none."""
    return {
        model._meta.label: list(model.objects.order_by("pk").values_list())
        for app in ("enrollment", "registry")
        for model in apps.get_app_config(app).get_models()
    }
