"""A parent's whole journey in a real browser, from sign-up to an accepted offer."""

import re
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from enrollment import sms
from enrollment.models import Application, Offer, Role
from enrollment.services.allocation import (
    allocation_publish,
    allocation_run_create,
    allocation_run_execute,
)
from enrollment.services.applications import ApplicationInput, PersonInput, application_submit
from enrollment.services.verification import verification_run
from registry import idnumber
from registry.models import AuditEntry, HukouRecord
from tests.conftest import HOME, YEAR
from tests.enrollment.factories import UserFactory
from tests.registry.factories import PropertyRecordFactory, related_family

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHILD = idnumber.make("440604", date(2020, 3, 15), 123)
MOTHER = idnumber.make("440604", date(1990, 7, 1), 222)
PASSWORD = "Qiuzhi-2027-xue"


@pytest.fixture
def registry_facts(db):
    """DOMAIN.md worked example 1: 109.3 points."""
    related_family(CHILD, MOTHER, hukou_district_code="440604", registered_on=date(2019, 6, 15))
    PropertyRecordFactory(owner_id_number=MOTHER, share_percent=Decimal("100"), community_code=HOME)
    # The name on the mother's hukou record, which her real-name check is matched against.
    HukouRecord.objects.filter(id_number=MOTHER).update(name="李美玲")


def _publish(officer):
    run = allocation_run_create(
        admission_year=YEAR, seed=2027, actor=officer, district_code="440604", enqueue=False
    )
    run = allocation_run_execute(run_id=run.pk)
    return allocation_publish(run=run, actor=officer, reason="第一轮录取结果")


def test_parent_signs_up_applies_consents_watches_points_and_accepts_the_offer(
    new_page, district, officer, registry_facts
):
    watched = new_page()
    page = watched.page

    # Sign up with a phone number.
    watched.goto("/accounts/signup/")
    watched.screenshot("signup")
    page.fill("#id_phone", "13800138000")
    page.fill("#id_password", PASSWORD)
    page.fill("#id_password_again", PASSWORD)
    page.get_by_role("button", name="注册").click()
    expect(page.locator("h1")).to_contain_text("您好")
    watched.screenshot("home")

    # Before applying: the real-name check, then the code sent to the phone.
    page.get_by_role("link", name="开始申请").click()
    expect(page.locator("h1")).to_have_text("请先完成实名认证")
    # That refusal is a 403 by design, which the browser reports as a console error: the one
    # expected, and no other.
    assert watched.errors == [
        "console: Failed to load resource: the server responded with a status of 403 (Forbidden)"
    ]
    watched.errors.clear()
    page.get_by_role("link", name="去实名认证").click()
    expect(page.locator("h1")).to_have_text("实名认证")
    page.fill("#id_name", "李美玲")
    page.fill("#id_id_number", MOTHER)
    page.check("#id_consent")
    watched.screenshot("identity")
    page.get_by_role("button", name="核对并发送验证码").click()
    expect(page.locator("main")).to_contain_text("验证码已发送到 138****8000")
    code = re.search(r"\d{6}", sms.outbox[-1].text).group()
    page.fill("#id_code", code)
    watched.screenshot("identity-code")
    page.get_by_role("button", name="完成认证").click()
    expect(page.locator(".messages")).to_contain_text("实名认证已完成")

    # Step 1: the child, checked while typing.
    page.get_by_role("link", name="开始申请").click()
    expect(page.locator("h1")).to_have_text("孩子信息")
    page.fill("#id_child_name", "陈小明")
    wrong = CHILD[:17] + ("1" if CHILD[17] != "1" else "2")
    page.locator("#id_child_id_number").press_sequentially(wrong)
    expect(page.locator("#id_child_id_number-check")).to_contain_text("校验码对不上")
    expect(page.locator("#id_child_id_number-check")).not_to_contain_text(wrong)
    watched.screenshot("apply-child")
    page.fill("#id_child_id_number", CHILD)
    expect(page.locator("#id_child_id_number-check")).to_contain_text("号码格式正确")
    page.get_by_role("button", name="下一步").click()

    # Step 2: the guardian.
    expect(page.locator("h1")).to_have_text("监护人信息")
    page.fill("#id_guardian1_name", "李美玲")
    page.select_option("#id_guardian1_relation", "mother")
    page.fill("#id_guardian1_id_number", MOTHER)
    expect(page.locator("#id_guardian1_id_number-check")).to_contain_text("号码格式正确")
    watched.screenshot("apply-guardians")
    page.get_by_role("button", name="下一步").click()

    # Step 3: home and school choices.
    expect(page.locator("h1")).to_have_text("住址和志愿学校")
    page.select_option("#id_home_community_code", HOME)
    page.select_option("#id_school_1", "S440604001")
    watched.screenshot("apply-home")
    page.get_by_role("button", name="下一步").click()

    # Step 4: consent names every lookup before any is made.
    expect(page.locator("h1")).to_have_text("同意核验并提交")
    lookups = page.locator("table.lookups tbody tr")
    expect(lookups).to_have_count(5)
    expect(lookups.nth(0)).to_contain_text("公安部门")
    expect(page.locator(".summary")).to_contain_text(idnumber.mask(CHILD))
    # Only the real-name check has asked the registry so far.
    assert list(AuditEntry.objects.values_list("purpose", flat=True)) == [
        "account-identity-verification"
    ]
    assert Application.objects.count() == 0
    watched.screenshot("apply-consent")
    page.check("#id_agree")
    page.get_by_role("button", name="同意并提交申请").click()

    # Status: verified in-process (eager), the points line by line.
    expect(page.locator(".total")).to_have_text("总分 109.3 分")
    expect(page.locator("table.points tbody tr")).to_have_count(2)
    expect(page.locator("table.points")).to_contain_text("积分办法 2027.1 基础分表第 1 行")
    expect(page.locator(".fact-found").first).to_contain_text("公安部门")
    application = Application.objects.get()
    assert application.applicant.username == "13800138000"
    watched.screenshot("status-decided")

    # Who looked at my data.
    page.get_by_role("link", name="谁查看了我的信息").click()
    # Two lookups about the mother: her own real-name check, then the application's.
    expect(page.locator("table.lookup-log tbody tr")).to_have_count(2)
    expect(page.locator("table.lookup-log")).to_contain_text("家长账户实名核验")
    expect(page.locator("table.lookup-log")).to_contain_text("小学一年级入学资格核验")
    watched.screenshot("lookups")

    # The officer publishes the allocation; the parent sees the offer and accepts it.
    _publish(officer)
    watched.goto(f"/applications/{application.ref}/")
    expect(page.locator("#offer-h")).to_be_visible()
    watched.screenshot("status-offer")
    page.get_by_role("button", name="接受学位").click()
    # The first tap only asks: the school, what accepting means, and nothing answered yet.
    offer = Offer.objects.get(application=application)
    expect(page.locator("h1")).to_have_text("确认接受学位")
    expect(page.locator(".offer-confirm")).to_contain_text(
        f"您将接受 {offer.school.name} 的学位。接受后请按学校通知按时报到。"
    )
    assert Offer.objects.get(application=application).status == Offer.Status.OFFERED
    watched.screenshot("offer-confirm")
    page.get_by_role("button", name="确认接受").click()
    expect(page.locator(".messages")).to_contain_text("您已接受学位")
    offer.refresh_from_db()
    assert offer.status == Offer.Status.ACCEPTED
    expect(page.locator(".offer-box")).to_contain_text(offer.receipt_no)
    watched.screenshot("status-accepted")

    # The same page in English.
    page.select_option("#language-select", "en")
    page.locator("form.lang button").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".offer-box")).to_contain_text("Accepted")
    watched.screenshot("status-accepted-en")


