"""The officers' pages: their district only, exact content, reasons required."""

import logging

import pytest
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from enrollment.models import (
    Application,
    ApplicationEvent,
    AuditLog,
    Decision,
    Evidence,
    Role,
    VerificationJob,
)
from enrollment.portal.staff.officer.forms import REASON_REQUIRED
from enrollment.services.review import evidence_submit
from tests.conftest import HOME
from tests.enrollment.factories import UserFactory
from tests.enrollment.portal.staff.conftest import login

pytestmark = pytest.mark.django_db

OFFICER_PAGES = [
    "/staff/officer/",
    "/staff/officer/review/",
    "/staff/officer/whatif/",
    "/staff/officer/review/A03/",
    "/staff/officer/schools/",
    "/staff/officer/allocation/",
    "/staff/officer/rechecks/",
]


def _row(*cells) -> str:
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def test_dashboard_counts_states_outcomes_points_and_demand_of_the_district_only(town, officer):
    response = login(officer).get("/staff/officer/", {"year": 2027})

    assert response.status_code == 200
    assertContains(response, "2027 年招生概览（440604）")
    assert response.context["work"] == {"pending_evidence": 0, "open_rechecks": 0}
    assert response.context["state_counts_review"] == 1
    # States: A01 and A02 decided, A03 waits for review; B01 (440605) is not counted.
    assertContains(response, '<tr><td>已出结果</td><td class="num">2</td></tr>', html=True)
    assertContains(response, '<tr><td>待人工审核</td><td class="num">1</td></tr>', html=True)
    assertContains(
        response, '<tr class="total"><td>合计</td><td class="num">3</td></tr>', html=True
    )
    context = response.context
    assert context["decisions_chart"].rows == (
        ("符合条件", "2"),
        ("不符合条件", "0"),
        ("待人工审核", "1"),
    )
    # 91.2 and 109.3, in bins of five points.
    assert context["points_chart"].rows == (
        ("90 – 95", 1),
        ("95 – 100", 0),
        ("100 – 105", 0),
        ("105 – 110", 1),
    )
    assert context["demand_chart"].rows == (("第一小学", 2, 2), ("第二小学", 1, 1))
    assertContains(response, "<title>审核结果分布</title>")
    assertNotContains(response, "南海小学")


def test_review_queue_shows_needs_review_by_default_and_filters_by_reason_state_and_ref(
    town, officer
):
    client = login(officer)

    default = client.get("/staff/officer/review/")
    assert [a.ref for a in default.context["page"].object_list] == ["A03"]
    assertContains(
        default,
        '<td data-label="原因代码">未查到孩子户籍（CHILD_HUKOU_NOT_FOUND）<br>'
        "监护关系未能核实（GUARDIANSHIP_NOT_VERIFIED）</td>",
        html=True,
    )
    assertContains(
        default,
        '<option value="CHILD_HUKOU_NOT_FOUND">未查到孩子户籍（CHILD_HUKOU_NOT_FOUND）</option>',
        html=True,
    )

    decided = client.get("/staff/officer/review/", {"state": "decided"})
    assert [a.ref for a in decided.context["page"].object_list] == ["A01", "A02"]

    everything = client.get("/staff/officer/review/", {"state": ""})
    assert [a.ref for a in everything.context["page"].object_list] == ["A01", "A02", "A03"]

    by_reason = client.get(
        "/staff/officer/review/", {"state": "", "reason": "CHILD_HUKOU_NOT_FOUND"}
    )
    assert [a.ref for a in by_reason.context["page"].object_list] == ["A03"]
    none_permit = client.get("/staff/officer/review/", {"state": "", "reason": "PERMIT_MISSING"})
    assert list(none_permit.context["page"].object_list) == []
    assertContains(none_permit, "没有符合条件的申请。")

    by_ref = client.get("/staff/officer/review/", {"state": "", "q": "a02"})
    assert [a.ref for a in by_ref.context["page"].object_list] == ["A02"]
    # B01 belongs to 440605: never listed, whatever the search.
    other = client.get("/staff/officer/review/", {"state": "", "q": "B01"})
    assert list(other.context["page"].object_list) == []


