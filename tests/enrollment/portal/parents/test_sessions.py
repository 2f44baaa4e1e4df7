"""Signed-in requests: the session and the account read on every one of them (Django's session
store, cached in Redis when `CACHE_URL` is set, and Django's ModelBackend)."""

import logging

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.enrollment.factories import UserFactory
from tests.enrollment.portal.parents.conftest import BACKEND, signed_in

pytestmark = pytest.mark.django_db

DB = "django.contrib.sessions.backends.db"
CACHED_DB = "django.contrib.sessions.backends.cached_db"
# The Redis cache of production stands in as Django's in-process cache: cached_db treats
# every cache backend alike, and the test then needs no Redis database of its own.
CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture(params=[DB, CACHED_DB])
def session_engine(request, settings):
    """Each test runs with the sessions of the demo (database) and of production (cached)."""
    settings.SESSION_ENGINE = request.param
    settings.CACHES = CACHE
    from django.core.cache import caches

    caches["default"].clear()
    return request.param


def _parent_page() -> str:
    """A page only a signed-in account sees (applying would need a verified identity too)."""
    return reverse("home")


def _sent_to_sign_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == (
        f"{reverse('login')}?next={_parent_page()}"
    )


def test_a_password_change_signs_out_the_accounts_other_sessions(session_engine):
    parent = UserFactory(username="parent-two-phones")
    phone, tablet = signed_in(parent), signed_in(parent)
    assert tablet.get(_parent_page()).status_code == 200

    parent.set_password("a-new-long-passphrase-2027")
    parent.save(update_fields=["password"])

    assert _sent_to_sign_in(tablet.get(_parent_page()))
    assert _sent_to_sign_in(phone.get(_parent_page()))


def test_a_deactivated_parent_is_signed_out_on_the_next_request(session_engine):
    parent = UserFactory(username="parent-deactivated")
    client = signed_in(parent)
    assert client.session[SESSION_KEY] == str(parent.pk)
    assert client.session[BACKEND_SESSION_KEY] == BACKEND
    assert client.get(_parent_page()).status_code == 200

    parent.is_active = False
    parent.save(update_fields=["is_active"])

    assert _sent_to_sign_in(client.get(_parent_page()))


def test_signing_out_ends_the_session_wherever_it_was_kept(session_engine):
    parent = UserFactory(username="parent-signing-out-once")
    client = signed_in(parent)
    key = client.session.session_key
    assert client.get(_parent_page()).status_code == 200

    assert client.post(reverse("logout")).status_code == 302

    assert not Session.objects.filter(session_key=key).exists()
    stale = Client()
    stale.cookies["sessionid"] = key
    assert _sent_to_sign_in(stale.get(_parent_page()))


def test_with_a_cache_a_signed_in_request_reads_no_session_row(settings):
    settings.SESSION_ENGINE = CACHED_DB
    settings.CACHES = CACHE
    parent = UserFactory(username="parent-cached-session")
    client = signed_in(parent)
    assert client.get(_parent_page()).status_code == 200

    with CaptureQueriesContext(connection) as queries:
        assert client.get(_parent_page()).status_code == 200

    assert [q["sql"] for q in queries if "django_session" in q["sql"]] == []


def test_with_redis_away_a_signed_in_request_is_served_from_the_database(settings):
    """Production's cache (django-redis, errors ignored) pointed at a port nobody answers:
    the session is read from PostgreSQL and the page is served, signed in."""
    parent = UserFactory(username="parent-redis-away")
    client = signed_in(parent)
    settings.SESSION_ENGINE = CACHED_DB
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.5},
        }
    }

    with CaptureQueriesContext(connection) as queries:
        response = client.get(_parent_page())

    assert response.status_code == 200
    assert len([q for q in queries if "django_session" in q["sql"]]) == 1


def test_signing_out_is_not_logged_as_a_refusal_and_a_page_asked_signed_out_is(caplog):
    parent = UserFactory(username="parent-signing-out")
    client = signed_in(parent)
    caplog.set_level(logging.INFO, logger="enrollment.access")

    signed_out = client.post(reverse("logout"))
    assert signed_out.status_code == 302
    assert [r for r in caplog.records if r.name == "enrollment.access"] == []

    asked = client.get(_parent_page())
    assert asked.status_code == 302
    assert [r.getMessage() for r in caplog.records if r.name == "enrollment.access"] == [
        "access denied: user=None role= path=/ why=sign-in required"
    ]


def test_the_password_page_signs_out_the_other_sessions_and_keeps_its_own(session_engine):
    parent = UserFactory(username="parent-new-password")
    phone, tablet, someone_else = (
        signed_in(parent),
        signed_in(parent),
        signed_in(UserFactory(username="parent-unrelated")),
    )
    assert tablet.get(_parent_page()).status_code == 200

    changed = phone.post(
        reverse("password-change"),
        {
            "old_password": "demo-pass-2027",
            "new_password1": "another-pass-2028",
            "new_password2": "another-pass-2028",
        },
    )

    assert (changed.status_code, changed["Location"]) == (302, reverse("home"))
    assert phone.get(_parent_page()).status_code == 200
    assert phone.session[SESSION_KEY] == str(parent.pk)
    assert _sent_to_sign_in(tablet.get(_parent_page()))
    assert SESSION_KEY not in tablet.session
    assert someone_else.get(_parent_page()).status_code == 200
