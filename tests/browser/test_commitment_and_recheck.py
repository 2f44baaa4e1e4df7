"""Two conversations between a family and an officer, in a real browser: a commitment (告知承诺)
for a fact the registry does not hold, accepted by an officer; and a re-check (复核) after
publication, answered by an officer with a corrected total."""

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from enrollment.models import Decision, Evidence, Recheck
from enrollment.services.allocation import (
    allocation_publish,
    allocation_run_create,
    allocation_run_execute,
)
from registry import idnumber
from tests.conftest import HOME, PARENT_ID_NUMBER, YEAR
from tests.enrollment.portal.parents.conftest import submit
from tests.registry.factories import PropertyRecordFactory, related_family

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "demo-pass-2027"  # the factories' password
CHILD = idnumber.make("440604", date(2020, 6, 6), 345)
# The signed-in parent (the `parent` fixture), who names themselves as the guardian.
MOTHER = PARENT_ID_NUMBER
COMMITMENT = "孩子户口已于 2020 年 7 月迁入本区，户口簿正在补办，以上情况属实。"


def _sign_in(watched, username: str) -> None:
    watched.goto("/accounts/login/")
    watched.page.fill("#id_username", username)
    watched.page.fill("#id_password", PASSWORD)
    watched.page.get_by_role("button", name="登录").click()
    expect(watched.page.locator("h1")).to_be_visible()


def test_a_commitment_for_a_missing_hukou_is_accepted_and_the_decision_recomputed(
    new_page, district, parent, officer
):
    # The mother owns the home; the registry has no hukou for the child.
    PropertyRecordFactory(owner_id_number=MOTHER, share_percent=Decimal("100"), community_code=HOME)
    application = submit(parent=parent, child=CHILD, guardian=MOTHER, name="王小红")
    assert application.state == "needs_review"

    # The family signs a commitment instead of uploading a document.
    family = new_page()
    _sign_in(family, parent.username)
    family.page.get_by_role("link", name="王小红").click()
    expect(family.page.locator(".reasons")).to_contain_text("数据库中没有查到孩子的户籍")
    family.page.select_option("#id_fact", "hukou")
    family.page.get_by_label("告知承诺").check()
    family.page.fill("#id_statement", COMMITMENT)
    family.screenshot("status-commitment-form")
    family.page.get_by_role("button", name="提交材料").click()
    expect(family.page.locator(".messages")).to_contain_text("材料已提交")
    expect(family.page.locator(".evidence-list")).to_contain_text("户籍 · 告知承诺 · 待审核")
    evidence = Evidence.objects.get()
    assert (evidence.kind, evidence.fact, evidence.statement, evidence.file.name) == (
        "commitment",
        "hukou",
        COMMITMENT,
        "",
    )

    # The officer reads the commitment and accepts it with the facts it states.
    watched = new_page()
    page = watched.page
    _sign_in(watched, officer.username)
    page.get_by_role("link", name="审核队列").click()
    page.get_by_role("link", name=application.ref).click()
    article = page.locator("article.evidence")
    expect(article).to_contain_text("户籍 · 告知承诺 · 待审核")
    expect(article).to_contain_text(COMMITMENT)
    watched.screenshot("officer-case-commitment")
    form = article.locator("form.action-form")
    form.locator("select[name=verdict]").select_option("accept")
    form.locator("select[name=hukou_class]").select_option("D")
    form.locator("input[name=registered_on]").fill("2020-07-01")
    form.locator("[name=reason]").fill("承诺内容与派出所迁入记录一致")
    form.get_by_role("button", name="提交审核结论").click()
    expect(page.locator(".staff-messages")).to_contain_text("已保存审核结论。")
    expect(article).to_contain_text("户籍 · 告知承诺 · 已采纳")
    expect(article).to_contain_text(f"审核理由：承诺内容与派出所迁入记录一致（{officer.username}）")
    expect(page.locator("dl.facts").first).to_contain_text("待人工审核（人工审核后重算）")
    watched.screenshot("officer-case-commitment-accepted")

    # Recomputed from the stored registry answer and the commitment: the hukou is D since
    # 2020-07-01 (80 full months to the cut-off); without the child in the registry nobody was
    # related to the child, so the mother's flat was not looked up and the relation waits for
    # its own evidence (DOMAIN.md, "Guardianship").
    application.refresh_from_db()
    assert application.state == "needs_review"
    decisions = list(application.decisions.order_by("id").values_list("basis", "is_current"))
    assert decisions == [("computed", False), ("reviewed", True)]
    decision = application.decisions.get(is_current=True)
    assert (
        decision.outcome,
        decision.hukou_class,
        decision.residence_months,
        decision.reasons,
        decision.decided_by,
    ) == ("needs_review", "D", 80, ["GUARDIANSHIP_NOT_VERIFIED"], officer)

    # The family sees the accepted commitment, and what to bring for the relation.
    family.goto(f"/applications/{application.ref}/")
    expect(family.page.locator(".reasons")).to_contain_text("未能确认所填监护人与孩子的关系")
    expect(family.page.locator(".evidence-list")).to_contain_text("户籍 · 告知承诺 · 已采纳")
    expect(family.page.locator(".evidence-list")).to_contain_text(
        "审核意见：承诺内容与派出所迁入记录一致"
    )
    family.screenshot("status-commitment-accepted")


