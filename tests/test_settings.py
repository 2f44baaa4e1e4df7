"""Production refuses to start on a missing or malformed setting, and says which one."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOOD = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "k" * 60,
    "DJANGO_ALLOWED_HOSTS": "enroll.example.gov.cn",
    "DATABASE_URL": "postgres://enrollment@db.internal:5432/enrollment",
    "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
    "CONSENT_SIGNING_KEY": "TdDpwvLYR+mrglCKgmBZccQYA6knG+6Zk7x2kl70Tso=",
    "AUDIT_LOG_KEYS": "k2026:" + "a" * 32 + ",k2027:" + "b" * 40,
    "AUDIT_ANCHOR_PATH": "/var/lib/enrollment/audit/anchor.log",
}


def _python(script: str, **env: str | None) -> subprocess.CompletedProcess:
    """`script` in a fresh interpreter with only these variables (None leaves one out)."""
    env = {"PATH": os.environ["PATH"], "HOME": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={key: value for key, value in env.items() if value is not None},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _start(**changes) -> subprocess.CompletedProcess:
    return _python("import django; django.setup()", **{**GOOD, **changes})


def test_production_starts_with_every_setting_present():
    result = _start()

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"DJANGO_SECRET_KEY": None},
            "The environment variable DJANGO_SECRET_KEY is required and is not set.",
        ),
        (
            {"DATABASE_URL": None},
            "The environment variable DATABASE_URL is required and is not set.",
        ),
        (
            {"DATABASE_URL": "nonsense://user:secret@host/db"},
            "DATABASE_URL must be a postgres:// URL in production.",
        ),
        (
            {"CELERY_BROKER_URL": None},
            "The environment variable CELERY_BROKER_URL is required and is not set.",
        ),
        (
            {"CONSENT_SIGNING_KEY": None},
            "The environment variable CONSENT_SIGNING_KEY is required and is not set.",
        ),
        (
            {"CONSENT_SIGNING_KEY": "c0kVHFxUgvZTR4D5cJusrvS752/ankIUYhkDYWWO0eE="},
            "CONSENT_SIGNING_KEY is the published development key; generate one with "
            "`manage.py consent_signing_key --new`.",
        ),
        (
            {"CONSENT_SIGNING_KEY": "not-a-key"},
            "CONSENT_SIGNING_KEY must be an Ed25519 private key: 32 bytes in base64.",
        ),
        (
            {"AUDIT_LOG_KEYS": None},
            "The environment variable AUDIT_LOG_KEYS is required and is not set.",
        ),
        (
            {"AUDIT_LOG_KEYS": "k2026:" + "s" * 32 + ",secret-without-an-id"},
            "AUDIT_LOG_KEYS must be id:key pairs separated by commas, each id of up to 16 "
            "letters, digits, '.', '_' or '-'; pair 2 is not.",
        ),
        (
            {"AUDIT_LOG_KEYS": "k2026:" + "s" * 32 + ",k2026:" + "s" * 40},
            "AUDIT_LOG_KEYS names the key id k2026 twice.",
        ),
        (
            {"AUDIT_LOG_KEYS": "k2027:short-secret"},
            "AUDIT_LOG_KEYS: the key k2027 is shorter than 32 characters.",
        ),
        (
            {"AUDIT_ANCHOR_PATH": None},
            "The environment variable AUDIT_ANCHOR_PATH is required and is not set.",
        ),
    ],
)
def test_production_stops_naming_the_missing_or_malformed_setting(changes, message):
    result = _start(**changes)

    assert result.returncode == 1
    assert (
        result.stderr.strip().splitlines()[-1]
        == f"django.core.exceptions.ImproperlyConfigured: {message}"
    )
    assert "secret" not in result.stderr.split("ImproperlyConfigured")[-1]


def test_a_celery_worker_logs_through_the_masking_handler():
    # What `celery worker` does at start-up: set up logging, then log from the tasks.
    number = "440604202003151230"
    script = (
        "import django, logging; django.setup()\n"
        "from config.celery_app import app\n"
        "app.log.setup_logging_subsystem(loglevel='INFO')\n"
        f"logging.getLogger('enrollment.services.verification').warning('child %s', '{number}')\n"
    )
    result = _python(script, DJANGO_SETTINGS_MODULE="config.settings.test")

    assert result.returncode == 0, result.stderr
    assert result.stderr.endswith(
        "WARNING enrollment.services.verification child 440604********1230\n"
    )
    assert number not in result.stderr


SESSIONS = (
    "import django; django.setup()\n"
    "from django.conf import settings\n"
    "cache = settings.CACHES['default']\n"
    "print(settings.SESSION_ENGINE, cache['BACKEND'], repr(cache.get('LOCATION', '')))\n"
)


def test_with_a_cache_url_sessions_are_read_from_redis_and_kept_in_the_database():
    result = _python(SESSIONS, **GOOD, CACHE_URL="redis://redis.internal:6379/1")

    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "django.contrib.sessions.backends.cached_db django_redis.cache.RedisCache"
        " 'redis://redis.internal:6379/1'\n"
    )


def test_without_a_cache_url_the_brokers_redis_is_the_cache():
    result = _python(SESSIONS, **GOOD)

    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "django.contrib.sessions.backends.cached_db django_redis.cache.RedisCache"
        " 'redis://redis.internal:6379/0'\n"
    )


def test_with_no_redis_at_all_sessions_are_kept_in_the_database_alone():
    result = _python(SESSIONS, DJANGO_SETTINGS_MODULE="config.settings.local")

    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "django.contrib.sessions.backends.db django.core.cache.backends.locmem.LocMemCache ''\n"
    )
