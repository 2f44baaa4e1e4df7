"""Fixtures shared by the whole suite.

The suite runs on PostgreSQL and Redis (config.settings.test). Tests marked `worker` start a
real Celery worker process; a missing Redis or PostgreSQL fails them, it never skips them.
"""

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import translation
from rest_framework.test import APIClient

from config.celery_app import app as celery_app
from enrollment.consent_tokens import consent_public_key
from enrollment.models import Community, Role
from enrollment.services.policies import policy_install_default
from enrollment.services.reference import reference_cache_clear
from registry import idnumber
from registry.models import DepartmentClient
from registry.services.clients import department_client_create
from tests.enrollment.factories import SchoolFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent
YEAR = 2027
CUTOFF = date(2027, 3, 31)
HOME = "440604010003"
# The `parent` fixture's verified identity: the mother the tests name as the guardian.
PARENT_ID_NUMBER = idnumber.make("440604", date(1990, 7, 1), 222)


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the site's default language. A request through the test client
    leaves its language active in the thread (LocaleMiddleware activates it, nothing
    deactivates it), so an English page in one test made the next test's words English."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def media(settings, tmp_path):
    """Files a test stores (handed-in feeds, evidence) go to its own folder, not media/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def audit_anchor(settings, tmp_path):
    """The registry's audit anchors go to the test's own file: anchors left by another test
    would not match this test's log."""
    settings.AUDIT_ANCHOR_PATH = tmp_path / "audit-anchor.log"
    return settings.AUDIT_ANCHOR_PATH


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with no request counted against the API throttles."""
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_reference_cache():
    """Each test starts with an empty reference cache: rows a rolled-back test cached are gone."""
    reference_cache_clear()
    yield
    reference_cache_clear()


@dataclass(frozen=True)
class RegisteredClient:
    client: DepartmentClient
    api_key: str


@pytest.fixture(autouse=True)
def education_bureau(request) -> RegisteredClient | None:
    """Every test with a database starts with the education bureau registered with the
    registry, as `demo_setup` and a deployment register it: REGISTRY_CLIENT_ID, with the
    public half of the development CONSENT_SIGNING_KEY, so the consent tokens that enrollment
    signs are accepted. Tests that need another registration change or delete this one."""
    uses_db = request.node.get_closest_marker("django_db") is not None or (
        "_django_db_helper" in request.fixturenames
    )
    if not uses_db:
        return None
    request.getfixturevalue("_django_db_helper")
    client, key = department_client_create(
        client_id=settings.REGISTRY_CLIENT_ID,
        name="禅城区教育局",
        scopes=["verify", "audit", "identity", "plan"],
        consent_public_key=consent_public_key(),
    )
    return RegisteredClient(client=client, api_key=key)


@pytest.fixture
def policy(db):
    return policy_install_default(admission_year=YEAR)


@pytest.fixture
def community(db):
    return Community.objects.create(code=HOME, district_code="440604", name="示范社区")


@pytest.fixture
def school(db, community):
    return SchoolFactory(code="S440604001", catchment_communities=[HOME], capacity=2)


@pytest.fixture
def district(policy, community, school):
    """A district ready to take applications: a policy, a community and a school."""
    return {"policy": policy, "community": community, "school": school}


@pytest.fixture
def parent(db):
    """A parent whose account is bound to PARENT_ID_NUMBER, so they may apply naming it."""
    return UserFactory(role=Role.PARENT, username="parent1", identity=PARENT_ID_NUMBER)


@pytest.fixture
def officer(db):
    return UserFactory(role=Role.OFFICER, username="officer1", district_code="440604")


@pytest.fixture
def school_staff(db, school):
    return UserFactory(role=Role.SCHOOL, username="school1", school_code=school.code)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def api():
    return client_for


def _wait_for_worker(process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Celery worker exited early:\n{log.read_text()[-3000:]}")
        if "ready." in log.read_text():
            return
        time.sleep(0.2)
    raise RuntimeError(
        f"the Celery worker did not start within {timeout}s:\n{log.read_text()[-3000:]}"
    )


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """A real `celery worker` process on the test database, with Redis as the broker.

    Tasks sent by the test go through Redis to this process; nothing runs in-process.
    """
    db = connection.settings_dict
    database_url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    broker = settings.CELERY_BROKER_URL
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=3)  # fails loudly when Redis is not there
        for queue in ("default", "verification", "allocation", "exports"):
            conn.default_channel.queue_purge(queue)
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                "default,verification,allocation,exports,registry",
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        _wait_for_worker(process, log)
        yield process
    finally:
        celery_app.conf.task_always_eager = previous
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        connection.close()


def wait_until(predicate, timeout: float = 60, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
