"""An officer resolving a review case and publishing an allocation; a school downloading its
admitted list. Real browser, the staff pages, the services behind them."""

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from enrollment.models import AllocationRun, Application, DownloadLog, Evidence, Role
from enrollment.services.applications import ApplicationInput, PersonInput, application_submit
from enrollment.services.verification import verification_run
from registry import idnumber
from tests.conftest import HOME, YEAR
from tests.enrollment.factories import UserFactory
from tests.registry.factories import HukouRecordFactory, PropertyRecordFactory, related_family

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "demo-pass-2027"  # the factories' password
DECIDED_CHILD = idnumber.make("440604", date(2020, 3, 15), 123)
DECIDED_MOTHER = idnumber.make("440604", date(1990, 7, 1), 222)
REVIEW_CHILD = idnumber.make("440604", date(2020, 6, 6), 345)
REVIEW_MOTHER = idnumber.make("440604", date(1991, 2, 2), 456)


def _submit(*, parent, child, mother, name, ref) -> Application:
    application = application_submit(
        data=ApplicationInput(
            admission_year=YEAR,
            ref=ref,
            child=PersonInput(name=name, id_number=child),
            guardians=[PersonInput(name="李美玲", id_number=mother, relation="mother")],
            home_community_code=HOME,
            preferences=["S440604001"],
            consent_given_by=mother,
        ),
        actor=parent,
        enqueue=False,
    )
    verification_run(job_ids=list(application.verification_jobs.values_list("id", flat=True)))
    application.refresh_from_db()
    return application


@pytest.fixture
def families(district):
    """One family decided (109.3 points); one whose mother the registry does not show in the
    child's household (DOMAIN.md example 8)."""
    parent = UserFactory(role=Role.PARENT, username="13900000003", identity=REVIEW_MOTHER)
    related_family(DECIDED_CHILD, DECIDED_MOTHER, registered_on=date(2019, 6, 15))
    PropertyRecordFactory(owner_id_number=DECIDED_MOTHER, share_percent=Decimal("100"))
    HukouRecordFactory(id_number=REVIEW_CHILD, registered_on=date(2020, 7, 1))
    HukouRecordFactory(id_number=REVIEW_MOTHER, household_no="H-REVIEW-MOTHER")
    PropertyRecordFactory(owner_id_number=REVIEW_MOTHER, share_percent=Decimal("100"))
    decided = _submit(
        parent=None, child=DECIDED_CHILD, mother=DECIDED_MOTHER, name="陈小明", ref="A00000000DEC"
    )
    review = _submit(
        parent=parent, child=REVIEW_CHILD, mother=REVIEW_MOTHER, name="王小红", ref="A00000000REV"
    )
    assert (decided.state, review.state) == ("decided", "needs_review")
    return {"decided": decided, "review": review, "parent": parent}


def _sign_in(watched, username: str) -> None:
    watched.goto("/accounts/login/")
    watched.page.fill("#id_username", username)
    watched.page.fill("#id_password", PASSWORD)
    watched.page.get_by_role("button", name="登录").click()


