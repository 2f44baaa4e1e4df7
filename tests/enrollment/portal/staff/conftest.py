"""A small decided district for the staff pages, built through the real services."""

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from enrollment.models import AllocationRun, Application, Community, Role, VerificationJob
from enrollment.services.allocation import allocation_run_execute
from enrollment.services.applications import ApplicationInput, PersonInput, application_submit
from enrollment.services.verification import verification_run
from registry import idnumber
from tests.conftest import HOME, YEAR
from tests.enrollment.factories import SchoolFactory, UserFactory
from tests.registry.factories import (
    PropertyRecordFactory,
    RentalRecordFactory,
    related_family,
)

BACKEND = "django.contrib.auth.backends.ModelBackend"
OTHER_HOME = "440605001001"


def login(user) -> Client:
    client = Client()
    client.force_login(user, backend=BACKEND)
    return client


# A02's mother: the signed-in parent of these pages (`parent` below), who names herself.
A02_MOTHER = idnumber.make("440604", date(1991, 2, 3), 224)


@pytest.fixture
def parent(db):
    """The parent who applied for A02 online, verified as its mother."""
    return UserFactory(role=Role.PARENT, username="parent1", identity=A02_MOTHER)


def submit_and_verify(*, ref: str, child: str, guardian: str, preferences, home=HOME, parent=None):
    application = application_submit(
        data=ApplicationInput(
            admission_year=YEAR,
            ref=ref,
            child=PersonInput(name=f"孩子{ref[-2:]}", id_number=child),
            guardians=[PersonInput(name=f"家长{ref[-2:]}", id_number=guardian, relation="mother")],
            home_community_code=home,
            preferences=preferences,
            consent_given_by=guardian,
        ),
        actor=parent,
        channel=Application.Channel.ONLINE if parent else Application.Channel.ASSISTED,
        enqueue=False,
    )
    job = VerificationJob.objects.get(application=application)
    verification_run(job_ids=[job.pk])
    application.refresh_from_db()
    return application


@pytest.fixture
def town(district, parent):
    """Three applications in 440604: A01 eligible 109.3 (DOMAIN.md example 1), A02 eligible
    91.2, A03 needs review (no hukou); and B01 of district 440605, which 440604's officers must
    never see."""
    second = SchoolFactory(
        code="S440604002",
        name="第二小学",
        capacity=1,
        catchment_communities=["440604010009"],
        lat=Decimal("23.02"),
        lon=Decimal("113.12"),
    )
    first = district["school"]
    first.name = "第一小学"
    first.lat, first.lon = Decimal("23.01"), Decimal("113.10")
    first.save()
    # A01: D + OWN, registered 2019-06-15: 100 + 9.3 = 109.3.
    child1 = idnumber.make("440604", date(2020, 3, 15), 123)
    mother1 = idnumber.make("440604", date(1990, 7, 1), 222)
    related_family(child1, mother1, registered_on=date(2019, 6, 15))
    PropertyRecordFactory(owner_id_number=mother1, community_code=HOME)
    a1 = submit_and_verify(
        ref="A01", child=child1, guardian=mother1, preferences=["S440604001", "S440604002"]
    )
    # A02: D + RENT not owning elsewhere, registered 2026-03-31: 90 + 1.2 = 91.2.
    child2 = idnumber.make("440604", date(2020, 5, 2), 125)
    mother2 = A02_MOTHER
    related_family(child2, mother2, registered_on=date(2026, 3, 31))
    RentalRecordFactory(tenant_id_number=mother2, community_code=HOME)
    # A02 is the signed-in parent's own application.
    a2 = submit_and_verify(
        ref="A02", child=child2, guardian=mother2, preferences=["S440604001"], parent=parent
    )
    # A03: no hukou for the child: needs review, CHILD_HUKOU_NOT_FOUND (and so
    # GUARDIANSHIP_NOT_VERIFIED: the mother's flat is not looked up).
    child3 = idnumber.make("440604", date(2020, 7, 9), 127)
    mother3 = idnumber.make("440604", date(1992, 4, 5), 226)
    PropertyRecordFactory(owner_id_number=mother3, community_code=HOME)
    a3 = submit_and_verify(ref="A03", child=child3, guardian=mother3, preferences=["S440604002"])
    # B01 in Nanhai (440605), with its own school and policy.
    from enrollment.services.policies import policy_install_default

    policy_install_default(admission_year=YEAR, district_code="440605")
    Community.objects.create(code=OTHER_HOME, district_code="440605", name="南海社区")
    SchoolFactory(
        code="S440605001",
        name="南海小学",
        district_code="440605",
        catchment_communities=[OTHER_HOME],
    )
    child4 = idnumber.make("440605", date(2020, 8, 8), 129)
    mother4 = idnumber.make("440605", date(1990, 1, 1), 228)
    b1 = submit_and_verify(
        ref="B01", child=child4, guardian=mother4, preferences=["S440605001"], home=OTHER_HOME
    )
    return {"A01": a1, "A02": a2, "A03": a3, "B01": b1, "first": first, "second": second}


def start_run(client, seed: int, **extra) -> AllocationRun:
    response = client.post("/staff/officer/allocation/?year=2027", {"seed": seed, **extra})
    assert response.status_code == 302
    run = AllocationRun.objects.get(seed=seed)
    assert response["Location"] == f"/staff/officer/allocation/{run.id}/"
    return run


@pytest.fixture
def published(town, officer):
    """Round 1 run and published: A01 and A02 both placed at 第一小学 (two seats)."""
    client = login(officer)
    run = start_run(client, 2027)
    allocation_run_execute(run_id=run.id)
    response = client.post(
        f"/staff/officer/allocation/{run.id}/publish/", {"reason": "区教育局审定通过"}
    )
    assert response.status_code == 302
    run.refresh_from_db()
    return run


@pytest.fixture
def steward(db):
    return UserFactory(role=Role.STEWARD, username="steward1")


@pytest.fixture
def other_officer(db):
    return UserFactory(role=Role.OFFICER, username="officer-nanhai", district_code="440605")
