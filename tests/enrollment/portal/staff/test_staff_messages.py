"""Every refusal a staff page can meet has its own words in both languages; the services' English
never reaches a staff page, nor does an ID number."""

import ast

import pytest
from django.utils import translation

from enrollment.errors import ApplicationError, ErrorCode
from enrollment.portal.staff.messages import CODE_FALLBACKS, GENERIC, POLICY_PROBLEMS, staff_message
from registry import idnumber
from tests.conftest import ROOT

ID_NUMBER = "440604202003151230"

# (code, field, the service's message, Chinese, English). The service messages are the ones the
# services write, numbers and all.
REFUSALS = [
    (
        ErrorCode.REASON_REQUIRED,
        "reason",
        "reason: say why",
        "请填写理由，理由不能为空。",
        "Please give a reason; it cannot be empty.",
    ),
    (
        ErrorCode.PERMISSION_DENIED,
        "application",
        "Only an officer of the application's district may do this.",
        "只有申请所在区的教育局工作人员才能处理这份申请。",
        "Only officers of the application's district can act on this application.",
    ),
    (
        ErrorCode.ILLEGAL_TRANSITION,
        "review",
        "This evidence has been reviewed already.",
        "这份材料已经审核过了。",
        "This evidence has already been reviewed.",
    ),
    (
        ErrorCode.INVALID,
        "values.hukou_class",
        "values.hukou_class: state the hukou class the evidence shows (D, C or N)",
        "采纳户籍材料时，请选择材料显示的户籍类别。",
        "To accept hukou evidence, choose the hukou class the document shows.",
    ),
    (
        ErrorCode.INVALID,
        "values.registered_on",
        "values.registered_on: state the registration date (YYYY-MM-DD)",
        "采纳户籍材料时，请填写材料显示的户籍登记日期。",
        "To accept hukou evidence, enter the registration date the document shows.",
    ),
    (
        ErrorCode.INVALID,
        "values.registered_on",
        "values.registered_on: must not be after the cut-off date 2027-03-31",
        "户籍登记日期不能晚于积分办法的截止日期 2027-03-31。",
        "The registration date must not be after the policy's cut-off date, 2027-03-31.",
    ),
    (
        ErrorCode.INVALID,
        "values.qualifying_months",
        "values.qualifying_months: state the months with pension and medical paid",
        "采纳社保材料时，请填写材料显示的社保缴费月数（0 至 600）。",
        "To accept social-insurance evidence, enter the months of contributions the document "
        "shows (0 to 600).",
    ),
    (
        ErrorCode.INVALID,
        "outcome",
        "outcome: must be eligible or ineligible",
        "所选结果无效，请重新选择。",
        "The chosen outcome is not valid; please choose again.",
    ),
    (
        ErrorCode.INVALID,
        "outcome",
        "outcome: a case becomes eligible by accepting the fact it lacks, then scoring it; "
        "record the finding instead",
        "结果不能直接改为符合条件：请在“认定事实并重新计分”中认定申请所缺的事实，"
        "由积分办法重新计分。",
        "An outcome cannot simply be changed to eligible: accept the fact the application lacks "
        "under “Accept a fact and score again”, and the points policy scores it again.",
    ),
    (
        ErrorCode.INVALID,
        "outcome",
        "outcome: must be ineligible",
        "所选结果无效，请重新选择。",
        "The chosen outcome is not valid; please choose again.",
    ),
    (
        ErrorCode.INVALID,
        "fact",
        "fact: the applying account is not a confirmed guardian of the child; "
        "accept its relation first",
        "申请账号本人与孩子的监护关系尚未核实：请先认定其监护关系"
        "（户口簿或出生医学证明），再认定其他事实。",
        "The applying account’s own relation to the child is not confirmed: accept that "
        "relation first (household booklet or birth certificate), then any other fact.",
    ),
    (
        ErrorCode.INVALID,
        "fact",
        "fact: must be one of hukou, housing, social_insurance, residence_permit, relation",
        "请选择要认定的事实。",
        "Choose the fact to accept.",
    ),
    (
        ErrorCode.ILLEGAL_TRANSITION,
        "state",
        "An application that is verifying cannot be decided by an officer.",
        "只有待人工审核或已出结果的申请可以认定事实。",
        "Only an application waiting for review or already decided can have a fact accepted.",
    ),
    (
        ErrorCode.ILLEGAL_TRANSITION,
        "evidence",
        "evidence: the family's evidence is waiting for review; review it first",
        "家长提交的证明材料还在等待审核，请先审核这些材料。",
        "The family's evidence is still waiting for review; review it first.",
    ),
    (
        ErrorCode.INVALID,
        "outcome",
        "Unknown outcome.",
        "所选结果无效，请重新选择。",
        "The chosen outcome is not valid; please choose again.",
    ),
    (
        ErrorCode.INVALID,
        "application",
        "There is no decision to override yet; verify the application first.",
        "这份申请还没有核验结果，无法改判；请先重新核验。",
        "This application has no verification result yet, so it cannot be overridden; verify "
        "it again first.",
    ),
    (
        ErrorCode.STALE_DECISION,
        "decision_id",
        "decision_id: the decision changed since it was shown; reload the case and decide again",
        "另一位工作人员刚刚更改了这个决定，请查看最新结果后再改判。",
        "Another officer has just changed this decision; please look at the latest result "
        "before changing it.",
    ),
    (
        ErrorCode.ILLEGAL_TRANSITION,
        "state",
        "An application that is verifying cannot be overridden.",
        "只有待人工审核或已出结果的申请可以改判。",
        "Only an application waiting for review or already decided can be overridden.",
    ),
    (
        ErrorCode.ILLEGAL_TRANSITION,
        "state",
        "An application that is verifying is not waiting for review.",
        "只有待人工审核或已出结果的申请可以重新核验。",
        "Only an application waiting for review or already decided can be verified again.",
    ),
    (
        ErrorCode.ILLEGAL_TRANSITION,
        "state",
        "An application cannot go from decided to verifying.",
        "申请当前的状态不允许这项操作。",
        "The application's current state does not allow this.",
    ),
    (
        ErrorCode.PERMISSION_DENIED,
        "district_code",
        "Officers allocate places of their own district only.",
        "只能为本区进行录取分配和发布。",
        "You can run and publish allocations for your own district only.",
    ),
    (
        ErrorCode.INVALID,
        "seed",
        "The seed must be a whole number from 0 to 2^63-1.",
        "随机种子须是 0 到 2^63-1 之间的整数。",
        "The seed must be a whole number from 0 to 2^63-1.",
    ),
    (
        ErrorCode.NOT_FOUND,
        "admission_year",
        "No schools admit in 2030 in this district.",
        "本区这一年没有招生的学校，无法分配。",
        "No school in your district admits children in this year, so there is nothing to allocate.",
    ),
    (
        ErrorCode.INVALID,
        "other",
        "Compare runs of the same year and district.",
        "只能比较同一年份、同一区的两次分配。",
        "Only two runs of the same year and district can be compared.",
    ),
    (
        ErrorCode.INVALID,
        "run",
        "Run 7 has not finished.",
        "所选的分配尚未计算完成。",
        "The chosen allocation run is not finished yet.",
    ),
    (
        ErrorCode.REASON_REQUIRED,
        "reason",
        "Say why this run is published.",
        "请填写理由，理由不能为空。",
        "Please give a reason; it cannot be empty.",
    ),
    (
        ErrorCode.INVALID,
        "run",
        "A dry run cannot be published; run it for real.",
        "试运行的分配不能发布，请正式运行一次再发布。",
        "A dry run cannot be published; run the allocation for real and publish that run.",
    ),
    (
        ErrorCode.INVALID,
        "run",
        "The run has not finished.",
        "所选的分配尚未计算完成。",
        "The chosen allocation run is not finished yet.",
    ),
    (
        ErrorCode.ILLEGAL_TRANSITION,
        "run",
        "The run is already published.",
        "这次分配已经发布过了。",
        "This allocation run has already been published.",
    ),
    (
        ErrorCode.ILLEGAL_TRANSITION,
        "run",
        "This run is for round 1; round 2 is the one to publish.",
        "这次分配已不是待发布的轮次（可能已有同一轮的分配发布），请重新分配。",
        "This run is no longer for the round to be published (another run of its round may "
        "have been published); run the allocation again.",
    ),
    (
        ErrorCode.INVALID,
        "run",
        "The applications, decisions, offers or schools changed since this run; "
        "run the allocation again.",
        "这次分配之后，申请、结果、学位答复或学校有了变化，请重新分配后再发布。",
        "Applications, decisions, answers to offers or schools have changed since this run; "
        "run the allocation again before publishing.",
    ),
    (
        ErrorCode.INVALID,
        "respond_by",
        "The answer deadline must come after the offers.",
        "答复截止时间须晚于结果公布时间。",
        "The deadline for answers must come after the results are published.",
    ),
    (
        ErrorCode.NOT_FOUND,
        "code",
        "No such school among yours.",
        "只能登记本校录取孩子的报到情况。",
        "You can record enrolment only for children admitted to your own school.",
    ),
    (
        ErrorCode.INVALID,
        "enrolment",
        "enrolment must be one of enrolled, no_show",
        "请选择报到情况。",
        "Please choose whether the child enrolled.",
    ),
    (
        ErrorCode.ILLEGAL_TRANSITION,
        "enrolment",
        "The family has not accepted this place (offer is offered); 报到 can be recorded only "
        "for an accepted place.",
        "家长尚未接受这个学位，只有家长已接受的学位才能登记报到。",
        "The family has not accepted this place yet; enrolment can be recorded only for a place "
        "the family accepted.",
    ),
    (
        ErrorCode.NOT_FOUND,
        "ref",
        "No child with this reference is admitted here.",
        "本校已公布的录取名单中没有这个孩子。",
        "This child is not on your school's published admitted list.",
    ),
    (
        ErrorCode.NOT_FOUND,
        "recheck",
        "No such re-check.",
        "找不到这份复核申请。",
        "This re-check request cannot be found.",
    ),
    (
        ErrorCode.REASON_REQUIRED,
        "reason",
        "Say why the re-check ends this way.",
        "请填写理由，理由不能为空。",
        "Please give a reason; it cannot be empty.",
    ),
    (
        ErrorCode.ILLEGAL_TRANSITION,
        "recheck",
        "This re-check is already answered.",
        "这份复核申请已经答复过了。",
        "This re-check has already been answered.",
    ),
    (
        ErrorCode.INVALID,
        "result",
        "The result is upheld or changed.",
        "复核结论只能是维持原结果或更正结果。",
        "A re-check ends with the decision either upheld or corrected.",
    ),
    (
        ErrorCode.INVALID,
        "changes",
        "An upheld decision has no changes.",
        "维持原结果时不能填写更正内容。",
        "To uphold the decision, leave the corrections empty.",
    ),
    (
        ErrorCode.INVALID,
        "changes",
        "A changed decision sets some of outcome, total_points, hukou_class, housing_class.",
        "更正结果时，请至少填写一项更正内容。",
        "To correct the decision, fill in at least one correction.",
    ),
    (
        ErrorCode.ILLEGAL_TRANSITION,
        "recheck",
        "The application has no decision yet.",
        "这份申请还没有核验结果，无法更正。",
        "This application has no verification result yet, so there is nothing to correct.",
    ),
    (
        ErrorCode.INVALID,
        "total_points",
        "total_points is not a number.",
        "更正后总积分须是 0 至 999.9 之间的数。",
        "The corrected total must be a number from 0 to 999.9.",
    ),
    (
        ErrorCode.INVALID,
        "total_points",
        "total_points is out of range.",
        "更正后总积分须是 0 至 999.9 之间的数。",
        "The corrected total must be a number from 0 to 999.9.",
    ),
    (
        ErrorCode.INVALID,
        "hukou_class",
        "Unknown hukou class.",
        "更正后户籍类别只能是 D、C 或 N。",
        "The corrected hukou class must be D, C or N.",
    ),
    (
        ErrorCode.INVALID,
        "housing_class",
        "Unknown housing class.",
        "更正后住房类别只能是 OWN、RENT 或 NONE。",
        "The corrected housing class must be OWN, RENT or NONE.",
    ),
    (
        ErrorCode.PERMISSION_DENIED,
        "officer",
        "Only officers may try policies.",
        "只有教育局工作人员才能推演政策。",
        "Only education officers can try policy changes.",
    ),
    (
        ErrorCode.INVALID,
        "document.si_min_months",
        "document.si_min_months: must be a whole number of months from 0 to 600",
        "政策文件中的 si_min_months 须是 0 至 600 之间的整月数。",
        "In the policy document, si_min_months must be a whole number of months from 0 to 600.",
    ),
    (
        ErrorCode.INVALID,
        "document.base_points[2].points",
        "document.base_points[2].points: must be a number of points",
        "政策文件中的 base_points[2].points 须是分数。",
        "In the policy document, base_points[2].points must be a number of points.",
    ),
    (
        ErrorCode.INVALID,
        "document.version",
        "document.version: version 2027.1 already holds other rules; give the changed policy "
        "a new version",
        "政策文件中的 version 取值不符合要求。",
        "In the policy document, version has a value that is not allowed.",
    ),
    (
        ErrorCode.PERMISSION_DENIED,
        "document.district_code",
        "document.district_code: an officer tries policies of their own district only",
        "只能推演本区的积分办法：政策文件中的 district_code 须是本区的代码。",
        "You can try policies of your own district only: district_code in the policy document "
        "must be your district's code.",
    ),
    (
        ErrorCode.NO_POLICY,
        "admission_year",
        "No points policy is active for district 440604, year 2031.",
        "政策文件所属的年份和学段还没有生效的积分办法，无法与现行办法比较。",
        "No points policy is in force for this document's year and grade, so there is nothing "
        "to compare it with.",
    ),
]

