"""The HTTP gateway's client: which answers it tries again, how long it waits, and what each
failure becomes on enrollment's side. The registry is a scripted httpx transport here; the
real registry process is in tests/integration/test_two_deployments.py."""

import json
import os

import httpx
import pytest

from enrollment import gateway as gateway_module
from enrollment.gateway import HttpRegistryGateway, LookupRefused, RegistryUnavailable
from registry.contract import LookupRecord

LOOKUP = {
    "at": "2027-05-01T09:00:00+08:00",
    "client_id": "edu-440604",
    "purpose": "enrollment-2027",
    "consent_reference": "c-1",
    "outcome": "answered",
    "client_name": "",
}


class Script:
    """Answers the gateway's calls in turn: an int is that status with a JSON body, an
    exception class is raised as the transport's failure."""

    def __init__(self, *steps, body=None, headers=None):
        self.steps = list(steps)
        self.body = body if body is not None else {"lookups": [LOOKUP]}
        self.headers = headers or {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0)
        if isinstance(step, type) and issubclass(step, Exception):
            raise step("scripted failure", request=request)
        if step >= 400:
            body = {"message": "scripted", "code": f"code_{step}", "extra": {}}
            return httpx.Response(step, json=body, headers=self.headers)
        return httpx.Response(step, json=self.body)


@pytest.fixture
def waits(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    return slept


def gateway_for(script: Script, *, retries: int = 3, backoff: float = 0.5):
    return HttpRegistryGateway(
        "http://registry.test/registry/api/v1/",
        "key-1",
        retries=retries,
        backoff=backoff,
        transport=httpx.MockTransport(script),
    )


def test_a_503_then_an_answer_is_tried_again_with_doubling_waits(waits):
    script = Script(503, 502, 200)

    records = gateway_for(script).lookups_about(id_numbers=[])

    assert records == [LookupRecord(**LOOKUP)]
    assert len(script.requests) == 3
    assert waits == [0.5, 1.0]
    request = script.requests[-1]
    assert request.url == "http://registry.test/registry/api/v1/audit/lookups/"
    assert request.headers["Authorization"] == "Api-Key key-1"
    assert json.loads(request.content) == {"id_numbers": []}


def test_connection_failures_and_timeouts_are_tried_again(waits):
    script = Script(httpx.ConnectError, httpx.ReadTimeout, 200)

    assert gateway_for(script).lookups_about(id_numbers=[]) == [LookupRecord(**LOOKUP)]
    assert len(script.requests) == 3
    assert waits == [0.5, 1.0]


def test_after_the_last_attempt_the_registry_is_unavailable(waits):
    script = Script(504, 504, 504, 504)

    with pytest.raises(RegistryUnavailable, match=r"HTTP 504 \(4 attempts\)"):
        gateway_for(script).lookups_about(id_numbers=[])
    assert len(script.requests) == 4
    assert waits == [0.5, 1.0, 2.0]


def test_the_registrys_retry_after_is_followed_up_to_a_cap(waits):
    script = Script(503, 503, 200, headers={"Retry-After": "7"})
    script_long = Script(503, 200, headers={"Retry-After": "3600"})

    gateway_for(script).lookups_about(id_numbers=[])
    gateway_for(script_long).lookups_about(id_numbers=[])

    assert waits == [7.0, 7.0, HttpRegistryGateway.MAX_WAIT]


@pytest.mark.parametrize("status", [400, 403])
def test_a_refusal_is_never_tried_again_and_keeps_its_code(waits, status):
    script = Script(status, 200)

    with pytest.raises(LookupRefused) as refused:
        gateway_for(script).lookups_about(id_numbers=[])
    assert refused.value.code == f"code_{status}"
    assert len(script.requests) == 1
    assert waits == []


@pytest.mark.parametrize("status", [401, 404, 429])
def test_other_client_errors_are_not_tried_again_and_leave_the_jobs_waiting(waits, status):
    script = Script(status, 200)

    with pytest.raises(RegistryUnavailable, match=f"HTTP {status}: code_{status}"):
        gateway_for(script).lookups_about(id_numbers=[])
    assert len(script.requests) == 1
    assert waits == []


def test_a_refusal_without_a_json_body_still_refuses(waits):
    def answer(request):
        return httpx.Response(403, content=b"<html>forbidden</html>")

    gateway = HttpRegistryGateway("http://r", "k", transport=httpx.MockTransport(answer))
    with pytest.raises(LookupRefused) as refused:
        gateway.lookups_about(id_numbers=[])
    assert refused.value.code == "refused"


def test_one_pooled_client_per_process(settings, monkeypatch):
    settings.REGISTRY_GATEWAY = "http"
    settings.REGISTRY_API_URL = "http://registry.test/registry/api/v1"
    gateway_module._gateway.cache_clear()
    try:
        first = gateway_module.get_gateway()
        assert gateway_module.get_gateway() is first
        assert isinstance(first, HttpRegistryGateway)
        # A forked worker child gets a client of its own, never its parent's connections.
        monkeypatch.setattr(os, "getpid", lambda: -1)
        child = gateway_module.get_gateway()
        assert child is not first
        assert child.client is not first.client
    finally:
        gateway_module._gateway.cache_clear()