def test_case_shows_facts_sources_trace_and_evidence_with_id_numbers_masked(town, officer):
    application = town["A01"]
    decision = application.decisions.get(is_current=True)
    hukou_source = decision.facts["answer"]["child_hukou"]["record"]

    response = login(officer).get("/staff/officer/review/A01/")

    assert response.status_code == 200
    html = response.content.decode()
    assertContains(response, "<dt>总积分</dt><dd>109.3</dd>", html=True)
    assertContains(response, "<dt>居住月数</dt><dd>93</dd>", html=True)
    # The home community by its name, its code a secondary detail.
    assertContains(response, f'示范社区 <span class="help">{HOME}</span>')
    assertContains(
        response,
        _row(
            "户籍信息（公安部门）",
            hukou_source["key"],
            hukou_source["batch_id"],
            hukou_source["as_of"],
        ),
        html=True,
    )
    # Each step in the words of the parent's points breakdown, never the rule's code.
    assert [(row["label"], row["rule"], row["points"]) for row in response.context["trace"]] == [
        ("户籍类别：本区户籍", "", None),
        ("监护关系：已核实", "", None),
        ("住房类别：自有住房", "", None),
        ("基础分：本区户籍 + 自有住房", "积分办法 2027.1 基础分表第 1 行", "100"),
        (
            "居住年限加分：户籍登记满 93 个月",
            "积分办法 2027.1：本区户籍每月 0.1 分，最多 10.0 分",
            "9.3",
        ),
        ("结果：符合条件", "", None),
    ]
    assert "base_points[" not in html
    assertContains(response, "未提交证明材料。")
    assert response.context["registry_facts"] == [
        ("户籍类别", "本区户籍（D）"),
        ("户籍登记日期", "2019-06-15"),
        ("监护关系已核实", "是"),
        ("家庭在居住社区的产权占比（%）", "100.00"),
        ("居住社区有租赁备案", "否"),
        ("在本市其他社区有房产", "否"),
        ("社保缴费月数", 0),
        ("居住证符合条件", "否"),
        ("已采纳住房证明材料", "否"),
    ]
    assertContains(response, "440604********1230")
    assert [(row["change"], row["actor"], row["reason"]) for row in response.context["events"]] == [
        ("— → 已提交", "窗口代办", "提交申请"),
        ("已提交 → 核验中", "核验程序", "开始向数据平台核验"),
        ("核验中 → 已出结果", "核验程序", "已向数据平台核验"),
    ]
    assertContains(response, "<td>已提交 → 核验中</td><td>核验程序</td>", html=True)
    assert application.child_id_number not in html
    for guardian in application.guardians.all():
        assert guardian.id_number not in html


def _evidence(application, parent):
    return Evidence.objects.create(
        application=application,
        fact=Evidence.Fact.HUKOU,
        kind=Evidence.Kind.COMMITMENT,
        statement="户口迁入手续办理中",
        submitted_by=parent,
        submitted_at=timezone.now(),
    )


def _written():
    return (
        Decision.objects.count(),
        ApplicationEvent.objects.count(),
        AuditLog.objects.count(),
        list(Evidence.objects.values_list("review", "review_reason")),
        list(Application.objects.order_by("ref").values_list("ref", "state")),
    )


@pytest.mark.parametrize("reason", ["", "   \n  "])
def test_evidence_review_refuses_an_empty_reason_and_writes_nothing(town, officer, parent, reason):
    evidence = _evidence(town["A03"], parent)
    before = _written()

    response = login(officer).post(
        "/staff/officer/review/A03/evidence/",
        {"evidence": evidence.id, "verdict": "accept", "reason": reason},
    )

    assert response.status_code == 400
    assertContains(response, str(REASON_REQUIRED), status_code=400)
    assert _written() == before
    evidence.refresh_from_db()
    assert (evidence.review, evidence.reviewed_by, evidence.reviewed_at) == ("pending", None, None)


@pytest.mark.parametrize("reason", ["", "   "])
def test_override_refuses_an_empty_reason_and_writes_nothing(town, officer, reason):
    before = _written()

    response = login(officer).post(
        "/staff/officer/review/A02/override/", {"outcome": "ineligible", "reason": reason}
    )

    assert response.status_code == 400
    assertContains(response, str(REASON_REQUIRED), status_code=400)
    assert _written() == before
    assert town["A02"].decisions.get(is_current=True).outcome == "eligible"


