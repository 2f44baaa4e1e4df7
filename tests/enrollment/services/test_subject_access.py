import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from enrollment.models import AllocationRun, Application, AuditLog, Role
from enrollment.services.allocation import (
    allocation_publish,
    allocation_run_create,
    allocation_run_execute,
)
from enrollment.services.applications import ApplicationInput, PersonInput, application_submit
from enrollment.services.rechecks import recheck_request
from enrollment.services.verification import verification_run
from registry import idnumber
from tests.conftest import HOME, YEAR
from tests.enrollment.factories import UserFactory
from tests.registry.factories import PropertyRecordFactory, related_family

pytestmark = pytest.mark.django_db

CHILD = idnumber.make("440604", date(2020, 3, 15), 123)
MOTHER = idnumber.make("440604", date(1990, 7, 1), 222)
OTHER_CHILD = idnumber.make("440604", date(2020, 4, 2), 457)
OTHER_FATHER = idnumber.make("440604", date(1988, 2, 9), 331)
URL = "/api/v1/me/data/"


def _submit(user, child, guardian, name) -> Application:
    application = application_submit(
        data=ApplicationInput(
            admission_year=YEAR,
            child=PersonInput(name=name, id_number=child),
            guardians=[PersonInput(name="监护人", id_number=guardian, relation="mother")],
            home_community_code=HOME,
            preferences=["S440604001"],
            consent_given_by=guardian,
        ),
        actor=user,
        enqueue=False,
    )
    verification_run(job_ids=list(application.verification_jobs.values_list("id", flat=True)))
    return application


@pytest.fixture
def families(district, parent):
    related_family(CHILD, MOTHER, hukou_district_code="440604", registered_on=date(2019, 6, 15))
    PropertyRecordFactory(owner_id_number=MOTHER, share_percent=Decimal("100"), community_code=HOME)
    other_parent = UserFactory(role=Role.PARENT, username="parent2", identity=OTHER_FATHER)
    mine = _submit(parent, CHILD, MOTHER, "陈小明")
    theirs = _submit(other_parent, OTHER_CHILD, OTHER_FATHER, "王小红")
    return mine, theirs, other_parent


def test_parent_downloads_their_own_family_only(families, parent, api):
    mine, theirs, _ = families

    response = api(parent).get(URL)

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="my-enrollment-data-')
    document = json.loads(response.content)
    assert document["format"] == "enrollment-subject-access/1"
    assert document["account"]["username"] == "parent1"
    assert [a["ref"] for a in document["applications"]] == [mine.ref]
    application = document["applications"][0]
    assert application["child"] == {
        "name": "陈小明",
        "id_number": "440604********1230",
        "birth_date": "2020-03-15",
    }
    assert application["guardians"] == [
        {"name": "监护人", "id_number": idnumber.mask(MOTHER), "relation": "mother"}
    ]
    assert [
        (e["to_state"], e["by"], e["reason_code"], e["reason_params"], e["reason"])
        for e in application["events"]
    ] == [
        ("submitted", "family", "submitted", {}, ""),
        ("verifying", "system", "verification_started", {}, ""),
        ("decided", "system", "verified", {}, ""),
    ]
    assert [(d["outcome"], d["total_points"]) for d in application["decisions"]] == [
        ("eligible", "109.3")
    ]
    assert application["consent"]["lookups"] == [
        "hukou",
        "property",
        "rental",
        "social_insurance",
        "residence_permit",
    ]
    assert [r["outcome"] for r in document["registry_lookups"]] == ["answered"]
    assert (application["offers"], application["rechecks"]) == ([], [])
    text = response.content.decode()
    for number in (CHILD, MOTHER, OTHER_CHILD, OTHER_FATHER):
        assert number not in text
    assert theirs.ref not in text
    assert "王小红" not in text


def test_offers_and_rechecks_are_in_the_document(families, parent, officer, api):
    mine, _, _ = families
    run = allocation_run_create(
        admission_year=YEAR, seed=7, actor=officer, district_code="440604", enqueue=False
    )
    allocation_run_execute(run_id=run.pk)
    allocation_publish(run=AllocationRun.objects.get(pk=run.pk), actor=officer, reason="round 1")
    recheck_request(application=mine, actor=parent, reason="请复核住房")

    application = json.loads(api(parent).get(URL).content)["applications"][0]

    assert [(o["round"], o["school_code"], o["status"]) for o in application["offers"]] == [
        (1, "S440604001", "offered")
    ]
    assert [(r["reason"], r["status"]) for r in application["rechecks"]] == [("请复核住房", "open")]


def test_offers_under_embargo_are_left_out_until_families_may_see_them(
    families, parent, officer, api
):
    run = allocation_run_create(
        admission_year=YEAR, seed=7, actor=officer, district_code="440604", enqueue=False
    )
    allocation_run_execute(run_id=run.pk)
    embargo = timezone.now() + timedelta(hours=2)
    allocation_publish(
        run=AllocationRun.objects.get(pk=run.pk), actor=officer, reason="r1", visible_from=embargo
    )

    before = json.loads(api(parent).get(URL).content)["applications"][0]["offers"]
    AllocationRun.objects.filter(pk=run.pk).update(visible_from=timezone.now())
    after = json.loads(api(parent).get(URL).content)["applications"][0]["offers"]

    assert before == []
    assert [(o["round"], o["school_code"], o["status"]) for o in after] == [
        (1, "S440604001", "offered")
    ]


def test_download_is_audited(families, parent, api):
    mine, _, _ = families

    api(parent).get(URL)

    audit = AuditLog.objects.get(action="subject_access.download")
    assert (audit.actor_id, audit.target_type, audit.target_id, audit.data) == (
        parent.pk,
        "User",
        str(parent.pk),
        {"applications": [mine.ref]},
    )


def test_parent_with_no_application_gets_an_empty_document(district, api):
    newcomer = UserFactory(role=Role.PARENT, username="newcomer")

    document = json.loads(api(newcomer).get(URL).content)

    assert (document["applications"], document["registry_lookups"]) == ([], [])


@pytest.mark.parametrize("role", [Role.OFFICER, Role.SCHOOL, Role.STEWARD])
def test_other_roles_are_refused_and_nothing_is_audited(district, api, role):
    user = UserFactory(
        role=role, username=f"staff-{role}", district_code="440604", school_code="S440604001"
    )

    response = api(user).get(URL)

    assert response.status_code == 403
    assert not AuditLog.objects.filter(action="subject_access.download").exists()


def test_anonymous_is_refused(district):
    from rest_framework.test import APIClient

    response = APIClient().get(URL)

    assert response.status_code == 403
    assert not AuditLog.objects.filter(action="subject_access.download").exists()