def test_a_recheck_asked_for_after_publication_is_answered_with_a_correction(
    new_page, district, parent, officer
):
    # DOMAIN.md worked example 1: 109.3 points, placed at the first school.
    related_family(CHILD, MOTHER, hukou_district_code="440604", registered_on=date(2019, 6, 15))
    PropertyRecordFactory(owner_id_number=MOTHER, share_percent=Decimal("100"), community_code=HOME)
    application = submit(parent=parent, child=CHILD, guardian=MOTHER, name="王小红")
    run = allocation_run_create(
        admission_year=YEAR, seed=2027, actor=officer, district_code="440604", enqueue=False
    )
    allocation_publish(run=allocation_run_execute(run_id=run.pk), actor=officer, reason="第一轮")

    # The family asks for a re-check.
    family = new_page()
    _sign_in(family, parent.username)
    family.page.get_by_role("link", name="王小红").click()
    expect(family.page.locator(".total")).to_have_text("总分 109.3 分")
    family.page.fill("#id_reason", "户籍迁入日期应为 2019 年 3 月，积分少算了。")
    family.screenshot("status-recheck-form")
    family.page.get_by_role("button", name="申请复核").click()
    expect(family.page.locator(".messages")).to_contain_text("复核申请已提交")
    recheck = Recheck.objects.get()
    assert (recheck.application, recheck.status) == (application, "open")

    # The officer finds it in the re-check queue and corrects the total.
    watched = new_page()
    page = watched.page
    _sign_in(watched, officer.username)
    page.get_by_role("link", name="复核", exact=True).click()
    expect(page.locator("table tbody tr")).to_have_count(1)
    expect(page.locator("table tbody")).to_contain_text("户籍迁入日期应为 2019 年 3 月")
    page.get_by_role("link", name=f"#{recheck.id}").click()
    expect(page.locator("h1")).to_contain_text(application.ref)
    watched.screenshot("officer-recheck")
    page.select_option("#id_result", "changed")
    page.fill("#id_total_points", "112.0")
    page.fill("#id_reason", "派出所确认迁入日期为 2019-03-01，按规则更正积分")
    page.get_by_role("button", name="提交答复").click()
    expect(page.locator(".staff-messages")).to_contain_text("已答复复核申请。")
    expect(page.locator(".case-grid")).to_contain_text(
        f"派出所确认迁入日期为 2019-03-01，按规则更正积分（{officer.username}，"
    )
    expect(page.locator("dl.facts")).to_contain_text("符合条件（人工改判）")
    watched.screenshot("officer-recheck-answered")

    recheck.refresh_from_db()
    assert (recheck.status, recheck.resolved_by) == ("changed", officer)
    decision = application.decisions.get(is_current=True)
    assert (decision.basis, decision.outcome, decision.total_points, decision.pk) == (
        Decision.Basis.OVERRIDE,
        "eligible",
        Decimal("112.0"),
        recheck.new_decision_id,
    )

    # The family sees the answer and the corrected total.
    family.goto(f"/applications/{application.ref}/")
    expect(family.page.locator(".total")).to_have_text("总分 112.0 分")
    recheck_card = family.page.locator("section[aria-labelledby=recheck-h]")
    expect(recheck_card).to_contain_text("已更正")
    expect(recheck_card).to_contain_text("处理意见：派出所确认迁入日期为 2019-03-01")
    family.screenshot("status-recheck-answered")
