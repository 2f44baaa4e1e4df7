"""The test suite runs on PostgreSQL and Redis, as production does."""

from pathlib import Path

from config.settings.base import *  # noqa: F403
from config.settings.base import BASE_DIR, env

DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/enrollment")
}
DATABASES["default"]["CONN_MAX_AGE"] = 0
# Tests call tasks in-process unless a test starts a real worker; that worker reads
# CELERY_BROKER_URL from its own environment and runs with the eager switch off.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/15")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
# One-time codes go to enrollment.sms.outbox, where the tests read them.
SMS_BACKEND = "enrollment.sms.LocmemBackend"
# The API throttles count in this process's memory, emptied before each test
# (tests/conftest.py), so no count carries from one test into another.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "var" / "test-media")
# Tests that read anchors point this at their own folder (tests/conftest.py); a real worker
# started by a test writes here.
AUDIT_ANCHOR_PATH = Path(
    env.str("AUDIT_ANCHOR_PATH", default=str(BASE_DIR / "var" / "test-audit-anchor.log"))
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Static files come from the finders; no collectstatic before a test run.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
