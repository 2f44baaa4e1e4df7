"""Every parent page and download checks the role and the object."""

import logging
import os
import subprocess
import sys

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from enrollment.models import Evidence
from tests.conftest import ROOT
from tests.enrollment.portal.parents.conftest import signed_in

pytestmark = pytest.mark.django_db

PAGES = [
    ("application-detail", []),
    ("application-live", []),
    ("application-lookups", []),
]


@pytest.mark.parametrize(("name", "extra"), PAGES)
def test_another_familys_application_is_a_logged_404(
    name, extra, parent, others_application, caplog
):
    client = signed_in(parent)

    url = reverse(name, args=[others_application.ref, *extra])
    with caplog.at_level(logging.WARNING, logger="enrollment.access"):
        response = client.get(url)

    assert response.status_code == 404
    assert others_application.child_name not in response.content.decode()
    assert [r.getMessage() for r in caplog.records if r.name == "enrollment.access"] == [
        f"access denied: user={parent.pk} role=parent path={url} "
        f"why=application {others_application.ref} not in scope"
    ]


def test_posting_to_another_familys_application_writes_nothing(
    parent, others_application, other_parent
):
    client = signed_in(parent)

    evidence = client.post(
        reverse("application-evidence", args=[others_application.ref]),
        {"fact": "housing", "kind": "commitment", "statement": "属实"},
    )
    recheck = client.post(
        reverse("application-recheck", args=[others_application.ref]), {"reason": "请复核"}
    )

    assert (evidence.status_code, recheck.status_code) == (404, 404)
    assert Evidence.objects.count() == 0
    assert others_application.rechecks.count() == 0


def test_another_familys_evidence_file_cannot_be_downloaded(
    parent, others_application, other_parent
):
    item = Evidence(
        application=others_application,
        fact="housing",
        kind="upload",
        content_type="application/pdf",
        size=8,
        submitted_by=other_parent,
        submitted_at=timezone.now(),
    )
    item.file.save("other.pdf", ContentFile(b"%PDF-1.4"), save=True)
    url = reverse("application-evidence-file", args=[others_application.ref, item.pk])

    assert signed_in(parent).get(url).status_code == 404
    owner = signed_in(other_parent).get(url)
    assert owner.status_code == 200
    assert b"".join(owner.streaming_content) == b"%PDF-1.4"


def test_staff_cannot_open_parent_pages(officer, decided):
    client = signed_in(officer)

    for url in (
        reverse("apply-start"),
        reverse("application-detail", args=[decided.ref]),
        reverse("application-lookups", args=[decided.ref]),
    ):
        assert client.get(url).status_code == 403


def test_the_live_check_answers_parents_only(officer, district):
    response = signed_in(officer).post(
        reverse("apply-check"), {"field": "child_id_number", "child_id_number": "1"}
    )
    anonymous = Client().post(
        reverse("apply-check"), {"field": "child_id_number", "child_id_number": "1"}
    )

    assert response.status_code == 403
    assert anonymous.status_code == 302


def test_anonymous_visitors_are_sent_to_sign_in(decided):
    client = Client()

    for url in (
        reverse("home"),
        reverse("apply-start"),
        reverse("application-detail", args=[decided.ref]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_forms_refuse_a_post_without_csrf_token(decided, parent):
    client = Client(enforce_csrf_checks=True)
    client.force_login(parent, backend="django.contrib.auth.backends.ModelBackend")

    response = client.post(reverse("application-recheck", args=[decided.ref]), {"reason": "x"})

    assert response.status_code == 403
    assert decided.rechecks.count() == 0


def test_pages_carry_the_content_security_policy_and_no_inline_script(parent, decided):
    response = signed_in(parent).get(reverse("application-detail", args=[decided.ref]))

    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    body = response.content.decode()
    assert "<script>" not in body
    assert "<style" not in body
    assert ' style="' not in body
    assert " onclick=" not in body


def test_production_cookies_are_secure_and_http_only():
    # Production settings, loaded as a deployment loads them, in their own process.
    root = ROOT
    env = {"PATH": os.environ.get("PATH", "")}
    for line in (root / "deploy" / "production.env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key] = value
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "s.CSRF_COOKIE_HTTPONLY, s.SECURE_SSL_REDIRECT, s.AXES_FAILURE_LIMIT)"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["True", "True", "True", "True", "True", "5"]


def test_a_server_error_shows_a_plain_page_without_the_request_context(rf):
    from django.views.defaults import server_error

    response = server_error(rf.get("/"))

    body = response.content.decode()
    assert response.status_code == 500
    assert "系统暂时出错" in body
    assert '<html lang="zh-Hans">' in body
