"""Schemathesis over the published OpenAPI schema, in-process against the WSGI app.

Every operation gets a bounded number of generated requests (valid and invalid), each sent as a
parent, an officer and a school's staff; none may end in a server error. Bounded so that the
whole file stays well under a minute.
"""

import base64

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings

from tests.security.conftest import PASSWORD

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = 3


def basic(user) -> dict:
    token = base64.b64encode(f"{user.username}:{PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def api_schema(world, settings):
    # Generated requests never sign in with a wrong password, but keep the lockout out of it.
    settings.AXES_ENABLED = False
    # As Django's test client does: the test's transaction holds the connection, so the WSGI
    # handler must not close it at the end of each request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def test_no_operation_answers_with_a_server_error(api_schema, world):
    server_errors, operations, calls = [], 0, 0
    users = (world.parent, world.officer, world.school)

    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case):
            nonlocal calls
            for user in users:
                response = case.call(headers=basic(user))
                calls += 1
                if response.status_code >= 500:
                    server_errors.append(
                        f"{case.method} {case.formatted_path} as {user.role}: "
                        f"{response.status_code} {response.text[:200]}"
                    )

        fuzz()

    assert server_errors == []
    assert operations >= 10
    assert calls >= operations * len(users)


def test_the_schema_lists_the_product_operations(api_schema):
    paths = set(api_schema.raw_schema["paths"])

    assert {"/api/v1/applications/", "/api/v1/me/data/"} <= paths
