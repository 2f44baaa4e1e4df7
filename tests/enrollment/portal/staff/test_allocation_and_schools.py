"""Allocation runs with progress, comparison and publication; schools' admitted lists, their
downloads and 报到; re-checks."""

import csv
import io
import logging
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook
from pytest_django.asserts import assertContains, assertNotContains
from rest_framework.test import APIClient

from enrollment.models import (
    Application,
    AuditLog,
    Decision,
    DownloadLog,
    Offer,
    Recheck,
    Role,
)
from enrollment.portal.staff.officer.forms import REASON_REQUIRED
from enrollment.services.allocation import allocation_run_execute
from enrollment.services.offers import offer_answer
from enrollment.services.rechecks import recheck_request
from tests.enrollment.factories import UserFactory
from tests.enrollment.portal.staff.conftest import BACKEND, login, start_run

pytestmark = pytest.mark.django_db

ADMITTED_HEADER = [
    "school_code",
    "ref",
    "child_name",
    "child_id_number",
    "guardian_names",
    "home_address",
    "total_points",
    "rank",
]


def test_a_run_is_started_polled_while_it_computes_and_shows_its_results(town, officer):
    client = login(officer)

    run = start_run(client, 7)
    polling = client.get(f"/staff/officer/allocation/{run.id}/progress/", HTTP_HX_REQUEST="true")
    allocation_run_execute(run_id=run.id)
    finished = client.get(f"/staff/officer/allocation/{run.id}/progress/", HTTP_HX_REQUEST="true")
    page = client.get(f"/staff/officer/allocation/{run.id}/")

    assert run.status == "pending"
    assertContains(polling, 'hx-trigger="every 2s"')
    assertContains(polling, "0% · 排队等待计算")
    assertContains(
        polling, f'页面会自动更新；也可以<a href="/staff/officer/allocation/{run.id}/">刷新</a>。'
    )
    assert "HX-Refresh" not in polling
    assertNotContains(finished, "hx-trigger")
    assert finished["HX-Refresh"] == "true"
    assert [
        (r["code"], r["capacity"], r["placed"], r["in_catchment"]) for r in page.context["rows"]
    ] == [
        ("S440604001", 2, 2, 2),
        ("S440604002", 1, 0, 0),
    ]
    assertContains(page, "<dt>参与人数</dt><dd>2</dd>", html=True)
    assertContains(page, '<p><span class="badge done">已完成</span> 100%</p>', html=True)
    assertNotContains(page, "· done")
    assertContains(page, '<td data-label="学校">第一小学（S440604001）</td>', html=True)
    assertContains(page, "确认发布")
    assert list(
        AuditLog.objects.exclude(action="identity.verify").values_list("action", "actor", "reason")
    ) == [("allocation.run", officer.id, "round 1, seed 7")]


def test_publishing_refuses_an_empty_reason_and_writes_nothing(town, officer):
    client = login(officer)
    run = start_run(client, 11)
    allocation_run_execute(run_id=run.id)
    audit_rows = AuditLog.objects.count()

    response = client.post(f"/staff/officer/allocation/{run.id}/publish/", {"reason": "  "})

    assert response.status_code == 400
    assertContains(response, str(REASON_REQUIRED), status_code=400)
    run.refresh_from_db()
    assert run.published_at is None
    assert Offer.objects.count() == 0
    assert AuditLog.objects.count() == audit_rows


def test_publishing_makes_offers_and_names_the_officer_and_reason(published, officer):
    assert (published.published_by, published.round) == (officer, 1)
    assert sorted(Offer.objects.values_list("application__ref", "school__code", "status")) == [
        ("A01", "S440604001", "offered"),
        ("A02", "S440604001", "offered"),
    ]
    audit = AuditLog.objects.get(action="allocation.publish")
    assert (audit.actor, audit.reason) == (officer, "区教育局审定通过")