def test_status_page_follows_verification_live_and_shows_the_points_when_done(
    new_page, district, registry_facts
):
    parent = UserFactory(
        role=Role.PARENT, username="13900000001", password=PASSWORD, identity=MOTHER
    )
    application = application_submit(
        data=ApplicationInput(
            admission_year=YEAR,
            child=PersonInput(name="陈小明", id_number=CHILD),
            guardians=[PersonInput(name="李美玲", id_number=MOTHER, relation="mother")],
            home_community_code=HOME,
            preferences=["S440604001"],
            consent_given_by=MOTHER,
        ),
        actor=parent,
        enqueue=False,
    )
    watched = new_page()
    page = watched.page
    watched.goto("/accounts/login/")
    watched.screenshot("login")
    page.fill("#id_username", "13900000001")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("h1")).to_contain_text("您好")
    # The first Tab reaches the skip link, which takes keyboard users past the header.
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    expect(page.locator(".skip-link")).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    page.get_by_role("link", name="陈小明").click()
    expect(page.locator("#live")).to_have_attribute("hx-trigger", "every 2s")
    # The child's hukou, the guardianship, housing, social insurance, the permit.
    expect(page.locator(".fact-checking")).to_have_count(5)
    watched.screenshot("status-verifying")

    # The worker finishes; the page notices by itself within a poll or two.
    verification_run(job_ids=list(application.verification_jobs.values_list("id", flat=True)))
    expect(page.locator(".total")).to_have_text("总分 109.3 分", timeout=10_000)
    expect(page.locator("#live")).not_to_have_attribute("hx-trigger", "every 2s")