# The `extra` the services give the refusals that share a code and field with others: which
# one it is, in a word that does not change with the English.
EXTRA = {
    "outcome: a case becomes eligible by accepting the fact it lacks, then scoring it; "
    "record the finding instead": {"why": "eligible_needs_fact"},
    "fact: the applying account is not a confirmed guardian of the child; "
    "accept its relation first": {"why": "applicant_not_related"},
    "An application that is verifying cannot be decided by an officer.": {"why": "finding"},
    "evidence: the family's evidence is waiting for review; review it first": {
        "why": "evidence_pending"
    },
    "values.registered_on: must not be after the cut-off date 2027-03-31": {
        "why": "after_cutoff",
        "cutoff": "2027-03-31",
    },
    "An application that is verifying cannot be overridden.": {"why": "override"},
    "An application that is verifying is not waiting for review.": {"why": "retry"},
    "Run 7 has not finished.": {"why": "not_finished"},
    "A dry run cannot be published; run it for real.": {"why": "dry_run"},
    "The run has not finished.": {"why": "not_finished"},
    "The run is already published.": {"why": "published"},
    "This run is for round 1; round 2 is the one to publish.": {"why": "wrong_round"},
    "The applications, decisions, offers or schools changed since this run; "
    "run the allocation again.": {"why": "inputs_changed"},
    "This re-check is already answered.": {"why": "answered"},
    "The family has not accepted this place (offer is offered); 报到 can be recorded only "
    "for an accepted place.": {"why": "not_accepted"},
    "An upheld decision has no changes.": {"why": "upheld_with_changes"},
    "The application has no decision yet.": {"why": "no_decision"},
}