def test_officer_resolves_a_review_case_and_publishes_the_allocation(
    new_page, families, officer, tmp_path
):
    # The family uploads the birth certificate where the registry cannot relate the mother.
    family = new_page()
    _sign_in(family, families["parent"].username)
    family.page.get_by_role("link", name="王小红").click()
    # Until her relation is confirmed she sees her submission only, and what to bring.
    expect(family.page.locator("#live")).to_contain_text("数据平台没有查到您本人与孩子的监护关系")
    family.screenshot("status-needs-review")
    booklet = tmp_path / "birth-certificate.png"
    booklet.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    family.page.select_option("#id_fact", "relation")
    family.page.set_input_files("#id_file", str(booklet))
    family.page.get_by_role("button", name="提交材料").click()
    expect(family.page.locator(".messages")).to_contain_text("材料已提交")
    evidence = Evidence.objects.get()
    assert (evidence.kind, evidence.content_type) == ("upload", "image/png")

    watched = new_page()
    page = watched.page
    _sign_in(watched, officer.username)
    expect(page.locator("h1")).to_be_visible()
    assert "/staff/officer/" in page.url
    watched.screenshot("officer-dashboard")

    # The review queue, then the case.
    page.get_by_role("link", name="审核队列").click()
    page.get_by_role("link", name=families["review"].ref).click()
    expect(page.locator("h1")).to_contain_text(families["review"].ref)
    watched.screenshot("officer-case")

    # Accept the birth certificate as showing the mother: the registry is asked again.
    form = page.locator("form.action-form", has=page.locator("input[name=evidence]"))
    form.locator("select[name=verdict]").select_option("accept")
    form.locator("select[name=guardian_position]").select_option("1")
    form.locator("select[name=relation_document]").select_option("birth_certificate")
    form.locator("[name=reason]").fill("出生医学证明载明母亲")
    form.get_by_role("button", name="提交审核结论").click()
    expect(page.locator(".staff-messages")).to_be_visible()
    review = Application.objects.get(pk=families["review"].pk)
    assert review.state == "decided"
    decision = review.decisions.get(is_current=True)
    # Her flat, now looked up: D + OWN = 100; 2020-07-01 to 2027-03-31 is 80 months: 8.0.
    assert (decision.outcome, decision.basis, str(decision.total_points)) == (
        "eligible",
        "computed",
        "108.0",
    )

    # Run the allocation, then publish it.
    page.get_by_role("link", name="录取分配").click()
    page.fill("#id_seed", "2027")
    page.get_by_role("button", name="开始分配").click()
    expect(page.locator("#run-progress")).to_contain_text("100%")
    watched.screenshot("officer-run")
    page.locator("form.action-form [name=reason]").fill("第一轮录取结果，经局务会审定")
    page.get_by_role("button", name="确认发布").click()
    run = AllocationRun.objects.get()
    assert run.published_at is not None
    assert run.published_by == officer
    assert run.placed_count == 2


HOUSING_CHILD = idnumber.make("440604", date(2020, 5, 5), 567)
HOUSING_MOTHER = idnumber.make("440604", date(1990, 3, 3), 678)


def test_officer_accepts_housing_and_the_case_is_scored_with_its_points(
    new_page, district, officer
):
    # given: district hukou since 2020-06-01, the mother in the child's household, and no
    # housing the registry knows of in the home community: housing not verified
    related_family(HOUSING_CHILD, HOUSING_MOTHER, registered_on=date(2020, 6, 1))
    case = _submit(
        parent=None, child=HOUSING_CHILD, mother=HOUSING_MOTHER, name="周小雨", ref="A0000000HOUS"
    )
    assert case.state == "needs_review"
    watched = new_page()
    page = watched.page
    _sign_in(watched, officer.username)
    watched.goto(f"/staff/officer/review/{case.ref}/")
    facts = page.locator("dl.facts").first
    expect(facts).to_contain_text("住房未能核实（HOUSING_NOT_VERIFIED）")
    # The only hand-made outcome on offer is "not eligible", and the page says why.
    expect(page.locator("#override-h")).to_have_text("判定为不符合条件")
    expect(page.locator("form.override-form select")).to_have_count(0)

    # when: the officer accepts the family's housing, seen at the counter, with a reason
    form = page.locator("form.finding-form")
    form.locator("select[name=fact]").select_option("housing")
    form.locator("[name=reason]").fill("窗口查验租赁合同原件")
    form.get_by_role("button", name="认定并重新计分").click()

    # then: scored as D + RENT = 90, 81 months since 2020-06-01 = 8.1: 98.1, eligible
    expect(page.locator(".staff-messages")).to_contain_text("已认定事实并重新计分。")
    facts = page.locator("dl.facts").first
    expect(facts).to_contain_text("符合条件（人工审核后重算）")
    expect(facts.locator("dt:has-text('住房类别') + dd")).to_have_text("租赁住房")
    expect(facts.locator("dt:has-text('原因代码') + dd")).to_have_text("—")
    expect(facts.locator("dt:has-text('基础分') + dd")).to_have_text("90.0")
    expect(facts.locator("dt:has-text('加分') + dd")).to_have_text("8.1")
    expect(facts.locator("dt:has-text('总积分') + dd")).to_have_text("98.1")
    expect(page.locator("table").last).to_contain_text("工作人员认定事实：住房，已重新计分")
    watched.screenshot("officer-case-finding")
    decision = case.decisions.get(is_current=True)
    assert (decision.outcome, decision.housing_class, str(decision.total_points)) == (
        "eligible",
        "RENT",
        "98.1",
    )


