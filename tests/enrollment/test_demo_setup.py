"""`make demo`'s builder runs the whole pipeline through the product's own commands."""

import io

import pytest
from django.core.management import CommandError, call_command

from enrollment.consent_tokens import consent_public_key
from enrollment.models import AllocationRun, Application, Community, Decision, Role, User
from registry.models import AuditEntry, DepartmentClient

# Committed for real, so that submissions enqueue their verification after commit as in a demo.
pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_setup_builds_a_decided_allocated_district_with_a_login_for_each_role(
    settings, tmp_path
):
    settings.DEBUG = True
    out = io.StringIO()
    # A fresh demo database: the registry knows no department until the demo registers one.
    DepartmentClient.objects.all().delete()

    call_command(
        "demo_setup",
        dir=str(tmp_path),
        households=60,
        year=2027,
        seed=7,
        url="http://127.0.0.1:8765/",
        stdout=out,
    )

    roles = dict(User.objects.values_list("username", "role"))
    assert roles == {
        "parent": Role.PARENT,
        "officer": Role.OFFICER,
        "school": Role.SCHOOL,
        "steward": Role.STEWARD,
    }
    parent = User.objects.get(username="parent")
    assert parent.applications.count() == 1
    # The demo parent verified their identity as the guardian who consented, so they may apply.
    own = parent.applications.get()
    assert parent.verified_id_number == own.consent.given_by_id_number
    assert parent.identity_verifications.get().status == "verified"
    assert (
        AuditEntry.objects.filter(
            purpose="account-identity-verification", outcome="answered"
        ).count()
        == 1
    )
    applications = Application.objects.count()
    assert applications == sum(1 for _ in (tmp_path / "applications.jsonl").open())
    # Every lookup carried a consent token the registry accepted: each application decided.
    assert Decision.objects.filter(is_current=True).count() == applications
    bureau = DepartmentClient.objects.get()
    assert (bureau.client_id, bureau.consent_public_keys) == (
        settings.REGISTRY_CLIENT_ID,
        [consent_public_key()],
    )
    # The bureau may ask for the demand forecast; the map has every community's outline.
    assert bureau.scopes == ["verify", "audit", "identity", "plan"]
    communities = (tmp_path / "communities.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert Community.objects.filter(shape__type="Polygon").count() == len(communities) > 0
    run = AllocationRun.objects.get()
    assert (run.seed, run.district_code, run.published_at is not None) == (7, "440604", True)
    assert "Demo ready at http://127.0.0.1:8765/  — logins:" in out.getvalue()
    assert "parent   parent     password demo-pass-2027" in out.getvalue()


def test_demo_setup_refuses_to_create_known_logins_without_debug(settings, tmp_path):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="runs only with DEBUG on"):
        call_command("demo_setup", dir=str(tmp_path), households=60)

    assert User.objects.count() == 0
    assert not any(tmp_path.iterdir())
