"""Enrollment's only way into the registry (DESIGN.md: the border between the two apps).

Three questions cross it: `verify_families` (the policy's facts about a family),
`verify_identities` (does a parent's name match their ID number's hukou record: yes or no)
and `lookups_about` (who looked at these people's data).

`InProcessRegistryGateway` calls the registry's service in this process; `HttpRegistryGateway`
calls the registry's HTTP API when the registry runs as its own deployment. Both take and give
the same `registry.contract` types, so the rest of enrollment cannot tell them apart.
"""

import os
from collections.abc import Sequence
from dataclasses import replace
from functools import cache
from typing import Protocol

from django.conf import settings

from registry import idnumber
from registry.contract import (
    CohortAnswer,
    CohortQuestion,
    FamilyAnswer,
    FamilyQuestion,
    IdentityAnswer,
    IdentityQuestion,
    LookupContext,
    LookupRecord,
    LookupRefused,
    RegistryUnavailable,
    from_json,
    to_json,
)

__all__ = [
    "LookupRefused",
    "RegistryGateway",
    "RegistryUnavailable",
    "get_gateway",
]


def _normalised(questions: Sequence[FamilyQuestion]) -> list[FamilyQuestion]:
    """The questions with their ID numbers in the one stored form, so that both gateways ask
    about exactly the numbers the registry keeps (the HTTP API refuses any other form)."""
    return [
        replace(
            q,
            child_id_number=idnumber.normalise(q.child_id_number),
            guardian_id_numbers=tuple(idnumber.normalise(g) for g in q.guardian_id_numbers),
        )
        for q in questions
    ]


class RegistryGateway(Protocol):
    def verify_families(
        self, *, questions: Sequence[FamilyQuestion], context: LookupContext
    ) -> list[FamilyAnswer]: ...

    def verify_identities(
        self, *, questions: Sequence[IdentityQuestion], context: LookupContext
    ) -> list[IdentityAnswer]: ...

    def lookups_about(self, *, id_numbers: Sequence[str]) -> list[LookupRecord]: ...

    def cohort_counts(
        self, *, question: CohortQuestion, context: LookupContext
    ) -> CohortAnswer: ...


class InProcessRegistryGateway:
    def verify_families(self, *, questions, context):
        from django.db import DatabaseError

        from registry.services.verification import verify_families

        try:
            return verify_families(questions=_normalised(questions), context=context)
        except DatabaseError as error:
            raise RegistryUnavailable(f"registry database error: {type(error).__name__}") from error

    def verify_identities(self, *, questions, context):
        from django.db import DatabaseError

        from registry.services.identity import verify_identities

        try:
            return verify_identities(questions=questions, context=context)
        except DatabaseError as error:
            raise RegistryUnavailable(f"registry database error: {type(error).__name__}") from error

    def lookups_about(self, *, id_numbers):
        from registry.selectors import lookups_about

        return lookups_about(id_numbers=[idnumber.normalise(n) for n in id_numbers])

    def cohort_counts(self, *, question, context):
        from django.db import DatabaseError

        from registry.services.cohorts import cohort_counts

        try:
            return cohort_counts(question=question, context=context)
        except DatabaseError as error:
            raise RegistryUnavailable(f"registry database error: {type(error).__name__}") from error


class HttpRegistryGateway:
    """The registry's API over HTTP, as the department client of REGISTRY_API_KEY.

    One pooled `httpx` client per process (connections are kept and reused across batches).
    A 502, 503 or 504 and a connection that failed or timed out are tried again up to
    `retries` times, waiting `backoff`, twice that, ... (or the registry's Retry-After, capped),
    then give up as RegistryUnavailable, which the verification job retries later. A 4xx is
    never tried again: a refusal (400, 403) keeps the registry's code as LookupRefused; a
    rejected key (401) or a throttle (429) is the registry being unavailable to this client.

    Retrying a question is safe: the registry answers from its records and audits each
    answered call, so a retried batch is at worst audited twice, never answered differently.
    """

    RETRY_STATUSES = frozenset({502, 503, 504})
    MAX_WAIT = 30.0

    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        transport=None,
    ):
        import httpx

        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self.client = httpx.Client(
            headers={"Authorization": f"Api-Key {api_key}"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
            transport=transport,
        )

    def _wait(self, attempt: int, response) -> float:
        after = response.headers.get("Retry-After", "") if response is not None else ""
        if after.isdigit():
            return min(float(after), self.MAX_WAIT)
        return min(self.backoff * 2**attempt, self.MAX_WAIT)

    def _post(self, path: str, payload: dict, context: LookupContext | None = None) -> dict:
        import time

        import httpx

        headers = {}
        if context is not None:
            headers = {"X-Road-Client": context.client_id, "X-Road-Purpose": context.purpose}
        for attempt in range(self.retries + 1):
            response = None
            try:
                response = self.client.post(self.base_url + path, json=payload, headers=headers)
            except httpx.TransportError as error:
                failure = f"registry unreachable: {type(error).__name__}"
            else:
                if response.status_code < 400:
                    return response.json()
                if response.status_code not in self.RETRY_STATUSES:
                    raise self._refusal(response)
                failure = f"registry answered HTTP {response.status_code}"
            if attempt < self.retries:
                time.sleep(self._wait(attempt, response))
        raise RegistryUnavailable(f"{failure} ({self.retries + 1} attempts)")

    @staticmethod
    def _refusal(response) -> Exception:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if response.status_code in (400, 403):
            return LookupRefused(str(body.get("code", "refused")), str(body.get("message", "")))
        return RegistryUnavailable(
            f"registry answered HTTP {response.status_code}: {body.get('code', 'error')}"
        )

    def verify_families(self, *, questions, context):
        body = self._post(
            "/verify/families/",
            {"questions": [to_json(q) for q in _normalised(questions)]},
            context,
        )
        return [from_json(FamilyAnswer, answer) for answer in body["answers"]]

    def verify_identities(self, *, questions, context):
        body = self._post(
            "/verify/identities/", {"questions": [to_json(q) for q in questions]}, context
        )
        return [from_json(IdentityAnswer, answer) for answer in body["answers"]]

    def lookups_about(self, *, id_numbers):
        body = self._post(
            "/audit/lookups/", {"id_numbers": [idnumber.normalise(n) for n in id_numbers]}
        )
        return [LookupRecord(**row) for row in body["lookups"]]

    def cohort_counts(self, *, question, context):
        body = self._post("/planning/cohorts/", to_json(question), context)
        return from_json(CohortAnswer, body)


def get_gateway() -> RegistryGateway:
    """This process's gateway. Cached per process id: a Celery worker forks its children after
    start-up, and a pooled client's connections must not be shared across a fork."""
    return _gateway(os.getpid())


@cache
def _gateway(pid: int) -> RegistryGateway:
    if settings.REGISTRY_GATEWAY == "http":
        return HttpRegistryGateway(
            settings.REGISTRY_API_URL,
            settings.REGISTRY_API_KEY,
            timeout=settings.REGISTRY_API_TIMEOUT,
            retries=settings.REGISTRY_API_RETRIES,
            backoff=settings.REGISTRY_API_BACKOFF,
        )
    return InProcessRegistryGateway()