def test_school_downloads_its_admitted_list(new_page, families, officer, school_staff):
    from enrollment.services.allocation import (
        allocation_publish,
        allocation_run_create,
        allocation_run_execute,
    )

    run = allocation_run_create(
        admission_year=YEAR, seed=1, actor=officer, district_code="440604", enqueue=False
    )
    allocation_publish(
        run=allocation_run_execute(run_id=run.pk), actor=officer, reason="第一轮录取结果"
    )
    watched = new_page()
    page = watched.page
    _sign_in(watched, school_staff.username)
    expect(page.locator("h1")).to_contain_text("录取名单")
    expect(page.locator("table tbody tr")).to_have_count(1)
    # The family has not answered yet: no 报到 control, and the reason why.
    expect(page.locator("select[name=enrolment]")).to_have_count(0)
    expect(page.locator("table tbody")).to_contain_text("家长接受学位后才能登记报到")
    watched.screenshot("school-admitted")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="下载 CSV").click()
    download = download_info.value
    # UTF-8 with a byte-order mark, so that Excel shows the names (INTERCHANGE.md, "Exports").
    assert Path(download.path()).read_bytes()[:3] == b"\xef\xbb\xbf"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))

    assert rows[0][:3] == ["school_code", "ref", "child_name"]
    assert [row[1] for row in rows[1:]] == ["A00000000DEC"]
    assert DownloadLog.objects.filter(user=school_staff, allowed=True).count() == 1


def test_steward_hands_in_a_feed_file_and_sees_its_batch(new_page, media, tmp_path):
    from registry.models import FeedUpload, HukouRecord
    from tests.registry.loading.test_uploads import GOOD_AND_BAD

    steward = UserFactory(role=Role.STEWARD, username="steward1")
    feed = tmp_path / "hukou-2027-03.csv"
    feed.write_bytes(GOOD_AND_BAD)
    watched = new_page()
    page = watched.page
    _sign_in(watched, steward.username)
    page.get_by_role("link", name="上传数据").first.click()
    expect(page.locator("h1")).to_have_text("上传部门数据")

    page.get_by_label("数据源").select_option("hukou")
    page.get_by_label("数据文件").set_input_files(str(feed))
    page.get_by_label("数据日期").fill("2027-03-01")
    page.get_by_role("button", name="上传并导入").click()

    # Tasks run in-process here: the load has ended by the time the next page shows.
    upload = FeedUpload.objects.get()
    expect(page.locator("h1")).to_have_text(f"上传 #{upload.pk}")
    expect(page.locator("#upload-progress")).to_contain_text("已完成")
    expect(page.locator("main")).to_contain_text("读取 3 行，新增 2，更新 0，拒收 1。")
    watched.screenshot("steward-upload")
    page.get_by_role("link", name=f"#{upload.batch_id}").click()
    expect(page.locator("table tbody tr")).to_have_count(1)
    assert HukouRecord.objects.count() == 2
    assert not any(path.is_file() for path in (tmp_path / "media").rglob("*"))
