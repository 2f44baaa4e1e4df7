"""Django's own way in place of the product's hand-written statements, for the benchmarks that
run one against the other in the same sitting (a settings module for their child processes).

    DJANGO_SETTINGS_MODULE=django_way   (with bench/ on PYTHONPATH)
    DJANGO_WAY_BASE=config.settings.production   the settings extended
    DJANGO_WAY=submission,copy                   the paths replaced

- submission: `submission_store` saves through the ORM in a transaction, as it does on SQLite;
- copy: `copy_insert` is `bulk_create`, as it is on SQLite.

The session store and the account backend were compared the same way on 2026-12-05 and are
Django's own since (docs/benchmarks.md).
"""

import os
from importlib import import_module

_base = import_module(os.environ.get("DJANGO_WAY_BASE", "config.settings.production"))
globals().update({name: value for name, value in vars(_base).items() if name.isupper()})

WAYS = {way for way in os.environ.get("DJANGO_WAY", "").split(",") if way}
_unknown = WAYS - {"submission", "copy"}
if _unknown:
    raise RuntimeError(f"DJANGO_WAY names unknown paths: {sorted(_unknown)}")

# Its ready() puts the ORM's versions in place of the hand-written statements.
INSTALLED_APPS = [*_base.INSTALLED_APPS, "django_way_paths.DjangoWayPaths"]
