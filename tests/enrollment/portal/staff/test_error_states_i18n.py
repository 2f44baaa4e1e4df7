"""Each refusal a staff form can meet, provoked through the page in Chinese and in English: the
page shows exactly the refusal's words in its own language, and never the service's English
(nor, on an English page, the Chinese)."""

import json
import re
from html import unescape
from html.parser import HTMLParser

import pytest
from django.test import Client

from enrollment.models import AllocationRun, Decision, Evidence, Offer, Recheck
from enrollment.services.allocation import allocation_run_execute
from enrollment.services.rechecks import recheck_request, recheck_resolve
from tests.enrollment.portal.staff.conftest import BACKEND, login, start_run
from tests.enrollment.portal.staff.test_officer import _evidence

pytestmark = pytest.mark.django_db

LANGUAGES = ["zh-hans", "en"]
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
REASON = "核对无误"

# What each refusal says, in Chinese and in English, and what the service itself wrote.
REFUSALS = {
    "hukou_class": (
        "采纳户籍材料时，请选择材料显示的户籍类别。",
        "To accept hukou evidence, choose the hukou class the document shows.",
        "values.hukou_class: state the hukou class the evidence shows (D, C or N)",
    ),
    "after_cutoff": (
        "户籍登记日期不能晚于积分办法的截止日期 2027-03-31。",
        "The registration date must not be after the policy's cut-off date, 2027-03-31.",
        "values.registered_on: must not be after the cut-off date 2027-03-31",
    ),
    "reviewed": (
        "这份材料已经审核过了。",
        "This evidence has already been reviewed.",
        "This evidence has been reviewed already.",
    ),
    "stale": (
        "另一位工作人员刚刚更改了这个决定，请查看最新结果后再改判。",
        "Another officer has just changed this decision; please look at the latest result "
        "before changing it.",
        "decision_id: the decision changed since it was shown; reload the case and decide again",
    ),
    "override_state": (
        "只有待人工审核或已出结果的申请可以改判。",
        "Only an application waiting for review or already decided can be overridden.",
        "An application that is verifying cannot be overridden.",
    ),
    "retry_state": (
        "只有待人工审核或已出结果的申请可以重新核验。",
        "Only an application waiting for review or already decided can be verified again.",
        "An application that is verifying is not waiting for review.",
    ),
    "no_schools": (
        "本区这一年没有招生的学校，无法分配。",
        "No school in your district admits children in this year, so there is nothing to allocate.",
        "No schools admit in 2030 in this district.",
    ),
    "dry_run": (
        "试运行的分配不能发布，请正式运行一次再发布。",
        "A dry run cannot be published; run the allocation for real and publish that run.",
        "A dry run cannot be published; run it for real.",
    ),
    "published": (
        "这次分配已经发布过了。",
        "This allocation run has already been published.",
        "The run is already published.",
    ),
    "unfinished": (
        "所选的分配尚未计算完成。",
        "The chosen allocation run is not finished yet.",
        "has not finished.",
    ),
    "not_admitted": (
        "本校已公布的录取名单中没有申请编号为 A03 的孩子。",
        "No child with reference A03 is on your school's published admitted list.",
        "No child with this reference is admitted here.",
    ),
    "upheld_with_changes": (
        "维持原结果时不能填写更正内容。",
        "To uphold the decision, leave the corrections empty.",
        "An upheld decision has no changes.",
    ),
    "changed_without_changes": (
        "更正结果时，请至少填写一项更正内容。",
        "To correct the decision, fill in at least one correction.",
        "A changed decision sets some of outcome, total_points, hukou_class, housing_class.",
    ),
    "answered": (
        "这份复核申请已经答复过了。",
        "This re-check has already been answered.",
        "This re-check is already answered.",
    ),
    "foreign_policy": (
        "只能推演本区的积分办法：政策文件中的 district_code 须是本区的代码。",
        "You can try policies of your own district only: district_code in the policy document "
        "must be your district's code.",
        "document.district_code: an officer tries policies of their own district only",
    ),
    "policy_value": (
        "政策文件中的 si_min_months 须是 0 至 600 之间的整月数。",
        "In the policy document, si_min_months must be a whole number of months from 0 to 600.",
        "document.si_min_months: must be a whole number of months from 0 to 600",
    ),
    "no_policy": (
        "政策文件所属的年份和学段还没有生效的积分办法，无法与现行办法比较。",
        "No points policy is in force for this document's year and grade, so there is nothing "
        "to compare it with.",
        "No points policy is active for district 440604, year 2031.",
    ),
}