def test_officer_of_another_district_sees_nothing_of_this_one(town, other_officer, caplog):
    client = login(other_officer)

    with caplog.at_level(logging.WARNING, logger="enrollment.access"):
        case = client.get("/staff/officer/review/A01/")
        override = client.post(
            "/staff/officer/review/A01/override/", {"outcome": "ineligible", "reason": "试试"}
        )
    queue = client.get("/staff/officer/review/", {"state": ""})
    dashboard = client.get("/staff/officer/")

    assert case.status_code == 404
    assert override.status_code == 404
    assert [a.ref for a in queue.context["page"].object_list] == ["B01"]
    assertContains(
        dashboard, '<tr class="total"><td>合计</td><td class="num">1</td></tr>', html=True
    )
    assert dashboard.context["demand_chart"].rows == (("南海小学", 1, 45),)
    assert town["A01"].decisions.get(is_current=True).outcome == "eligible"
    denials = [r.getMessage() for r in caplog.records if r.name == "enrollment.access"]
    assert len(denials) == 2
    assert "path=/staff/officer/review/A01/ why=application A01 not in scope" in denials[0]


def test_evidence_file_of_another_district_is_not_found(town, other_officer, parent):
    evidence = _evidence(town["A03"], parent)

    response = login(other_officer).get(f"/staff/officer/evidence/{evidence.id}/file/")

    assert response.status_code == 404


@pytest.mark.parametrize("role", [Role.PARENT, Role.SCHOOL, Role.STEWARD, Role.AUDITOR])
def test_other_roles_are_refused_every_officer_page_and_the_refusal_is_logged(town, role, caplog):
    user = UserFactory(
        username=f"someone-{role}", role=role, school_code="S440604001", district_code="440604"
    )
    client = login(user)

    with caplog.at_level(logging.WARNING, logger="enrollment.access"):
        statuses = [client.get(url).status_code for url in OFFICER_PAGES]
        posted = client.post(
            "/staff/officer/review/A02/override/", {"outcome": "ineligible", "reason": "x"}
        )

    assert statuses == [403] * len(OFFICER_PAGES)
    assert posted.status_code == 403
    assert town["A02"].decisions.get(is_current=True).outcome == "eligible"
    denials = [r.getMessage() for r in caplog.records if r.name == "enrollment.access"]
    assert len(denials) == len(OFFICER_PAGES) + 1
    assert all(f"role={role}" in d for d in denials)


