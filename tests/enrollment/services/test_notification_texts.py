"""Every message fits one SMS in both languages, names the application, and is translated."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from enrollment.models import Evidence
from enrollment.services.notification_texts import (
    SMS_MAX_CHINESE,
    SMS_MAX_LATIN,
    render,
    variants,
)

# The longest school name of the demo district and a few characters more.
SCHOOL = "佛山市禅城区南庄镇紫洞实验小学"
DEADLINE = datetime(2027, 12, 31, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
PARAMS = {
    "ref": "A1B2C3D4E5F6",
    "total": "109.3",
    "school": SCHOOL,
    "deadline": DEADLINE,
    "round": 2,
    "fact": Evidence.Fact.RESIDENCE_PERMIT.label,
    "count": 1234,
}


@pytest.mark.parametrize("variant", variants())
def test_every_chinese_text_fits_one_sms(variant):
    text = render(variant, "zh-hans", **PARAMS)

    assert len(text.body) <= SMS_MAX_CHINESE, text.body
    assert "%(" not in text.body


@pytest.mark.parametrize("variant", variants())
def test_every_english_text_fits_one_sms_and_is_translated(variant):
    text = render(variant, "en", **PARAMS)

    assert len(text.body) <= SMS_MAX_LATIN, text.body
    assert text.body.isascii() or SCHOOL in text.body, text.body
    assert text.subject.isascii(), text.subject


def test_an_offer_names_school_and_deadline_in_each_language():
    zh = render("offer_made", "zh-hans", **PARAMS)
    en = render("offer_made", "en", **PARAMS)

    assert zh.body == f"申请A1B2C3D4E5F6获{SCHOOL}学位，请于12月31日18:00前登录答复。"
    assert en.body == (
        f"Application A1B2C3D4E5F6: a place at {SCHOOL} is offered. Please answer by 31 Dec 18:00."
    )