def client_in(user, language: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.cookies["django_language"] = language
    client.force_login(user, backend=BACKEND)
    return client


class Alerts(HTMLParser):
    """The text of each alert on a page: form refusals (role=alert) and error messages."""

    VOID = {"br", "hr", "img", "input", "meta", "link"}

    def __init__(self):
        super().__init__()
        self.alerts: list[str] = []
        self.depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        if self.depth:
            self.depth += 1
            return
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if attrs.get("role") == "alert" or (tag == "li" and "error" in classes):
            self.depth = 1
            self.alerts.append("")

    def handle_endtag(self, tag):
        if self.depth and tag not in self.VOID:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.alerts[-1] += data


def alerts(html: str) -> list[str]:
    parser = Alerts()
    parser.feed(html)
    return [" ".join(text.split()) for text in parser.alerts]


def assert_refused(response, language: str, refusal: str) -> None:
    chinese, english, service = REFUSALS[refusal]
    html = response.content.decode()
    shown, other = (chinese, english) if language == "zh-hans" else (english, chinese)

    assert alerts(html) == [shown]
    assert f'lang="{"zh-Hans" if language == "zh-hans" else "en"}"' in html
    assert service not in unescape(html)
    assert other not in unescape(html)
    if language == "en":
        assert CJK.findall(" ".join(alerts(html))) == []


# --- evidence review, override and retry -------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_accepting_hukou_evidence_without_its_class(town, officer, parent, language):
    evidence = _evidence(town["A03"], parent)

    response = client_in(officer, language).post(
        "/staff/officer/review/A03/evidence/",
        {"evidence": evidence.id, "verdict": "accept", "reason": REASON},
    )

    assert response.status_code == 400
    assert_refused(response, language, "hukou_class")
    evidence.refresh_from_db()
    assert evidence.review == Evidence.Review.PENDING


@pytest.mark.parametrize("language", LANGUAGES)
def test_accepting_a_registration_after_the_cutoff(town, officer, parent, language):
    evidence = _evidence(town["A03"], parent)

    response = client_in(officer, language).post(
        "/staff/officer/review/A03/evidence/",
        {
            "evidence": evidence.id,
            "verdict": "accept",
            "hukou_class": "D",
            "registered_on": "2027-06-01",
            "reason": REASON,
        },
    )

    assert response.status_code == 400
    assert_refused(response, language, "after_cutoff")
    evidence.refresh_from_db()
    assert evidence.review == Evidence.Review.PENDING


@pytest.mark.parametrize("language", LANGUAGES)
def test_reviewing_evidence_that_is_already_reviewed(town, officer, parent, language):
    evidence = _evidence(town["A03"], parent)
    client = client_in(officer, language)
    review = {"evidence": evidence.id, "verdict": "reject", "reason": REASON}
    assert client.post("/staff/officer/review/A03/evidence/", review).status_code == 302

    response = client.post("/staff/officer/review/A03/evidence/", {**review, "verdict": "accept"})

    assert response.status_code == 400
    assert_refused(response, language, "reviewed")
    evidence.refresh_from_db()
    assert evidence.review == Evidence.Review.REJECTED


@pytest.mark.parametrize("language", LANGUAGES)
def test_overriding_a_decision_changed_since_it_was_shown(town, officer, language):
    client = client_in(officer, language)
    shown = client.get("/staff/officer/review/A02/").context["override_form"]["decision_id"].value()
    override = {"outcome": "ineligible", "reason": REASON, "decision_id": shown}
    assert client.post("/staff/officer/review/A02/override/", override).status_code == 302

    response = client.post(
        "/staff/officer/review/A02/override/", {**override, "reason": "另一位工作人员的理由"}
    )

    assert response.status_code == 400
    assert_refused(response, language, "stale")
    assert town["A02"].decisions.get(is_current=True).outcome == Decision.Outcome.INELIGIBLE


@pytest.mark.parametrize("language", LANGUAGES)
def test_overriding_an_application_being_verified_again(town, officer, language):
    client = client_in(officer, language)
    assert client.post("/staff/officer/review/A03/retry/", {"reason": REASON}).status_code == 302

    response = client.post(
        "/staff/officer/review/A03/override/", {"outcome": "ineligible", "reason": REASON}
    )

    assert response.status_code == 400
    assert_refused(response, language, "override_state")
    assert town["A03"].decisions.get(is_current=True).basis == Decision.Basis.COMPUTED


@pytest.mark.parametrize("language", LANGUAGES)
def test_retrying_an_application_being_verified_again(town, officer, language):
    client = client_in(officer, language)
    assert client.post("/staff/officer/review/A03/retry/", {"reason": REASON}).status_code == 302

    response = client.post("/staff/officer/review/A03/retry/", {"reason": REASON})

    assert response.status_code == 400
    assert_refused(response, language, "retry_state")
    assert town["A03"].verification_jobs.count() == 2


# --- allocation ----------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_allocating_a_year_without_schools(town, officer, language):
    response = client_in(officer, language).post(
        "/staff/officer/allocation/?year=2030", {"seed": 1}
    )

    assert response.status_code == 400
    assert_refused(response, language, "no_schools")
    assert AllocationRun.objects.count() == 0


@pytest.mark.parametrize("language", LANGUAGES)
def test_publishing_a_dry_run(town, officer, language):
    run = start_run(login(officer), 5, dry_run="on")
    allocation_run_execute(run_id=run.id)

    response = client_in(officer, language).post(
        f"/staff/officer/allocation/{run.id}/publish/", {"reason": REASON}
    )

    assert response.status_code == 400
    assert_refused(response, language, "dry_run")
    run.refresh_from_db()
    assert run.published_at is None
    assert Offer.objects.count() == 0


@pytest.mark.parametrize("language", LANGUAGES)
def test_publishing_a_run_twice(published, officer, language):
    response = client_in(officer, language).post(
        f"/staff/officer/allocation/{published.id}/publish/", {"reason": REASON}
    )

    assert response.status_code == 400
    assert_refused(response, language, "published")
    assert Offer.objects.count() == 2


@pytest.mark.parametrize("language", LANGUAGES)
def test_comparing_runs_not_finished(town, officer, language):
    client = login(officer)
    first, second = start_run(client, 1), start_run(client, 2)

    response = client_in(officer, language).get(
        "/staff/officer/allocation/compare/", {"a": first.id, "b": second.id}
    )

    assert response.status_code == 400
    assert_refused(response, language, "unfinished")
    assert response.context["changes"] is None


# --- schools -------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_marking_enrolment_of_a_child_not_admitted(published, school_staff, language):
    response = client_in(school_staff, language).post(
        "/staff/school/enrolment/", {"ref": "A03", "enrolment": "enrolled"}, follow=True
    )

    assert response.redirect_chain == [("/staff/school/?year=2027", 302)]
    assert_refused(response, language, "not_admitted")
    assert list(Offer.objects.values_list("enrolment", flat=True)) == ["", ""]


# --- re-checks -----------------------------------------------------------------------------


@pytest.fixture
def recheck(published, town, parent):
    return recheck_request(application=town["A02"], actor=parent, reason="租赁备案时间有误")


@pytest.mark.parametrize("language", LANGUAGES)
def test_upholding_a_decision_with_changes(recheck, officer, language):
    response = client_in(officer, language).post(
        f"/staff/officer/rechecks/{recheck.id}/",
        {"result": "upheld", "total_points": "95.0", "reason": REASON},
    )

    assert response.status_code == 400
    assert_refused(response, language, "upheld_with_changes")
    recheck.refresh_from_db()
    assert recheck.status == Recheck.Status.OPEN


@pytest.mark.parametrize("language", LANGUAGES)
def test_changing_a_decision_without_changes(recheck, officer, language):
    response = client_in(officer, language).post(
        f"/staff/officer/rechecks/{recheck.id}/", {"result": "changed", "reason": REASON}
    )

    assert response.status_code == 400
    assert_refused(response, language, "changed_without_changes")
    recheck.refresh_from_db()
    assert recheck.status == Recheck.Status.OPEN


@pytest.mark.parametrize("language", LANGUAGES)
def test_answering_a_recheck_answered_meanwhile(recheck, officer, language):
    recheck_resolve(recheck=recheck, actor=officer, result="upheld", reason="已核对")

    response = client_in(officer, language).post(
        f"/staff/officer/rechecks/{recheck.id}/",
        {"result": "changed", "total_points": "95.0", "reason": REASON},
    )

    assert response.status_code == 400
    assert_refused(response, language, "answered")
    recheck.refresh_from_db()
    assert (recheck.status, recheck.resolution_reason) == (Recheck.Status.UPHELD, "已核对")


# --- policy what-if ------------------------------------------------------------------------


def _active_document(officer) -> dict:
    page = login(officer).get("/staff/officer/whatif/")
    return json.loads(page.context["form"].initial["document"])


@pytest.mark.parametrize("language", LANGUAGES)
def test_trying_another_districts_policy(town, officer, language):
    document = {**_active_document(officer), "district_code": "440605"}

    response = client_in(officer, language).post(
        "/staff/officer/whatif/", {"document": json.dumps(document)}
    )

    assert response.status_code == 400
    assert_refused(response, language, "foreign_policy")
    assert response.context["result"] is None


@pytest.mark.parametrize("language", LANGUAGES)
def test_trying_a_policy_with_a_value_out_of_range(town, officer, language):
    document = _active_document(officer)

    response = client_in(officer, language).post(
        "/staff/officer/whatif/", {"document": json.dumps(document), "si_min_months": "700"}
    )

    assert response.status_code == 400
    assert_refused(response, language, "policy_value")


@pytest.mark.parametrize("language", LANGUAGES)
def test_trying_a_policy_of_a_year_without_one_in_force(town, officer, language):
    document = {**_active_document(officer), "admission_year": 2031, "version": "2031.1"}

    response = client_in(officer, language).post(
        "/staff/officer/whatif/", {"document": json.dumps(document)}
    )

    assert response.status_code == 400
    assert_refused(response, language, "no_policy")
