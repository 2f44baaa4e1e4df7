"""The two agencies as two deployments: the registry in its own process on its own database,
enrollment asking it over HTTP with its department key.

The test database holds no registry row at all here: every fact a decision uses crossed the
wire. The same applications verified in-process against the same feeds (in a savepoint that
is rolled back) give the outcomes the HTTP run must match exactly.
"""

import httpx
import pytest
from django.core.management import call_command
from django.db import connection, transaction

from enrollment import gateway as gateway_module
from enrollment.consent_tokens import consent_public_key
from enrollment.models import Application, ApplicationState, VerificationJob
from enrollment.services.policies import policy_install_default
from enrollment.services.verification import verification_run
from registry.contract import RegistryUnavailable
from registry.models import AuditEntry, HukouRecord
from tests.conftest import YEAR
from tests.deployments.support import FaultProxy, RegistryProcess
from tests.enrollment.factories import UserFactory

pytestmark = pytest.mark.deployments

HOUSEHOLDS = 120


@pytest.fixture(scope="module")
def registry_process(tmp_path_factory, django_db_setup, django_db_blocker):
    settings_dict = connection.settings_dict
    test_database_url = (
        f"postgres://{settings_dict['USER'] or 'postgres'}@{settings_dict['HOST'] or '127.0.0.1'}"
        f":{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
    )
    registry = RegistryProcess(
        test_database_url=test_database_url,
        workdir=tmp_path_factory.mktemp("registry"),
        households=HOUSEHOLDS,
        year=YEAR,
    )
    with django_db_blocker.unblock():
        public_key = consent_public_key()
    try:
        registry.start(consent_public_key=public_key, client_id="edu-440604")
        yield registry
    finally:
        registry.stop()


def use_gateway(settings, mode: str, url: str = "", key: str = "", **client) -> None:
    settings.REGISTRY_GATEWAY = mode
    settings.REGISTRY_API_URL = url
    settings.REGISTRY_API_KEY = key
    for name, value in client.items():
        setattr(settings, f"REGISTRY_API_{name.upper()}", value)
    gateway_module._gateway.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_gateway():
    yield
    gateway_module._gateway.cache_clear()


def enrollment_side(district) -> None:
    """What the education bureau loads itself: schools, communities, policy, applications."""
    call_command("import_schools", str(district / "schools.csv"), year=YEAR)
    call_command("import_communities", str(district / "communities.geojson"))
    policy_install_default(admission_year=YEAR)
    call_command("import_applications", str(district / "applications.jsonl"))


def verify_all() -> None:
    """What the verification workers do: run every open job until none is left."""
    while ids := list(
        VerificationJob.objects.filter(status__in=["pending", "waiting_registry"]).values_list(
            "id", flat=True
        )
    ):
        verification_run(job_ids=ids)


def outcomes() -> dict[str, tuple]:
    rows = {}
    for application in Application.objects.order_by("ref"):
        decision = application.decisions.filter(is_current=True).first()
        rows[application.ref] = (
            application.state,
            decision and decision.outcome,
            decision and str(decision.total_points),
            decision and decision.si_months,
            decision and decision.housing_class,
        )
    return rows


