"""Pages and downloads with personal data are never kept by a browser or a proxy cache."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tests.security.conftest import run_and_publish
from tests.security.test_access_matrix import QUERY, fill, url_patterns

pytestmark = pytest.mark.django_db


def no_store(response) -> bool:
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    return "no-store" in directives


@pytest.fixture
def published(world):
    run_and_publish(world.officer, reason="publication for the cache check")
    return world


def test_each_kind_of_personal_page_and_download_says_no_store(media, published):
    world = published
    parent, officer, school = Client(), Client(), Client()
    parent.force_login(world.parent)
    officer.force_login(world.officer)
    school.force_login(world.school)
    ref = world.application.ref

    responses = {
        "application page": parent.get(reverse("application-detail", args=[ref])),
        "evidence file": parent.get(
            reverse("application-evidence-file", args=[ref, world.evidence.pk])
        ),
        "officer case": officer.get(reverse("staff:officer-case", args=[ref])),
        "school download": school.get(reverse("staff:school-download-csv"), QUERY),
        "school API download": school.get(
            reverse("api-school-admitted-csv", args=["S440604001"]), QUERY
        ),
        "parent API": parent.get(reverse("api-application-detail", args=[ref])),
    }

    assert {name: r.status_code for name, r in responses.items()} == dict.fromkeys(responses, 200)
    assert {name: r.get("Cache-Control") for name, r in responses.items()} == dict.fromkeys(
        responses, "no-store"
    )
    # What is public keeps its own caching: a page for anyone, a view that chose its own,
    # static files (answered before the product's middleware).
    anonymous = Client()
    signup = anonymous.get(reverse("signup"))
    login = anonymous.get(reverse("login"))
    static = anonymous.get("/static/css/portal.css")
    assert (signup.status_code, signup.get("Cache-Control")) == (200, None)
    assert login["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
    assert (static.status_code, no_store(static)) == (200, False)


def test_every_page_a_signed_in_user_opens_says_no_store(media, published):
    world = published
    missing = []
    for user in (world.parent, world.officer, world.school, world.steward):
        client = Client()
        client.force_login(user)
        for route, name in url_patterns():
            if name == "admin:index":
                continue
            response = client.get(fill(route, world), QUERY)
            if response.status_code == 200 and not no_store(response):
                missing.append(f"{user.role} {name}")

    assert missing == []


def test_api_answers_say_no_store_even_to_a_department_client_and_to_refusals(education_bureau):
    registry = APIClient()
    registry.credentials(HTTP_AUTHORIZATION=f"Api-Key {education_bureau.api_key}")

    answered = registry.post(
        "/registry/api/v1/audit/lookups/", {"id_numbers": ["11010519491231002X"]}, format="json"
    )
    refused = APIClient().get("/api/v1/me/data/")

    assert (answered.status_code, answered["Cache-Control"]) == (200, "no-store")
    assert (refused.status_code, refused["Cache-Control"]) == (403, "no-store")