def _refusal(code, service, field) -> ApplicationError:
    return ApplicationError(code, service, field=field, extra=EXTRA.get(service))


@pytest.mark.parametrize(("code", "field", "service", "chinese", "english"), REFUSALS)
def test_each_staff_refusal_has_its_own_words_in_both_languages(
    code, field, service, chinese, english
):
    error = _refusal(code, service, field)

    with translation.override("zh-hans"):
        assert staff_message(error) == chinese
    with translation.override("en"):
        assert staff_message(error) == english


def test_a_refusal_of_an_unknown_code_or_field_says_something_general_and_translated():
    unknown_code = ApplicationError(ErrorCode.DUPLICATE_APPLICATION, "Already applied.", field="x")
    unknown_field = ApplicationError(ErrorCode.INVALID, "something: is wrong", field="something")

    with translation.override("zh-hans"):
        assert staff_message(unknown_code) == (
            "无法完成这项操作，请核对后重试；如仍不行，请联系系统管理员。"
        )
        assert staff_message(unknown_field) == "填写的内容有误，请核对后重试。"
    with translation.override("en"):
        assert staff_message(unknown_code) == (
            "This could not be done. Check and try again; if it still does not work, contact "
            "the system administrator."
        )
        assert staff_message(unknown_field) == (
            "Something entered is not valid; please check it and try again."
        )


