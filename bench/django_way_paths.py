"""The ORM's versions of the product's hand-written statements (their own branches for
SQLite), put in their place by `apply` or, in a process with bench/django_way.py's settings,
by this app's ready()."""

import os

from django.apps import AppConfig

_ORIGINAL: dict[str, object] = {}


def orm_submission_store(application, dependents, job) -> None:
    """`submission_store` as the ORM does it: each row saved, in a transaction."""
    from django.db import transaction

    with transaction.atomic():
        application.save(force_insert=True)
        for row in [*dependents, job]:
            row.application = application
            row.save(force_insert=True)


def orm_copy_insert(model, objects) -> None:
    """`copy_insert` as the ORM does it: bulk_create."""
    model.objects.bulk_create(objects)


def apply(ways) -> None:
    """Django's way for the paths named in `ways` ("submission", "copy"), the product's for
    the others; may be called again with other ways."""
    from enrollment.services import applications, verification

    if not _ORIGINAL:
        _ORIGINAL["submission_store"] = applications.submission_store
        _ORIGINAL["copy_insert"] = verification.copy_insert
    applications.submission_store = (
        orm_submission_store if "submission" in ways else _ORIGINAL["submission_store"]
    )
    copy_insert = orm_copy_insert if "copy" in ways else _ORIGINAL["copy_insert"]
    applications.copy_insert = copy_insert
    verification.copy_insert = copy_insert


class DjangoWayPaths(AppConfig):
    name = "django_way_paths"
    label = "django_way_paths"

    def ready(self):
        apply({way for way in os.environ.get("DJANGO_WAY", "").split(",") if way})
