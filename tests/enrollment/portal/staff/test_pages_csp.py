"""Every staff page keeps to the CSP (no inline script, no style attribute, no outside asset)
and to valid HTML ids."""

import re

import pytest
from django.utils import timezone

from enrollment.models import Evidence
from enrollment.services.rechecks import recheck_request
from tests.enrollment.portal.staff.conftest import login
from tests.registry.factories import ImportBatchFactory

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)
EVENT_ATTRIBUTE = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
OUTSIDE_ASSET = re.compile(r"""(?:src|href)=["']https?://""", re.IGNORECASE)


def _check(response) -> str:
    assert response.status_code == 200, response.request["PATH_INFO"]
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html)
    assert not STYLE_ATTRIBUTE.search(html)
    assert not EVENT_ATTRIBUTE.search(html)
    assert not OUTSIDE_ASSET.search(html)
    assert "<style" not in html
    # Every label points at one field: no id twice on a page.
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    return html


def test_every_staff_page_keeps_to_the_content_security_policy(
    published,
    town,
    officer,
    parent,
    school_staff,
    steward,
):
    Evidence.objects.create(
        application=town["A03"],
        fact=Evidence.Fact.HUKOU,
        kind=Evidence.Kind.COMMITMENT,
        statement="承诺",
        submitted_by=parent,
        submitted_at=timezone.now(),
    )
    recheck = recheck_request(application=town["A02"], actor=parent, reason="请复核")
    batch = ImportBatchFactory(rejections=[{"line": 2, "reason": "bad"}], rows_rejected=1)
    officer_client = login(officer)
    whatif = officer_client.get("/staff/officer/whatif/")
    pages = [
        (officer_client, "/staff/officer/"),
        (officer_client, "/staff/officer/review/"),
        (officer_client, "/staff/officer/review/A03/"),
        (officer_client, "/staff/officer/review/A01/"),
        (officer_client, "/staff/officer/schools/"),
        (officer_client, "/staff/officer/allocation/"),
        (officer_client, f"/staff/officer/allocation/{published.id}/"),
        (officer_client, "/staff/officer/rechecks/"),
        (officer_client, f"/staff/officer/rechecks/{recheck.id}/"),
        (login(school_staff), "/staff/school/"),
        (login(steward), "/staff/steward/imports/"),
        (login(steward), f"/staff/steward/imports/{batch.id}/"),
        (login(steward), "/staff/steward/audit/"),
    ]
    for client, url in pages:
        response = client.get(url)
        _check(response)
        assert "Content-Security-Policy" in response
    result = officer_client.post(
        "/staff/officer/whatif/", {"document": whatif.context["form"].initial["document"]}
    )
    html = _check(result)
    assert html.count("<svg ") == 3