def test_a_reference_or_policy_key_holding_an_id_number_is_shown_masked():
    masked = idnumber.mask(ID_NUMBER)
    not_admitted = ApplicationError(ErrorCode.NOT_FOUND, "No child here.", field="ref")
    key = f"bonus.{ID_NUMBER}"
    bad_key = ApplicationError(
        ErrorCode.INVALID,
        f"document.{key}: must be a rule for hukou class D, C or N",
        field=f"document.{key}",
    )

    with translation.override("zh-hans"):
        assert staff_message(not_admitted, ref=ID_NUMBER) == (
            f"本校已公布的录取名单中没有申请编号为 {masked} 的孩子。"
        )
        assert staff_message(bad_key) == (
            f"政策文件中的 bonus.{masked} 须是户籍类别 D、C 或 N 的加分规则。"
        )


def test_no_listed_refusal_falls_back_to_the_general_words():
    general = {str(GENERIC), *(str(words) for words in CODE_FALLBACKS.values())}

    with translation.override("zh-hans"):
        assert [
            service
            for code, field, service, _zh, _en in REFUSALS
            if staff_message(_refusal(code, service, field)) in general
        ] == []


def test_every_complaint_of_the_policy_engine_has_words():
    source = (ROOT / "enrollment/policy/engine.py").read_text(encoding="utf-8")
    complaints = {
        call.args[1].value
        for call in ast.walk(ast.parse(source))
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "PolicyInvalid"
    }

    assert len(complaints) == 18
    assert complaints - POLICY_PROBLEMS.keys() == set()
