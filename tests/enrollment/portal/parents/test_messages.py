"""Service refusals become plain words for parents, and point to the step that fixes them."""

import pytest
from django.utils import translation

from enrollment.errors import ApplicationError, ErrorCode
from enrollment.portal.parents.forms import friendly_message, step_of_field
from enrollment.services.policies import policy_install_default

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("code", "field", "message", "step"),
    [
        (
            ErrorCode.ID_NUMBER_INVALID,
            "child.id_number",
            "孩子的身份证号码有误，请逐位核对。",
            "child",
        ),
        (
            ErrorCode.ID_NUMBER_INVALID,
            "guardians[1].id_number",
            "监护人的身份证号码有误，请逐位核对。",
            "guardians",
        ),
        (
            ErrorCode.AGE_OUT_OF_RANGE,
            "child.id_number",
            "孩子须在 2019年9月1日 至 2021年8月31日 之间出生，才能报读今年的一年级。",
            "child",
        ),
        (
            ErrorCode.GUARDIAN_IS_CHILD,
            "guardians[0].id_number",
            "监护人的身份证号码不能与孩子的相同。",
            "guardians",
        ),
        (
            ErrorCode.GUARDIANS_REPEATED,
            "guardians[1].id_number",
            "两位监护人填写了同一个身份证号码，请核对。",
            "guardians",
        ),
        (ErrorCode.UNKNOWN_SCHOOL, "preferences[0]", "所选学校今年不招生，请重新选择。", "home"),
        (
            ErrorCode.UNKNOWN_COMMUNITY,
            "home_community_code",
            "所选社区不在本区，请重新选择。",
            "home",
        ),
        (
            ErrorCode.CONSENT_MISSING,
            "consent.given_by",
            "需要一位监护人同意核验，才能提交申请。",
            "consent",
        ),
        (ErrorCode.INVALID, "child.name", "请填写孩子的姓名。", "child"),
        (ErrorCode.INVALID, "guardians[0].relation", "请选择监护人与孩子的关系。", "guardians"),
        (ErrorCode.INVALID, "preferences[1]", "同一所学校不能选两次。", "home"),
        (ErrorCode.INVALID, "preferences", "请选择一到五所学校。", "home"),
    ],
)
def test_each_refusal_has_plain_words_and_a_step(code, field, message, step):
    policy = policy_install_default(admission_year=2027)
    # The service's own message is for developers and logs; it must not reach the parent.
    error = ApplicationError(code, f"{field}: developer text 440604202003151230", field=field)

    with translation.override("zh-hans"):
        assert friendly_message(error, policy=policy) == message
    assert step_of_field(field) == step
