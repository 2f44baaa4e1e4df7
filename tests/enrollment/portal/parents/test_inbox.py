"""The parents' inbox shows every message written for them, and only theirs; the family
chooses its language and channels there. The officer's case page shows the delivery log."""

import pytest
from django.urls import reverse

from enrollment.models import Notification
from enrollment.services.delivery import notifications_send
from tests.enrollment.portal.parents.conftest import signed_in
from tests.enrollment.portal.staff.conftest import login
from tests.enrollment.services.test_notifications import MORNING

pytestmark = pytest.mark.django_db


def test_the_inbox_lists_the_familys_messages_newest_first_and_marks_them_read(
    decided, parent, others_application
):
    response = signed_in(parent).get(reverse("inbox"))

    assert response.status_code == 200
    bodies = [m.body for m in response.context["messages_list"]]
    assert bodies == [
        f"申请{decided.ref}核验完成：符合条件，积分109.3分。详情请登录查看。",
        f"申请{decided.ref}已收到，正在向数据平台核验，有结果会通知您。",
    ]
    assert others_application.ref not in response.content.decode()
    assert not Notification.objects.filter(
        recipient=parent, channel="inbox", read_at__isnull=True
    ).exists()


def test_a_family_chooses_english_and_email_only(decided, parent):
    response = signed_in(parent).post(
        reverse("inbox"),
        {"language": "en", "notify_by": "email", "email": "mother@example.cn"},
    )

    assert response.status_code == 302
    parent.refresh_from_db()
    assert (parent.language, parent.notify_by, parent.email) == (
        "en",
        "email",
        "mother@example.cn",
    )


def test_an_invalid_address_is_refused_and_nothing_changes(decided, parent):
    response = signed_in(parent).post(
        reverse("inbox"), {"language": "en", "notify_by": "email", "email": "not-an-address"}
    )

    assert response.status_code == 200
    parent.refresh_from_db()
    assert (parent.language, parent.notify_by, parent.email) == ("zh-hans", "both", "")


def test_the_officers_case_page_shows_each_message_and_its_attempts(decided, officer):
    notifications_send(now=MORNING)

    response = login(officer).get(reverse("staff:officer-case", args=[decided.ref]))

    deliveries = response.context["deliveries"]
    assert [(m.event, m.channel, m.status) for m in deliveries] == [
        ("received", "sms", "sent"),
        ("decided", "sms", "sent"),
    ]
    assert "通知发送记录" in response.content.decode()