def test_signed_out_visitors_are_sent_to_sign_in(town):
    from django.test import Client

    response = Client().get("/staff/officer/review/A01/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/staff/officer/review/A01/"


def test_schools_page_lists_demand_against_seats_and_draws_the_map(town, officer):
    response = login(officer).get("/staff/officer/schools/", {"year": 2027})

    assert response.status_code == 200
    rows = [
        (
            r.code,
            r.seats,
            r.first_preference,
            r.in_catchment_first_preference,
            r.any_preference,
            r.seats_short,
        )
        for r in response.context["demand"]
    ]
    assert rows == [("S440604001", 2, 2, 2, 2, 0), ("S440604002", 1, 1, 0, 2, 0)]
    assertContains(response, "<title>教育地图：各校学位缺口</title>")
    assert response.content.decode().count('class="map-school"') == 2
    assertNotContains(response, "南海小学")


def test_accepting_hukou_evidence_with_its_facts_rescores_the_case_and_audits_the_reason(
    town, officer, parent
):
    evidence = _evidence(town["A03"], parent)

    response = login(officer).post(
        "/staff/officer/review/A03/evidence/",
        {
            "evidence": evidence.id,
            "verdict": "accept",
            "hukou_class": "D",
            "registered_on": "2019-06-15",
            "reason": "派出所户籍证明与申请一致",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/staff/officer/review/A03/"
    evidence.refresh_from_db()
    assert (evidence.review, evidence.reviewed_by, evidence.review_reason) == (
        "accepted",
        officer,
        "派出所户籍证明与申请一致",
    )
    decision = town["A03"].decisions.get(is_current=True)
    # The hukou as stated; with no hukou in the registry nobody is related to the child, so
    # the relation still waits for its own evidence (DOMAIN.md).
    assert (decision.basis, decision.outcome, decision.hukou_class, decision.reasons) == (
        "reviewed",
        "needs_review",
        "D",
        ["GUARDIANSHIP_NOT_VERIFIED"],
    )
    assert list(
        AuditLog.objects.filter(actor=officer).order_by("id").values_list("action", "reason")
    ) == [
        ("evidence.accept", "派出所户籍证明与申请一致"),
        ("decision.recompute", "派出所户籍证明与申请一致"),
    ]
    page = login(officer).get("/staff/officer/review/A03/")
    assertContains(page, "<p>认定事实：户籍类别：本区户籍，户籍登记日期：2019-06-15</p>", html=True)


def test_accepting_hukou_evidence_without_the_class_it_shows_is_refused_and_writes_nothing(
    town, officer, parent
):
    evidence = _evidence(town["A03"], parent)
    before = _written()

    response = login(officer).post(
        "/staff/officer/review/A03/evidence/",
        {"evidence": evidence.id, "verdict": "accept", "reason": "材料齐全"},
    )

    assert response.status_code == 400
    assertContains(response, "采纳户籍材料时，请选择材料显示的户籍类别。", status_code=400)
    assertNotContains(response, "values.hukou_class", status_code=400)
    assert _written() == before


def test_override_with_a_reason_changes_the_outcome_and_audits_it(town, officer):
    response = login(officer).post(
        "/staff/officer/review/A02/override/",
        {"outcome": "ineligible", "reason": "租赁合同经核查为虚假备案"},
    )

    assert response.status_code == 302
    decision = town["A02"].decisions.get(is_current=True)
    assert (decision.basis, decision.outcome, decision.decided_by, decision.reason) == (
        "override",
        "ineligible",
        officer,
        "租赁合同经核查为虚假备案",
    )
    audit = AuditLog.objects.get(action="decision.override")
    assert (audit.actor, audit.reason, audit.data) == (
        officer,
        "租赁合同经核查为虚假备案",
        {
            "application": "A02",
            "from": "eligible",
            "to": "ineligible",
            "old": {"outcome": "eligible"},
            "new": {"outcome": "ineligible"},
        },
    )


def test_override_of_a_decision_changed_since_the_page_was_shown_is_refused(town, officer):
    client = login(officer)
    shown = client.get("/staff/officer/review/A02/").context["override_form"]["decision_id"].value()
    client.post(
        "/staff/officer/review/A02/override/",
        {"outcome": "ineligible", "reason": "租赁合同经核查为虚假备案", "decision_id": shown},
    )

    response = client.post(
        "/staff/officer/review/A02/override/",
        {"outcome": "ineligible", "reason": "申请人并非孩子的监护人", "decision_id": shown},
    )

    assertContains(
        response, "另一位工作人员刚刚更改了这个决定，请查看最新结果后再改判。", status_code=400
    )
    decision = town["A02"].decisions.get(is_current=True)
    assert (decision.outcome, decision.reason) == ("ineligible", "租赁合同经核查为虚假备案")
    assert AuditLog.objects.filter(action="decision.override").count() == 1


def test_retry_refuses_an_empty_reason_and_writes_nothing(town, officer):
    before = _written()
    jobs = VerificationJob.objects.count()

    response = login(officer).post("/staff/officer/review/A03/retry/", {"reason": " "})

    assert response.status_code == 400
    assertContains(response, str(REASON_REQUIRED), status_code=400)
    assert _written() == before
    assert VerificationJob.objects.count() == jobs


@pytest.mark.parametrize(
    ("role", "target"),
    [
        (Role.OFFICER, "/staff/officer/"),
        (Role.SCHOOL, "/staff/school/"),
        (Role.STEWARD, "/staff/steward/imports/"),
    ],
)
def test_staff_start_page_sends_each_role_to_its_own_pages(db, role, target):
    user = UserFactory(
        username=f"start-{role}", role=role, district_code="440604", school_code="S1"
    )

    response = login(user).get("/staff/")

    assert (response.status_code, response["Location"]) == (302, target)


def test_parents_have_no_staff_start_page(parent):
    assert login(parent).get("/staff/").status_code == 403


def test_demand_chart_keeps_to_the_twenty_schools_shortest_of_seats(town, officer):
    from tests.enrollment.factories import SchoolFactory

    for index in range(23):
        SchoolFactory(code=f"S440604{index + 200}", name=f"学校{index:02d}", capacity=10 + index)

    response = login(officer).get("/staff/officer/")

    chart = response.context["demand_chart"]
    assert chart.title == "学位缺口最大的 20 所学校"
    # 第一小学 and 第二小学 are full (0 short); then the smallest of the empty schools.
    assert chart.rows[:4] == (
        ("第一小学", 2, 2),
        ("第二小学", 1, 1),
        ("学校00", 0, 10),
        ("学校01", 0, 11),
    )
    assert len(chart.rows) == 20
    schools_page = login(officer).get("/staff/officer/schools/")
    assert len(schools_page.context["demand"]) == 25


def test_a_finding_on_the_case_page_scores_the_case_again_and_shows_why(town, officer):
    client = login(officer)
    shown = client.get("/staff/officer/review/A03/").context["finding_form"]["decision_id"].value()

    response = client.post(
        "/staff/officer/review/A03/finding/",
        {
            "fact": "hukou",
            "hukou_class": "D",
            "registered_on": "2019-06-15",
            "reason": "派出所出具户籍证明",
            "decision_id": shown,
        },
    )

    assert response.status_code == 302
    decision = town["A03"].decisions.get(is_current=True)
    assert (decision.basis, decision.outcome, decision.hukou_class, decision.reasons) == (
        "reviewed",
        "needs_review",
        "D",
        ["GUARDIANSHIP_NOT_VERIFIED"],
    )
    page = client.get("/staff/officer/review/A03/")
    assertContains(page, "工作人员认定 · 已采纳")
    assertContains(page, "认定事实：户籍类别：本区户籍，户籍登记日期：2019-06-15")
    # The hand-made outcome offered on the page is "not eligible" alone.
    assertNotContains(page, '<option value="eligible"')


def test_the_case_page_offers_no_bare_eligible_outcome(town, officer):
    before = _written()

    response = login(officer).post(
        "/staff/officer/review/A03/override/", {"outcome": "eligible", "reason": "材料齐全"}
    )

    assert response.status_code == 400
    assert _written() == before
    assert town["A03"].decisions.get(is_current=True).outcome == "needs_review"


def test_evidence_accepted_after_the_case_was_decided_shows_in_its_history(town, officer, parent):
    # given: the family offers housing evidence; the officer decides the case by hand while
    # it waits, then accepts it (the state stays decided, so no state change records it)
    client = login(officer)
    evidence = evidence_submit(
        application=town["A02"],
        actor=parent,
        fact="housing",
        kind="commitment",
        statement="租住在社区内，备案在办理中",
    )
    client.post(
        "/staff/officer/review/A02/override/",
        {"outcome": "ineligible", "reason": "申请人并非孩子的监护人"},
    )
    events = ApplicationEvent.objects.filter(application=town["A02"]).count()
    response = client.post(
        "/staff/officer/review/A02/evidence/",
        {"evidence": evidence.id, "verdict": "accept", "reason": "社区证明租住属实"},
    )
    assert response.status_code == 302
    assert ApplicationEvent.objects.filter(application=town["A02"]).count() == events

    # when
    page = client.get("/staff/officer/review/A02/")

    # then: the acceptance is the history's last row, with the officer and the reason
    rows = page.context["events"]
    assert (rows[-1]["change"], rows[-1]["actor"], rows[-1]["reason"]) == (
        "采纳证明材料：住房（告知承诺）",
        "officer1",
        "社区证明租住属实",
    )
    assertContains(
        page,
        "<td>采纳证明材料：住房（告知承诺）</td><td>officer1</td><td>社区证明租住属实</td>",
        html=True,
    )


def test_the_dashboards_evidence_tile_opens_the_cases_with_evidence_waiting(town, officer, parent):
    # given: evidence waits on A01 (decided), none on A03 (needs review)
    _evidence(town["A01"], parent)
    client = login(officer)

    dashboard = client.get("/staff/officer/?year=2027")

    # then: the tile counts the evidence and links to the queue filtered to it, in any state
    link = "/staff/officer/review/?year=2027&amp;state=&amp;evidence=pending"
    assertContains(
        dashboard, f'<a class="stat" href="{link}"><strong>1</strong>待审证明材料</a>', html=True
    )
    queue = client.get("/staff/officer/review/?year=2027&state=&evidence=pending")
    assert [a.ref for a in queue.context["page"].object_list] == ["A01"]
    assert [a.ref for a in client.get("/staff/officer/review/?year=2027").context["page"]] == [
        "A03"
    ]
