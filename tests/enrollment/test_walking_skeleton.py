"""The whole path once, for real: parent API -> Redis -> worker -> registry -> officer and school."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from enrollment.models import Application, ApplicationState, Decision, VerificationJob
from registry import idnumber
from registry.models import AuditEntry
from registry.services.audit import audit_chain_first_break
from tests.conftest import HOME, YEAR, wait_until
from tests.registry.factories import PropertyRecordFactory, related_family

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

CHILD = idnumber.make("440604", date(2020, 3, 15), 123)
MOTHER = idnumber.make("440604", date(1990, 7, 1), 222)


def test_parent_submission_is_verified_by_a_real_worker_and_reaches_officer_and_school(
    celery_worker_process, district, parent, officer, school_staff, api
):
    # given: the registry knows the child's hukou in the district and the mother's flat at home
    related_family(CHILD, MOTHER, hukou_district_code="440604", registered_on=date(2019, 6, 15))
    PropertyRecordFactory(owner_id_number=MOTHER, share_percent=Decimal("100"), community_code=HOME)

    # when: the parent submits over HTTP
    response = api(parent).post(
        "/api/v1/applications/",
        {
            "admission_year": YEAR,
            "child": {"name": "陈小明", "id_number": CHILD},
            "guardians": [{"name": "李美玲", "id_number": MOTHER, "relation": "mother"}],
            "home_community_code": HOME,
            "preferences": ["S440604001"],
            "consent_given_by": MOTHER,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    ref = response.json()["ref"]
    assert response.json() == {
        "ref": ref,
        "admission_year": YEAR,
        "state": "submitted",
        "child_name": "陈小明",
        "child_id_number": "440604********1230",
        "home_community_code": HOME,
        "preferences": ["S440604001"],
    }
    assert response["Location"] == f"/api/v1/applications/{ref}/"

    # then: the worker process decides it (DOMAIN.md worked example 1: 109.3, eligible)
    decision = wait_until(
        lambda: Decision.objects.filter(application__ref=ref, is_current=True).first(), timeout=90
    )
    assert (decision.outcome, decision.total_points) == ("eligible", Decimal("109.3"))
    assert (decision.hukou_class, decision.housing_class, decision.residence_months) == (
        "D",
        "OWN",
        93,
    )
    application = Application.objects.get(ref=ref)
    assert application.state == ApplicationState.DECIDED
    assert list(application.events.values_list("to_state", flat=True)) == [
        "submitted",
        "verifying",
        "decided",
    ]
    assert VerificationJob.objects.get(application=application).status == "done"
    assert AuditEntry.objects.filter(outcome="answered").count() == 1
    assert audit_chain_first_break() is None

    officer_rows = api(officer).get("/api/v1/officer/decisions/", {"year": YEAR}).json()
    assert officer_rows == [
        {
            "ref": ref,
            "state": "decided",
            "outcome": "eligible",
            "hukou_class": "D",
            "housing_class": "OWN",
            "total_points": "109.3",
            "reasons": [],
            "policy_version": "2027.1",
        }
    ]

    csv_response = api(school_staff).get(
        "/api/v1/schools/S440604001/applicants.csv", {"year": YEAR}
    )
    assert csv_response.status_code == 200
    assert csv_response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(csv_response.content.decode())))
    assert rows == [
        ["ref", "child_name", "decision", "total_points", "preference_rank"],
        [ref, "陈小明", "eligible", "109.3", "1"],
    ]
