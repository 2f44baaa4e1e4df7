"""The API throttles are on, count in a cache every web process shares, and refuse in the API's
shape; the test settings keep counts from one test out of the next."""

import json
from datetime import date

import pytest
from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from enrollment.models import Application
from registry import idnumber
from tests.conftest import HOME, YEAR
from tests.test_settings import GOOD, _python

pytestmark = pytest.mark.django_db

CHILD = idnumber.make("440604", date(2020, 3, 15), 123)
MOTHER = idnumber.make("440604", date(1990, 7, 1), 222)


def _api(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_the_anonymous_user_and_submission_throttles_are_on():
    assert [cls.__name__ for cls in api_settings.DEFAULT_THROTTLE_CLASSES] == [
        "AnonRateThrottle",
        "UserRateThrottle",
        "ScopedRateThrottle",
    ]
    assert api_settings.DEFAULT_THROTTLE_RATES == {
        "anon": "60/min",
        "user": "600/min",
        "submissions": "30/hour",
    }


def test_a_parent_over_the_submission_rate_gets_429_and_nothing_is_stored(
    district, parent, monkeypatch
):
    # The rates are read once, when DRF loads; a tiny one for this test only.
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "submissions", "2/hour")
    body = {
        "admission_year": YEAR,
        "child": {"name": "陈小明", "id_number": CHILD},
        "guardians": [{"name": "李美玲", "id_number": MOTHER, "relation": "mother"}],
        "home_community_code": HOME,
        "preferences": ["S440604001"],
        "consent_given_by": MOTHER,
    }
    api = _api(parent)

    answers = [
        api.post("/api/v1/applications/", {**body, "preferences": []}, format="json"),
        api.post("/api/v1/applications/", {**body, "preferences": []}, format="json"),
        api.post("/api/v1/applications/", body, format="json"),
    ]

    assert [a.status_code for a in answers] == [400, 400, 429]
    assert answers[2].json() == {
        "message": "请求已被限流。 预计 3600 秒后可用。",
        "code": "throttled",
        "extra": {},
    }
    assert answers[2]["Retry-After"] == "3600"
    assert Application.objects.count() == 0
    # Counted in the default cache (Redis in production), one history per parent.
    assert len(cache.get(f"throttle_submissions_{parent.pk}")) == 2
    # Reading is not submitting: the parent's other calls go on.
    assert api.get("/api/v1/me/data/").status_code == 200


def test_any_signed_in_user_over_the_general_rate_gets_429(parent, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "3/min")
    api = _api(parent)

    codes = [api.get("/api/v1/me/data/").status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]


def test_anonymous_callers_are_counted_by_their_address(monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "2/min")
    api = APIClient()

    codes = [
        api.get("/api/schema/", REMOTE_ADDR=address).status_code
        for address in ("198.51.100.1", "198.51.100.1", "198.51.100.1", "198.51.100.2")
    ]

    assert codes == [200, 200, 429, 200]


def test_behind_the_proxy_the_throttles_count_the_forwarded_client(monkeypatch, settings):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "1/min")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    api = APIClient()
    proxy = {"REMOTE_ADDR": "10.0.0.2"}

    first = api.get("/api/schema/", HTTP_X_FORWARDED_FOR="198.51.100.1", **proxy)
    other = api.get("/api/schema/", HTTP_X_FORWARDED_FOR="198.51.100.2", **proxy)
    # A forged entry to the left of the proxy's own changes nothing.
    forged = api.get("/api/schema/", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.1", **proxy)

    assert [first.status_code, other.status_code, forged.status_code] == [200, 200, 429]


def _caches(**env: str | None) -> dict:
    script = (
        "import django, json; django.setup()\n"
        "from django.conf import settings\n"
        "from rest_framework.settings import api_settings\n"
        "print(json.dumps([settings.CACHES['default'], api_settings.NUM_PROXIES,"
        " settings.PROXY_COUNT]))"
    )
    result = _python(script, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_counts_in_the_brokers_redis_unless_told_otherwise():
    redis = "django_redis.cache.RedisCache"
    # Redis errors are ignored within half a second: a Redis restart stops the counting, not
    # the API (tests/enrollment/portal/parents/test_sessions.py shows the same for signed-in pages).
    options = {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5}

    assert _caches(**GOOD) == [
        {"BACKEND": redis, "LOCATION": "redis://redis.internal:6379/0", "OPTIONS": options},
        1,
        1,
    ]
    assert _caches(**GOOD, CACHE_URL="redis://cache.internal:6379/2", DJANGO_PROXY_COUNT="2") == [
        {"BACKEND": redis, "LOCATION": "redis://cache.internal:6379/2", "OPTIONS": options},
        2,
        2,
    ]


def test_the_demo_counts_in_its_one_process_and_trusts_no_forwarded_header():
    assert _caches(DJANGO_SETTINGS_MODULE="config.settings.local") == [
        {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        0,
        0,
    ]
