"""Enrollment's only way into the registry (DESIGN.md: the border between the two apps).

Three questions cross it: `verify_families` (the policy's facts about a family),
`verify_identities` (does a parent's name match their ID number's hukou record: yes or no)
and `lookups_about` (who looked at these people's data).

`InProcessRegistryGateway` calls the registry's service in this process; `HttpRegistryGateway`
calls the registry's HTTP API when the registry runs as its own deployment. Both take and give
the same `registry.contract` types, so the rest of enrollment cannot tell them apart.
"""

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
    """The registry's verification API over HTTP, with the department client's API key."""

    def __init__(self, base_url: str, api_key: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def _post(self, path: str, payload: dict, context: LookupContext | None = None) -> dict:
        import json
        import urllib.error
        import urllib.request

        headers = {"Content-Type": "application/json", "Authorization": f"Api-Key {self.api_key}"}
        if context is not None:
            headers.update(
                {
                    "X-Road-Client": context.client_id,
                    "X-Road-Purpose": context.purpose,
                }
            )
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's setting
            self.base_url + path, data=json.dumps(payload).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            body = json.loads(error.read() or b"{}")
            if error.code in (400, 403):
                raise LookupRefused(body.get("code", "refused"), body.get("message", "")) from None
            raise RegistryUnavailable(f"registry answered HTTP {error.code}") from None
        except (urllib.error.URLError, TimeoutError) as error:
            raise RegistryUnavailable(f"registry unreachable: {error}") from None

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


@cache
def get_gateway() -> RegistryGateway:
    if settings.REGISTRY_GATEWAY == "http":
        return HttpRegistryGateway(settings.REGISTRY_API_URL, settings.REGISTRY_API_KEY)
    return InProcessRegistryGateway()
