"""Each agency's deployment installs its own apps, serves its own addresses and asks for the
settings it needs, no more (config/settings/base.py, "DEPLOYMENT")."""

import json

import pytest

from tests.test_settings import GOOD, _python

INSPECT = (
    "import django, json; django.setup(); from django.conf import settings; "
    "from django.apps import apps; from django.urls import get_resolver; "
    "print(json.dumps({'apps': sorted(a.label for a in apps.get_app_configs()), "
    "'user': settings.AUTH_USER_MODEL, 'gateway': settings.REGISTRY_GATEWAY, "
    "'queues': [q.name for q in settings.CELERY_TASK_QUEUES], "
    "'beat': sorted(e['task'] for e in settings.CELERY_BEAT_SCHEDULE.values()), "
    "'urls': sorted({str(p.pattern) for p in get_resolver().url_patterns})}))"
)
REGISTRY = {
    **GOOD,
    "DEPLOYMENT": "registry",
    "CONSENT_SIGNING_KEY": None,
}
ENROLLMENT = {
    **GOOD,
    "DEPLOYMENT": "enrollment",
    "AUDIT_LOG_KEYS": None,
    "AUDIT_ANCHOR_PATH": None,
    "REGISTRY_GATEWAY": "http",
    "REGISTRY_API_URL": "https://registry.example.gov.cn/registry/api/v1",
    "REGISTRY_API_KEY": "issued-key",
}


def inspect(env: dict) -> dict:
    result = _python(INSPECT, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_registry_deployment_holds_the_registry_and_its_own_accounts_only():
    seen = inspect(REGISTRY)

    assert "enrollment" not in seen["apps"]
    assert {"registry", "registry_accounts"} <= set(seen["apps"])
    assert seen["user"] == "registry_accounts.Steward"
    assert seen["gateway"] == "inprocess"
    assert seen["queues"] == ["default", "registry"]
    assert seen["beat"] == ["registry.reconcile_uploads"]
    assert "registry/api/v1/" in seen["urls"]
    assert "staff/steward/" in seen["urls"]
    assert "api/v1/" not in seen["urls"]
    assert "staff/" not in seen["urls"]


def test_the_enrollment_deployment_holds_no_registry():
    seen = inspect(ENROLLMENT)

    assert "registry" not in seen["apps"]
    assert "registry_accounts" not in seen["apps"]
    assert seen["user"] == "enrollment.User"
    assert seen["gateway"] == "http"
    assert seen["queues"] == ["default", "verification", "allocation", "exports"]
    assert "registry.reconcile_uploads" not in seen["beat"]
    assert "enrollment.reconcile_verification_jobs" in seen["beat"]
    assert "registry/api/v1/" not in seen["urls"]
    assert "staff/steward/" not in seen["urls"]
    assert {"api/v1/", "staff/", ""} <= set(seen["urls"])


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {**GOOD, "DEPLOYMENT": "both"},
            "DEPLOYMENT must be single, registry or enrollment, not 'both'.",
        ),
        (
            {**ENROLLMENT, "REGISTRY_GATEWAY": "inprocess"},
            "DEPLOYMENT=enrollment reaches the registry with REGISTRY_GATEWAY=http.",
        ),
        (
            {**ENROLLMENT, "REGISTRY_API_KEY": None},
            "The environment variable REGISTRY_API_KEY is required and is not set.",
        ),
        (
            {**ENROLLMENT, "REGISTRY_API_URL": "http://registry.example.gov.cn/registry/api/v1"},
            "REGISTRY_API_URL must be an https:// URL in production.",
        ),
        (
            {**ENROLLMENT, "CONSENT_SIGNING_KEY": None},
            "The environment variable CONSENT_SIGNING_KEY is required and is not set.",
        ),
        (
            {**REGISTRY, "AUDIT_LOG_KEYS": None},
            "The environment variable AUDIT_LOG_KEYS is required and is not set.",
        ),
    ],
)
def test_each_deployment_stops_naming_what_it_lacks(env, message):
    result = _python("import django; django.setup()", **env)

    assert result.returncode == 1
    assert (
        result.stderr.strip().splitlines()[-1]
        == f"django.core.exceptions.ImproperlyConfigured: {message}"
    )
