"""Production: every secret comes from the environment and a missing one stops start-up."""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import key_ring, require
from config.settings.base import *  # noqa: F403
from config.settings.base import env

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
# The audit log's keys and the anchor file are what make its tables tamper-evident: no default
# that a forgotten setting would fall back on.
AUDIT_LOG_KEYS = key_ring("AUDIT_LOG_KEYS", min_length=32)
AUDIT_ANCHOR_PATH = Path(require("AUDIT_ANCHOR_PATH"))
CELERY_TASK_ALWAYS_EAGER = False

SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