@pytest.mark.django_db
def test_submit_verify_decide_through_the_registry_process(registry_process, settings, client):
    district = registry_process.district
    enrollment_side(district)
    # The expectation: the same feeds loaded here and verified in-process (the bureau is
    # registered here by the education_bureau fixture), then rolled back.
    with transaction.atomic():
        call_command("import_registry", str(district))
        use_gateway(settings, "inprocess")
        verify_all()
        expected = outcomes()
        transaction.set_rollback(True)
    assert HukouRecord.objects.count() == 0
    assert set(Application.objects.values_list("state", flat=True)) == {"submitted"}

    use_gateway(settings, "http", registry_process.api_url, registry_process.api_key)
    verify_all()

    got = outcomes()
    assert got == expected
    decided = sum(state == ApplicationState.DECIDED for state, *_ in got.values())
    assert decided > len(got) // 2
    assert not any(
        state in ("submitted", "verifying", "waiting_registry") for state, *_ in got.values()
    )
    # Nothing of the registry was written on enrollment's side; the registry audited each batch.
    assert HukouRecord.objects.count() == 0
    assert AuditEntry.objects.count() == 0
    answered = registry_process.query(
        "SELECT count(*) FROM registry_auditentry WHERE client_id = %s AND outcome = 'answered'",
        ["edu-440604"],
    )[0][0]
    assert answered >= 1

    # "Who looked at my data" reads the registry's log over the wire.
    application = Application.objects.filter(state=ApplicationState.DECIDED).first()
    guardian = application.guardians.order_by("id").first()
    parent = UserFactory(identity=guardian.id_number)
    Application.objects.filter(pk=application.pk).update(applicant=parent)
    client.force_login(parent)
    page = client.get(f"/applications/{application.ref}/lookups/")
    assert page.status_code == 200
    assert page.context["unavailable"] is False
    assert {row["client_id"] for row in page.context["rows"]} == {"edu-440604"}
    assert all(row["answered"] for row in page.context["rows"])


@pytest.mark.django_db
def test_a_registry_that_fails_then_hangs_costs_time_never_an_application(
    registry_process, settings
):
    enrollment_side(registry_process.district)
    proxy = FaultProxy(registry_process.url, hang_seconds=3)
    try:
        use_gateway(
            settings,
            "http",
            proxy.url + "/registry/api/v1",
            registry_process.api_key,
            timeout=1.0,
            retries=1,
            backoff=0.01,
        )
        job_ids = list(VerificationJob.objects.values_list("id", flat=True))
        total = len(job_ids)

        proxy.mode = "error"
        with pytest.raises(RegistryUnavailable):
            verification_run(job_ids=job_ids)
        proxy.mode = "hang"
        with pytest.raises(RegistryUnavailable):
            verification_run(job_ids=job_ids)
        assert Application.objects.filter(state=ApplicationState.WAITING_REGISTRY).count() == total
        assert set(VerificationJob.objects.values_list("attempts", flat=True)) == {2}

        proxy.mode = "ok"
        verification_run(job_ids=job_ids)
    finally:
        proxy.close()

    assert proxy.calls["error"] == 2
    assert proxy.calls["hang"] == 2
    assert proxy.calls["ok"] >= 1
    states = list(Application.objects.values_list("state", flat=True))
    assert len(states) == total
    assert not {"submitted", "verifying", "waiting_registry"} & set(states)
    # Decided once each: one current decision per decided application.
    for application in Application.objects.filter(state=ApplicationState.DECIDED):
        assert application.decisions.filter(is_current=True).count() == 1


def test_the_registry_deployment_serves_stewards_its_own_accounts(registry_process):
    registry_process.manage("shell", "-c", CREATE_STEWARD)
    with httpx.Client(base_url=registry_process.url, follow_redirects=True) as browser:
        login = browser.get("/accounts/login/")
        token = browser.cookies["csrftoken"]
        signed_in = browser.post(
            "/accounts/login/?next=/staff/steward/imports/",
            data={
                "username": "steward1",
                "password": "steward-pass-2027",
                "csrfmiddlewaretoken": token,
            },
            headers={"Referer": registry_process.url + "/accounts/login/"},
        )
        assert login.status_code == 200
        assert signed_in.status_code == 200
        assert signed_in.url.path == "/staff/steward/imports/"
        assert "导入记录" in signed_in.text
        assert browser.get("/staff/steward/uploads/new/").status_code == 200
        assert browser.get("/").url.path == "/staff/steward/imports/"
        # The education bureau's pages are not served by this deployment.
        assert browser.get("/staff/officer/").status_code == 404
        assert browser.get("/api/v1/applications/").status_code == 404


CREATE_STEWARD = (
    "from django.contrib.auth import get_user_model; "
    "get_user_model().objects.create_user('steward1', password='steward-pass-2027')"
)
