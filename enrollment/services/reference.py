"""The reference rows every submission reads: communities, schools and active policies.

They change a few times a year (a schools file, a new policy version), while on opening day
every submission needs them: reading them from the database each time cost a third of a
submission's web CPU. So each process keeps the rows it has read for
`REFERENCE_CACHE_SECONDS`:

- a row saved or deleted in this process clears the cache, at once and again at commit (so a
  request that read the old row in between cannot keep it);
- other processes see a change within `REFERENCE_CACHE_SECONDS`;
- only rows that exist are kept: a community or school created a moment ago is found at once.

The cached objects are shared between requests: read them, never change them.
"""

import time
from collections.abc import Callable, Hashable, Iterable

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from enrollment.models import Community, PolicyDocument, School
from enrollment.policy import Policy


class ReferenceCache:
    """Rows by key, each kept for `REFERENCE_CACHE_SECONDS` after it was read."""

    def __init__(self, fetch: Callable[[set], dict]):
        self._fetch = fetch
        self._rows: dict[Hashable, tuple[float, object]] = {}

    def get_many(self, keys: Iterable[Hashable]) -> dict:
        now = time.monotonic()
        found, missing = {}, set()
        for key in keys:
            entry = self._rows.get(key)
            if entry is not None and entry[0] > now:
                found[key] = entry[1]
            else:
                missing.add(key)
        if missing:
            fetched = self._fetch(missing)
            expires = now + settings.REFERENCE_CACHE_SECONDS
            for key, value in fetched.items():
                self._rows[key] = (expires, value)
            found.update(fetched)
        return found

    def clear(self) -> None:
        self._rows = {}


def _communities(codes: set[str]) -> dict[str, Community]:
    return {c.code: c for c in Community.objects.filter(code__in=codes)}


def _schools(keys: set[tuple[str, int]]) -> dict[tuple[str, int], School]:
    codes = {code for code, _ in keys}
    years = {year for _, year in keys}
    return {
        (school.code, school.admission_year): school
        for school in School.objects.filter(code__in=codes, admission_year__in=years)
        if (school.code, school.admission_year) in keys
    }


def _policies(keys: set[tuple[str, int, str]]) -> dict[tuple[str, int, str], Policy]:
    """The active policy's rules by (district, admission year, grade)."""
    documents = PolicyDocument.objects.filter(
        district_code__in={district for district, _, _ in keys},
        admission_year__in={year for _, year, _ in keys},
        grade__in={grade for _, _, grade in keys},
        is_active=True,
    ).only("district_code", "admission_year", "grade", "document")
    return {
        key: Policy(document.document)
        for document in documents
        if (key := (document.district_code, document.admission_year, document.grade)) in keys
    }


communities = ReferenceCache(_communities)
schools = ReferenceCache(_schools)
policies = ReferenceCache(_policies)


def reference_cache_clear() -> None:
    for cache in (communities, schools, policies):
        cache.clear()


def _changed(**kwargs) -> None:
    reference_cache_clear()
    transaction.on_commit(reference_cache_clear, robust=True)


for _model in (Community, School, PolicyDocument):
    post_save.connect(_changed, sender=_model, dispatch_uid=f"reference-cache-{_model.__name__}")
    post_delete.connect(_changed, sender=_model, dispatch_uid=f"reference-delete-{_model.__name__}")
