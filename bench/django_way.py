"""Django's own way in place of the product's hand-written paths, for the benchmarks that run
one against the other in the same sitting (a settings module for their child processes only).

    DJANGO_SETTINGS_MODULE=django_way   (with bench/ on PYTHONPATH)
    DJANGO_WAY_BASE=config.settings.production   the settings extended
    DJANGO_WAY=sessions,accounts,submission,copy the paths replaced
    DJANGO_WAY_CACHE_URL=redis://127.0.0.1:6379/7 the cache behind `cached_db` sessions

- sessions: `django.contrib.sessions.backends.cached_db` on Django's Redis cache;
- accounts: `django.contrib.auth.backends.ModelBackend` (axes' backend stays first);
- submission: `submission_store` saves through the ORM in a transaction, as it does on SQLite;
- copy: `copy_insert` is `bulk_create`, as it is on SQLite.
"""

import os
from importlib import import_module

_base = import_module(os.environ.get("DJANGO_WAY_BASE", "config.settings.production"))
globals().update({name: value for name, value in vars(_base).items() if name.isupper()})

WAYS = {way for way in os.environ.get("DJANGO_WAY", "").split(",") if way}
_unknown = WAYS - {"sessions", "accounts", "submission", "copy"}
if _unknown:
    raise RuntimeError(f"DJANGO_WAY names unknown paths: {sorted(_unknown)}")

if "sessions" in WAYS:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["DJANGO_WAY_CACHE_URL"],
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
if "accounts" in WAYS:
    AUTHENTICATION_BACKENDS = [
        "axes.backends.AxesStandaloneBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]
if WAYS & {"submission", "copy"}:
    # Its ready() puts the ORM's versions in place of the hand-written statements.
    INSTALLED_APPS = [*_base.INSTALLED_APPS, "django_way_paths.DjangoWayPaths"]
