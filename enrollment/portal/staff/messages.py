"""Service refusals in plain, translated words for staff: education officers and school staff.

The services' own messages are English and meant for developers and logs; a staff page shows
these words instead, chosen by the refusal's code and field. Where one code and field cover
several refusals, the refusal's `why` tells them apart; a refusal not listed here
falls back to a general message for its code, never to the English. Specifics worth keeping (a
policy key, an application reference, the cut-off date) are kept, with any ID number masked.
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from enrollment.errors import ApplicationError, ErrorCode
from enrollment.portal.staff.officer.forms import REASON_REQUIRED
from registry.idnumber import mask_in_text

STALE_DECISION = gettext_lazy("另一位工作人员刚刚更改了这个决定，请查看最新结果后再改判。")
GENERIC = gettext_lazy("无法完成这项操作，请核对后重试；如仍不行，请联系系统管理员。")

# What to say for each (code, field): (the refusal's `why`, or "" for any; words). The first
# entry whose `why` matches is the one shown.
REFUSALS = {
    (ErrorCode.REASON_REQUIRED, "reason"): [("", REASON_REQUIRED)],
    (ErrorCode.STALE_DECISION, "decision_id"): [("", STALE_DECISION)],
    (ErrorCode.PERMISSION_DENIED, "application"): [
        ("", gettext_lazy("只有申请所在区的教育局工作人员才能处理这份申请。"))
    ],
    (ErrorCode.PERMISSION_DENIED, "district_code"): [
        ("", gettext_lazy("只能为本区进行录取分配和发布。"))
    ],
    (ErrorCode.PERMISSION_DENIED, "officer"): [
        ("", gettext_lazy("只有教育局工作人员才能推演政策。"))
    ],
    (ErrorCode.NOT_FOUND, "admission_year"): [
        ("", gettext_lazy("本区这一年没有招生的学校，无法分配。"))
    ],
    (ErrorCode.NOT_FOUND, "code"): [("", gettext_lazy("只能登记本校录取孩子的报到情况。"))],
    (ErrorCode.NOT_FOUND, "recheck"): [("", gettext_lazy("找不到这份复核申请。"))],
    (ErrorCode.NO_POLICY, "admission_year"): [
        ("", gettext_lazy("政策文件所属的年份和学段还没有生效的积分办法，无法与现行办法比较。"))
    ],
    (ErrorCode.ILLEGAL_TRANSITION, "review"): [("", gettext_lazy("这份材料已经审核过了。"))],
    (ErrorCode.ILLEGAL_TRANSITION, "state"): [
        ("override", gettext_lazy("只有待人工审核或已出结果的申请可以改判。")),
        ("finding", gettext_lazy("只有待人工审核或已出结果的申请可以认定事实。")),
        ("retry", gettext_lazy("只有待人工审核或已出结果的申请可以重新核验。")),
        ("", gettext_lazy("申请当前的状态不允许这项操作。")),
    ],
    (ErrorCode.ILLEGAL_TRANSITION, "run"): [
        ("published", gettext_lazy("这次分配已经发布过了。")),
        (
            "wrong_round",
            gettext_lazy("这次分配已不是待发布的轮次（可能已有同一轮的分配发布），请重新分配。"),
        ),
        ("", gettext_lazy("这次分配现在不能发布。")),
    ],
    (ErrorCode.ILLEGAL_TRANSITION, "recheck"): [
        ("answered", gettext_lazy("这份复核申请已经答复过了。")),
        ("no_decision", gettext_lazy("这份申请还没有核验结果，无法更正。")),
        ("", gettext_lazy("这份复核申请现在不能答复。")),
    ],
    (ErrorCode.INVALID, "values.hukou_class"): [
        ("", gettext_lazy("采纳户籍材料时，请选择材料显示的户籍类别。"))
    ],
    (ErrorCode.INVALID, "values.registered_on"): [
        ("", gettext_lazy("采纳户籍材料时，请填写材料显示的户籍登记日期。"))
    ],
    (ErrorCode.INVALID, "values.qualifying_months"): [
        ("", gettext_lazy("采纳社保材料时，请填写材料显示的社保缴费月数（0 至 600）。"))
    ],
    (ErrorCode.INVALID, "values.guardian_position"): [
        ("", gettext_lazy("采纳监护关系材料时，请选择材料证明其为监护人的家长。"))
    ],
    (ErrorCode.INVALID, "values.document"): [
        ("", gettext_lazy("采纳监护关系材料时，请选择是户口簿页还是出生医学证明。"))
    ],
    (ErrorCode.INVALID, "outcome"): [
        (
            "eligible_needs_fact",
            gettext_lazy(
                "结果不能直接改为符合条件：请在“认定事实并重新计分”中认定申请所缺的事实，"
                "由积分办法重新计分。"
            ),
        ),
        ("", gettext_lazy("所选结果无效，请重新选择。")),
    ],
    (ErrorCode.INVALID, "fact"): [
        (
            "applicant_not_related",
            gettext_lazy(
                "申请账号本人与孩子的监护关系尚未核实：请先认定其监护关系"
                "（户口簿或出生医学证明），再认定其他事实。"
            ),
        ),
        ("", gettext_lazy("请选择要认定的事实。")),
    ],
    (ErrorCode.ILLEGAL_TRANSITION, "evidence"): [
        ("", gettext_lazy("家长提交的证明材料还在等待审核，请先审核这些材料。"))
    ],
    (ErrorCode.INVALID, "application"): [
        ("", gettext_lazy("这份申请还没有核验结果，无法改判；请先重新核验。"))
    ],
    (ErrorCode.INVALID, "seed"): [("", gettext_lazy("随机种子须是 0 到 2^63-1 之间的整数。"))],
    (ErrorCode.INVALID, "run"): [
        ("dry_run", gettext_lazy("试运行的分配不能发布，请正式运行一次再发布。")),
        ("not_finished", gettext_lazy("所选的分配尚未计算完成。")),
        (
            "inputs_changed",
            gettext_lazy("这次分配之后，申请、结果、学位答复或学校有了变化，请重新分配后再发布。"),
        ),
        ("", gettext_lazy("这次分配现在不能发布。")),
    ],
    (ErrorCode.INVALID, "respond_by"): [("", gettext_lazy("答复截止时间须晚于结果公布时间。"))],
    (ErrorCode.INVALID, "other"): [("", gettext_lazy("只能比较同一年份、同一区的两次分配。"))],
    (ErrorCode.INVALID, "enrolment"): [("", gettext_lazy("请选择报到情况。"))],
    (ErrorCode.ILLEGAL_TRANSITION, "enrolment"): [
        ("", gettext_lazy("家长尚未接受这个学位，只有家长已接受的学位才能登记报到。"))
    ],
    (ErrorCode.INVALID, "result"): [("", gettext_lazy("复核结论只能是维持原结果或更正结果。"))],
    (ErrorCode.INVALID, "changes"): [
        ("upheld_with_changes", gettext_lazy("维持原结果时不能填写更正内容。")),
        ("", gettext_lazy("更正结果时，请至少填写一项更正内容。")),
    ],
    (ErrorCode.INVALID, "total_points"): [
        ("", gettext_lazy("更正后总积分须是 0 至 999.9 之间的数。"))
    ],
    (ErrorCode.INVALID, "hukou_class"): [("", gettext_lazy("更正后户籍类别只能是 D、C 或 N。"))],
    (ErrorCode.INVALID, "housing_class"): [
        ("", gettext_lazy("更正后住房类别只能是 OWN、RENT 或 NONE。"))
    ],
}

# A refusal not listed above: what can be said from its code alone.
CODE_FALLBACKS = {
    ErrorCode.INVALID: gettext_lazy("填写的内容有误，请核对后重试。"),
    ErrorCode.ILLEGAL_TRANSITION: gettext_lazy("当前状态不允许这项操作。"),
    ErrorCode.NOT_FOUND: gettext_lazy("找不到要处理的记录。"),
    ErrorCode.PERMISSION_DENIED: gettext_lazy("您没有权限进行这项操作。"),
    ErrorCode.NO_POLICY: gettext_lazy("还没有生效的积分办法。"),
}

# The policy engine's complaints (enrollment/policy/engine.py), as they follow "<key>: ".
POLICY_PROBLEMS = {
    "is required": gettext_lazy("不能缺少"),
    "must be an object": gettext_lazy("须是 JSON 对象"),
    "must be a number of points": gettext_lazy("须是分数"),
    "must be between 0 and 999.9 with at most one decimal place": gettext_lazy(
        "须在 0 至 999.9 之间，最多一位小数"
    ),
    "must be a date YYYY-MM-DD": gettext_lazy("须是 YYYY-MM-DD 格式的日期"),
    "born_from must not be after born_to": gettext_lazy("中 born_from 不能晚于 born_to"),
    "must be a percentage": gettext_lazy("须是百分比"),
    "must be in (0, 100], two decimals": gettext_lazy("须大于 0、不超过 100，最多两位小数"),
    "must be a whole number of months from 0 to 600": gettext_lazy("须是 0 至 600 之间的整月数"),
    "must list at least one row": gettext_lazy("至少要有一行"),
    "must be D, C or N": gettext_lazy("只能是 D、C 或 N"),
    "must be OWN or RENT": gettext_lazy("只能是 OWN 或 RENT"),
    "must be true or false": gettext_lazy("只能是 true 或 false"),
    "must be an object keyed by hukou class": gettext_lazy("须是以户籍类别为键的 JSON 对象"),
    "must be a rule for hukou class D, C or N": gettext_lazy("须是户籍类别 D、C 或 N 的加分规则"),
    "must be residence_month or si_month": gettext_lazy("只能是 residence_month 或 si_month"),
    "must be a whole number of months": gettext_lazy("须是整月数"),
    "must list hukou classes": gettext_lazy("须列出户籍类别"),
}

# A policy key is the officer's own JSON: shown as typed, but short and never an ID number.
KEY_LENGTH = 80


def staff_message(error: ApplicationError, *, ref: str = "") -> str:
    """A service's refusal in words for the staff page, in the request's language.

    `ref` is the application reference the staff member acted on, when the page knows it.
    """
    if error.field.startswith("document."):
        return _policy_message(error)
    if (error.code, error.field) == (ErrorCode.NOT_FOUND, "ref"):
        return _not_admitted_message(ref)
    if error.why == "after_cutoff":
        return _("户籍登记日期不能晚于积分办法的截止日期 %(cutoff)s。") % {
            "cutoff": error.extra["cutoff"]
        }
    for why, message in REFUSALS.get((error.code, error.field), ()):
        if why in ("", error.why):
            return str(message)
    return str(CODE_FALLBACKS.get(error.code, GENERIC))


def _not_admitted_message(ref: str) -> str:
    if not ref:
        return _("本校已公布的录取名单中没有这个孩子。")
    return _("本校已公布的录取名单中没有申请编号为 %(ref)s 的孩子。") % {
        "ref": mask_in_text(ref)[:32]
    }


def _policy_message(error: ApplicationError) -> str:
    key = mask_in_text(error.field.removeprefix("document."))[:KEY_LENGTH]
    if error.code == ErrorCode.PERMISSION_DENIED:
        return _("只能推演本区的积分办法：政策文件中的 %(key)s 须是本区的代码。") % {"key": key}
    if key == "document":
        return _("政策文件必须是 JSON 对象。")
    prefix = f"{error.field}: "
    problem = (
        POLICY_PROBLEMS.get(error.message.removeprefix(prefix))
        if error.message.startswith(prefix)
        else None
    )
    if problem is None:
        return _("政策文件中的 %(key)s 取值不符合要求。") % {"key": key}
    return _("政策文件中的 %(key)s %(problem)s。") % {"key": key, "problem": problem}