def test_two_runs_are_compared_school_by_school(town, officer):
    client = login(officer)
    first, second = start_run(client, 1), start_run(client, 2)
    allocation_run_execute(run_id=first.id)
    allocation_run_execute(run_id=second.id)

    response = client.get("/staff/officer/allocation/compare/", {"a": first.id, "b": second.id})

    assert response.status_code == 200
    assert response.context["changes"] == []
    assert response.context["rows"] == [
        {"code": "S440604001", "name": "第一小学", "capacity": 2, "a": 2, "b": 2},
        {"code": "S440604002", "name": "第二小学", "capacity": 1, "a": 0, "b": 0},
    ]
    assertContains(response, "两次分配结果相同。")


def test_runs_of_another_district_are_not_found(published, other_officer):
    client = login(other_officer)

    assert client.get(f"/staff/officer/allocation/{published.id}/").status_code == 404
    assert client.get(f"/staff/officer/allocation/{published.id}/progress/").status_code == 404
    refused = client.post(
        f"/staff/officer/allocation/{published.id}/publish/", {"reason": "越权发布"}
    )
    assert refused.status_code == 404
    listing = client.get("/staff/officer/allocation/?year=2027")
    assert list(listing.context["runs"]) == []


def test_school_sees_its_admitted_list_with_id_numbers_masked(published, school_staff, town):
    response = login(school_staff).get("/staff/school/")

    assert response.status_code == 200
    assertContains(response, "第一小学 · 2027 年录取名单")
    assert [
        (r["rank"], r["ref"], r["child_id"], r["points"]) for r in response.context["rows"]
    ] == [
        (1, "A01", "440604********1230", Decimal("109.3")),
        (2, "A02", "440604********1253", Decimal("91.2")),
    ]
    html = response.content.decode()
    for ref in ("A01", "A02"):
        assert town[ref].child_id_number not in html


def test_csv_download_holds_exactly_the_schools_own_rows_and_is_logged(
    published, school_staff, town
):
    response = login(school_staff).get("/staff/school/admitted.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="S440604001-2027-admitted.csv"'
    )
    assert response.content[:3] == b"\xef\xbb\xbf"
    rows = list(csv.reader(io.StringIO(response.content[3:].decode())))
    assert rows == [
        ADMITTED_HEADER,
        ["S440604001", "A01", "孩子01", town["A01"].child_id_number, "家长01", "", "109.3", "1"],
        ["S440604001", "A02", "孩子02", town["A02"].child_id_number, "家长02", "", "91.2", "2"],
    ]
    log = DownloadLog.objects.get()
    assert (log.user, log.school_code, log.format, log.channel, log.allowed, log.rows) == (
        school_staff,
        "S440604001",
        "csv",
        "portal",
        True,
        2,
    )


def test_the_page_csv_opens_in_excel_the_commands_file_with_a_bom_and_no_formula(
    published, school_staff, town, tmp_path
):
    # given: a family whose name would start a formula in a spreadsheet
    Application.objects.filter(ref="A02").update(child_name="＝HYPERLINK(1)")
    out = tmp_path / "admitted.csv"
    call_command(
        "export_admitted", "--year", "2027", "--school", "S440604001", "--format", "csv",
        "--out", str(out), stdout=io.StringIO(),
    )  # fmt: skip

    # when
    page = login(school_staff).get("/staff/school/admitted.csv")
    api = APIClient()
    api.force_authenticate(school_staff)
    machine = api.get("/api/v1/schools/S440604001/admitted.csv", {"year": 2027})

    # then: the page's file is the command's, byte for byte, after a UTF-8 byte-order mark
    assert page.content[:3] == b"\xef\xbb\xbf"
    assert page.content[3:] == out.read_bytes()
    assert not out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert machine.content == out.read_bytes()
    rows = list(csv.reader(io.StringIO(page.content[3:].decode())))
    assert rows[2][:3] == ["S440604001", "A02", "'＝HYPERLINK(1)"]


def test_xlsx_download_holds_the_same_rows(published, school_staff, town):
    response = login(school_staff).get("/staff/school/admitted.xlsx")

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        ADMITTED_HEADER,
        ["S440604001", "A01", "孩子01", town["A01"].child_id_number, "家长01", None, "109.3", 1],
        ["S440604001", "A02", "孩子02", town["A02"].child_id_number, "家长02", None, "91.2", 2],
    ]
    assert DownloadLog.objects.get().format == "xlsx"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_download_is_only_ever_a_get(published, school_staff, fmt):
    client = login(school_staff)

    response = client.post(f"/staff/school/admitted.{fmt}")

    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert DownloadLog.objects.count() == 0


