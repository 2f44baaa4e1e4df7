"""Production: every secret comes from the environment and a missing one stops start-up."""

import base64
import binascii
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import key_ring, require
from config.settings.base import *  # noqa: F403
from config.settings.base import (
    DEVELOPMENT_CONSENT_SIGNING_KEY,
    REST_FRAMEWORK,
    SERVES_ENROLLMENT,
    SERVES_REGISTRY,
    env,
)

DEBUG = False
SECRET_KEY = require("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
DATABASES = {"default": env.db_url_config(require("DATABASE_URL"))}
if DATABASES["default"].get("ENGINE") != "django.db.backends.postgresql":
    # PostgreSQL is the system of record; the URL itself is not repeated, it may hold a password.
    raise ImproperlyConfigured("DATABASE_URL must be a postgres:// URL in production.")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
CELERY_BROKER_URL = require("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = False

if SERVES_REGISTRY:
    # The audit log's keys and the anchor file are what make its tables tamper-evident: no
    # default that a forgotten setting would fall back on. The registry's deployment keeps the
    # log; the education bureau's holds none.
    AUDIT_LOG_KEYS = key_ring("AUDIT_LOG_KEYS", min_length=32)
    AUDIT_ANCHOR_PATH = Path(require("AUDIT_ANCHOR_PATH"))


def _consent_signing_key() -> str:
    """The education bureau's Ed25519 private key, refused when it is the published one or
    not 32 bytes in base64."""
    key = require("CONSENT_SIGNING_KEY")
    if key.strip() == DEVELOPMENT_CONSENT_SIGNING_KEY:
        # Anyone with the source could sign this department's consents.
        raise ImproperlyConfigured(
            "CONSENT_SIGNING_KEY is the published development key; generate one with "
            "`manage.py consent_signing_key --new`."
        )
    try:
        length = len(base64.b64decode(key.strip(), validate=True))
    except (binascii.Error, ValueError):
        length = 0
    if length != 32:
        raise ImproperlyConfigured(
            "CONSENT_SIGNING_KEY must be an Ed25519 private key: 32 bytes in base64."
        )
    return key


# The registry checks consent tokens with the public keys its clients registered; it signs
# none, so it holds no private key.
CONSENT_SIGNING_KEY = _consent_signing_key() if SERVES_ENROLLMENT else ""

SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The same one proxy (docs/operations.md) writes the last X-Forwarded-For entry: the client's
# address for the sign-in lockout and the API throttles. Set it to the number of proxies.
PROXY_COUNT = env.int("DJANGO_PROXY_COUNT", default=1)
REST_FRAMEWORK = {**REST_FRAMEWORK, "NUM_PROXIES": PROXY_COUNT}
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)

if not SERVES_REGISTRY:
    # The education bureau's deployment asks the registry's over HTTPS with its own key.
    REGISTRY_API_URL = require("REGISTRY_API_URL")
    REGISTRY_API_KEY = require("REGISTRY_API_KEY")
    if not REGISTRY_API_URL.startswith("https://"):
        raise ImproperlyConfigured("REGISTRY_API_URL must be an https:// URL in production.")
