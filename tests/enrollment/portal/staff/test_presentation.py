"""What staff pages say for codes: every code has its words in both languages, and what a
version does not know is said in general words, never in the English the services wrote."""

import re
from types import SimpleNamespace

import pytest
from django.utils import translation

from enrollment.models import EventReason
from enrollment.portal.staff.officer.presentation import event_reason
from registry.feeds.specs import RowRejected
from registry.stewards.presentation import REJECTIONS, rejection_message

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


def _event(code="", params=None, reason=""):
    return SimpleNamespace(reason_code=code, reason_params=params or {}, reason=reason)


def test_every_row_rejection_code_has_its_words():
    codes = {value for name, value in vars(RowRejected).items() if name.isupper()}

    assert set(REJECTIONS) == codes


@pytest.mark.parametrize("code", EventReason.values)
def test_every_event_reason_has_words_in_both_languages(code):
    chinese = event_reason(_event(code))
    with translation.override("en"):
        english = event_reason(_event(code))

    assert CJK.search(chinese) is not None
    assert english != ""
    assert CJK.search(english) is None


@pytest.mark.parametrize(
    ("event", "words"),
    [
        # A person's words before events had codes: as typed.
        (_event(reason="材料与公安记录一致"), "材料与公安记录一致"),
        # A code this version does not know.
        (_event("rewritten_by_a_later_version"), "系统记录的变更"),
        # Specifics missing or not as expected: the code's own words.
        (_event("evidence_offered", {"fact": "pets"}), "家长补充了证明材料"),
        (_event("registry_unavailable", {"attempts": "many"}), "数据平台多次无法访问，转人工审核"),
        (
            _event("lookup_refused", {"refusal": "QUOTA"}),
            "数据平台拒绝了查询，转人工审核。原因：数据平台拒绝了这次查询",
        ),
        (_event("override", reason="以户籍材料为准"), "人工改判：以户籍材料为准"),
    ],
)
def test_event_reasons_fall_back_to_what_can_be_said(event, words):
    assert event_reason(event) == words


@pytest.mark.parametrize(
    ("item", "words"),
    [
        # Parameters this version does not expect: general words with the column.
        (
            {"line": 4, "code": "not_digits", "params": {"field": "community_code"}},
            "该行被拒收：社区代码（community_code）",
        ),
        ({"line": 4, "code": "not_digits", "params": "garbled"}, "该行被拒收。"),
        # A column the feeds do not have is shown as written, masked and short.
        (
            {"line": 4, "code": "", "params": {"field": "4406041990070122" + "2X"}},
            "该行被拒收：440604********222X",
        ),
    ],
)
def test_rejections_fall_back_to_general_words(item, words):
    assert rejection_message(item) == words
