"""Parents' portal fixtures: a district, a parent signed in, and an application built through
the real services (verification runs in-process: Celery is eager in tests)."""

from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from enrollment.models import Application, Role
from enrollment.services.applications import ApplicationInput, PersonInput, application_submit
from enrollment.services.verification import verification_run
from registry import idnumber
from tests.conftest import HOME, YEAR
from tests.enrollment.factories import UserFactory
from tests.registry.factories import PropertyRecordFactory, related_family

BACKEND = "django.contrib.auth.backends.ModelBackend"
CHILD = idnumber.make("440604", date(2020, 3, 15), 123)
MOTHER = idnumber.make("440604", date(1990, 7, 1), 222)
FATHER = idnumber.make("440604", date(1989, 2, 3), 331)
OTHER_CHILD = idnumber.make("440604", date(2020, 4, 2), 455)
OTHER_MOTHER = idnumber.make("440604", date(1991, 1, 9), 562)


def signed_in(user, language: str = "zh-hans") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user, backend=BACKEND)
    return client


def submit(*, parent, child=CHILD, guardian=MOTHER, name="陈小明", ref="") -> Application:
    """Submit and verify in-process, as the eager worker would after commit."""
    application = application_submit(
        data=ApplicationInput(
            admission_year=YEAR,
            ref=ref,
            child=PersonInput(name=name, id_number=child),
            guardians=[PersonInput(name="李美玲", id_number=guardian, relation="mother")],
            home_community_code=HOME,
            preferences=["S440604001"],
            consent_given_by=guardian,
        ),
        actor=parent,
        enqueue=False,
    )
    verification_run(job_ids=list(application.verification_jobs.values_list("id", flat=True)))
    application.refresh_from_db()
    return application


@pytest.fixture(autouse=True)
def default_language_after_each_test():
    """Requests in English leave English active in this thread; later tests expect the default."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def registry_example_1(db):
    """DOMAIN.md worked example 1: hukou in the district since 2019-06-15, mother owns at home."""
    related_family(CHILD, MOTHER, hukou_district_code="440604", registered_on=date(2019, 6, 15))
    PropertyRecordFactory(owner_id_number=MOTHER, share_percent=Decimal("100"), community_code=HOME)


@pytest.fixture
def decided(district, parent, registry_example_1) -> Application:
    application = submit(parent=parent, ref="A00000000001")
    application.refresh_from_db()
    return application


@pytest.fixture
def other_parent(db):
    return UserFactory(role=Role.PARENT, username="13900000002", identity=OTHER_MOTHER)


@pytest.fixture
def others_application(district, other_parent) -> Application:
    return submit(
        parent=other_parent,
        child=OTHER_CHILD,
        guardian=OTHER_MOTHER,
        name="王小红",
        ref="A0000000OTHR",
    )