def test_another_schools_staff_get_only_their_own_empty_list(published, town):
    staff = UserFactory(username="school2", role=Role.SCHOOL, school_code="S440604002")

    page = login(staff).get("/staff/school/")
    download = login(staff).get("/staff/school/admitted.csv")

    assert page.context["rows"] == []
    assertContains(page, "录取结果尚未发布。")
    assert list(csv.reader(io.StringIO(download.content.decode("utf-8-sig")))) == [ADMITTED_HEADER]


@pytest.mark.parametrize("role", [Role.OFFICER, Role.PARENT, Role.STEWARD])
def test_other_roles_are_refused_the_download_and_the_refusal_is_logged(published, role, caplog):
    user = UserFactory(username=f"x-{role}", role=role, district_code="440604")

    with caplog.at_level(logging.WARNING, logger="enrollment.access"):
        response = login(user).get("/staff/school/admitted.csv")
        page = login(user).get("/staff/school/")

    assert (response.status_code, page.status_code) == (403, 403)
    log = DownloadLog.objects.get()
    assert (log.user, log.allowed, log.rows, log.format) == (user, False, 0, "csv")
    assert len([r for r in caplog.records if r.name == "enrollment.access"]) == 2


def test_school_marks_enrolment_and_it_is_audited(published, school_staff, parent):
    client = login(school_staff)
    offer_answer(offer=Offer.objects.get(application__ref="A02"), actor=parent, answer="accept")

    response = client.post(
        "/staff/school/enrolment/", {"ref": "A02", "enrolment": "enrolled", "reason": ""}
    )
    stranger = client.post("/staff/school/enrolment/", {"ref": "A03", "enrolment": "enrolled"})

    assert response.status_code == 302
    assert response["Location"] == "/staff/school/?year=2027"
    offer = Offer.objects.get(application__ref="A02")
    assert (offer.enrolment, offer.enrolment_marked_by) == ("enrolled", school_staff)
    assert Offer.objects.get(application__ref="A01").enrolment == ""
    audit = AuditLog.objects.get(action="offer.enrolment")
    assert (audit.actor, audit.data) == (
        school_staff,
        {
            "before": "",
            "after": "enrolled",
            "old": {"enrolment": ""},
            "new": {"enrolment": "enrolled"},
        },
    )
    assert stranger.status_code == 302
    page = client.get("/staff/school/")
    assertContains(page, "本校已公布的录取名单中没有申请编号为 A03 的孩子。")
    assertNotContains(page, "No child with this reference is admitted here.")
    assert page.context["enrolled"] == 1


def test_school_page_offers_enrolment_only_for_accepted_places_and_nothing_preselected(
    published, school_staff, parent
):
    # given: A02's family accepted; A01's family has not answered yet
    offer_answer(offer=Offer.objects.get(application__ref="A02"), actor=parent, answer="accept")
    client = login(school_staff)

    # when
    page = client.get("/staff/school/").content.decode()
    refused = client.post(
        "/staff/school/enrolment/", {"ref": "A01", "enrolment": "enrolled"}, follow=True
    )
    unchosen = client.post("/staff/school/enrolment/", {"ref": "A02", "enrolment": ""}, follow=True)

    # then: one control, on A02's row, with "not recorded yet" chosen
    assert page.count('name="enrolment"') == 1
    assert 'id="enrolment-A02"' in page
    assert 'id="enrolment-A01"' not in page
    assert '<option value="" selected>尚未登记</option>' in page
    assert '<option value="enrolled">已报到</option>' in page
    assert page.count("家长接受学位后才能登记报到") == 1
    assertContains(refused, "家长尚未接受这个学位，只有家长已接受的学位才能登记报到。")
    assertContains(unchosen, "请选择报到情况。")
    assert list(Offer.objects.order_by("application__ref").values_list("enrolment", flat=True)) == [
        "",
        "",
    ]
    assert not AuditLog.objects.filter(action="offer.enrolment").exists()


