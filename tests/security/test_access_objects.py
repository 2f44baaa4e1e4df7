"""The access matrix's rows for objects it cannot name by itself: runs, re-checks, offers.

test_access_matrix fills a run, re-check or offer id with 1, an object that does not exist, and
asks the officer of another district only about cases; so a run, a re-check or a school of
this district was never put to that officer, nor a parent's offer to another parent. Here each
URL gets the real object of its owner, the exact refusal is asserted, and so is that a refused
request wrote nothing at all.
"""

import json
import logging

import pytest
from django.test import Client
from django.urls import resolve

from enrollment.models import Offer, Recheck
from enrollment.services.rechecks import recheck_request
from tests.conftest import YEAR
from tests.security.conftest import run_and_publish, stored_rows

pytestmark = pytest.mark.django_db

# (role asked, method, URL with {run}, {recheck}, {offer}, {ref}, {other_ref}, URL name,
# status it must get)
ROWS = [
    # the officer of another district, on this district's runs, re-checks and schools
    ("officer_other_district", "get", "/api/v1/officer/allocation/runs/{run}/",
     "api-allocation-run", 404),
    ("officer_other_district", "get", "/api/v1/officer/allocation/runs/{run}/compare/{run}/",
     "api-allocation-compare", 404),
    ("officer_other_district", "post", "/api/v1/officer/allocation/runs/{run}/publish/",
     "api-allocation-publish", 404),
    ("officer_other_district", "post", "/api/v1/officer/rechecks/{recheck}/resolve/",
     "api-officer-recheck-resolve", 404),
    ("officer_other_district", "patch", "/api/v1/officer/schools/S440604001/",
     "api-officer-school-update", 404),
    ("officer_other_district", "get", "/staff/officer/allocation/{run}/",
     "staff:officer-run", 404),
    ("officer_other_district", "get", "/staff/officer/allocation/{run}/progress/",
     "staff:officer-run-progress", 404),
    ("officer_other_district", "post", "/staff/officer/allocation/{run}/publish/",
     "staff:officer-run-publish", 404),
    ("officer_other_district", "get", "/staff/officer/allocation/compare/?a={run}&b={run}",
     "staff:officer-runs-compare", 404),
    ("officer_other_district", "get", "/staff/officer/rechecks/{recheck}/",
     "staff:officer-recheck", 404),
    ("officer_other_district", "post", "/staff/officer/rechecks/{recheck}/",
     "staff:officer-recheck", 404),
    # another parent, on the parent's offer and application
    ("other_parent", "post", "/api/v1/offers/{offer}/answer/", "api-offer-answer", 404),
    ("other_parent", "post", "/applications/{ref}/offers/{offer}/answer/",
     "application-offer-answer", 404),
    ("other_parent", "post", "/applications/{other_ref}/offers/{offer}/answer/",
     "application-offer-answer", 404),
    ("other_parent", "post", "/api/v1/applications/{ref}/rechecks/", "api-recheck-request", 404),
    ("other_parent", "post", "/applications/{ref}/recheck/", "application-recheck", 404),
    # the other school, on a child admitted to the first school
    ("other_school", "post", "/api/v1/schools/S440604002/enrolments/",
     "api-school-enrolments", 404),
]  # fmt: skip
BODY = {
    "year": YEAR,
    "ref": "",
    "answer": "accept",
    "reason": "access check",
    "result": "upheld",
    "enrolment": "enrolled",
    "capacity": 1,
}


@pytest.fixture
def published(world):
    """The district's allocation, run and published; the parent's offer; a re-check opened."""
    run = run_and_publish(world.officer, reason="access check")
    offer = Offer.objects.get(application=world.application)
    assert (offer.school.code, offer.status) == ("S440604001", Offer.Status.OFFERED)
    recheck = recheck_request(
        application=world.application, actor=world.parent, reason="access check"
    )
    return {
        "run": run.pk,
        "recheck": recheck.pk,
        "offer": offer.pk,
        "ref": world.application.ref,
        "other_ref": world.other_application.ref,
    }


@pytest.mark.parametrize(("role", "method", "route", "name", "status"), ROWS)
def test_an_object_outside_the_scope_is_refused_and_nothing_written(
    world, published, caplog, role, method, route, name, status
):
    # given
    url = route.format(**published)
    assert resolve(url.split("?")[0]).view_name == name
    client = Client()
    client.force_login(getattr(world, role))
    body = {**BODY, "ref": world.application.ref}
    before = stored_rows()
    caplog.set_level(logging.WARNING)

    # when
    if method == "get":
        response = client.get(url)
    elif method == "patch":
        response = client.patch(url, json.dumps(body), content_type="application/json")
    else:
        response = client.post(url, body)

    # then
    assert response.status_code == status
    assert stored_rows() == before
    assert any(
        record.levelno >= logging.WARNING and url.split("?")[0] in record.getMessage()
        for record in caplog.records
    )


def test_the_owners_reach_the_same_objects(world, published):
    # The rows above refuse for the scope, not because the objects or URLs do not exist.
    officer, parent, school = Client(), Client(), Client()
    officer.force_login(world.officer)
    parent.force_login(world.parent)
    school.force_login(world.school)
    run, recheck = published["run"], published["recheck"]

    assert officer.get(f"/api/v1/officer/allocation/runs/{run}/").json()["id"] == run
    assert officer.get(f"/staff/officer/allocation/{run}/").status_code == 200
    assert officer.get(f"/staff/officer/rechecks/{recheck}/").status_code == 200
    assert [o["id"] for o in parent.get("/api/v1/offers/", {"year": YEAR}).json()] == [
        published["offer"]
    ]
    assert Recheck.objects.get(pk=recheck).status == Recheck.Status.OPEN