def test_the_family_sees_the_schools_confirmation_of_enrolment(published, school_staff, parent):
    offer = Offer.objects.get(application__ref="A02")
    offer_answer(offer=offer, actor=parent, answer="accept")
    login(school_staff).post("/staff/school/enrolment/", {"ref": "A02", "enrolment": "enrolled"})
    offer.refresh_from_db()
    day = timezone.localtime(offer.enrolment_marked_at)

    page = login(parent).get("/applications/A02/")
    english = Client(HTTP_ACCEPT_LANGUAGE="en")
    english.force_login(parent, backend=BACKEND)

    assertContains(page, f"学校已确认报到（{day.year}年{day.month}月{day.day}日）。")
    # English month abbreviations follow Django's ("Dec.", "May"): the day and year are exact.
    assert re.search(
        rf"The school confirmed your child's enrolment \(\w+\.? {day.day}, {day.year}\)\.",
        english.get("/applications/A02/").content.decode(),
    )


@pytest.fixture
def recheck(published, town, parent):
    return recheck_request(application=town["A02"], actor=parent, reason="租赁备案时间有误")


def test_recheck_queue_lists_open_rechecks_of_the_district(recheck, officer, other_officer):
    response = login(officer).get("/staff/officer/rechecks/")
    other = login(other_officer).get("/staff/officer/rechecks/")

    assert [r.id for r in response.context["page"].object_list] == [recheck.id]
    assertContains(response, "租赁备案时间有误")
    assert list(other.context["page"].object_list) == []
    assert login(other_officer).get(f"/staff/officer/rechecks/{recheck.id}/").status_code == 404


def test_resolving_a_recheck_refuses_an_empty_reason_and_writes_nothing(recheck, officer):
    before = (Decision.objects.count(), AuditLog.objects.count())

    response = login(officer).post(
        f"/staff/officer/rechecks/{recheck.id}/",
        {"result": "changed", "total_points": "95.0", "reason": ""},
    )

    assert response.status_code == 400
    assertContains(response, str(REASON_REQUIRED), status_code=400)
    recheck.refresh_from_db()
    assert (recheck.status, recheck.resolved_by) == ("open", None)
    assert (Decision.objects.count(), AuditLog.objects.count()) == before


def test_resolving_a_recheck_with_a_change_makes_an_override_decision(recheck, officer, town):
    response = login(officer).post(
        f"/staff/officer/rechecks/{recheck.id}/",
        {"result": "changed", "total_points": "95.0", "reason": "备案起始日期更正"},
    )

    assert response.status_code == 302
    recheck.refresh_from_db()
    assert (recheck.status, recheck.resolved_by, recheck.resolution_reason) == (
        "changed",
        officer,
        "备案起始日期更正",
    )
    decision = town["A02"].decisions.get(is_current=True)
    assert (decision.basis, decision.total_points, decision.decided_by) == (
        "override",
        Decimal("95.0"),
        officer,
    )
    assert Recheck.objects.filter(status="open").count() == 0


def test_a_citywide_run_shows_each_district_only_its_own_schools(town, officer, other_officer):
    from enrollment.services.allocation import allocation_run_create

    run = allocation_run_create(
        admission_year=2027, seed=5, actor=None, district_code="", enqueue=False
    )
    allocation_run_execute(run_id=run.id)

    own = login(officer).get(f"/staff/officer/allocation/{run.id}/")
    other = login(other_officer).get(f"/staff/officer/allocation/{run.id}/")
    listing = login(other_officer).get("/staff/officer/allocation/?year=2027")

    assert [(r["code"], r["placed"]) for r in own.context["rows"]] == [
        ("S440604001", 2),
        ("S440604002", 0),
    ]
    assert [(r["code"], r["placed"]) for r in other.context["rows"]] == [("S440605001", 0)]
    assert (own.context["district_placed"], own.context["can_publish"]) == (2, False)
    assertContains(own, "这是全市统一分配，本页只显示本区学校的结果。")
    assertNotContains(own, "确认发布")
    assertNotContains(other, "第一小学")
    assertNotContains(other, "<dt>参与人数</dt>", html=True)
    assert [r.id for r in listing.context["runs"]] == [run.id]
