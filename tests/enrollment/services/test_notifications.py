"""Every event writes one message per recipient and channel, once; workers send them, hold SMS
through quiet hours, keep to the daily cap, retry failures and log every attempt."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from enrollment import sms
from enrollment.models import (
    DeliveryAttempt,
    Evidence,
    Notification,
    NotificationEvent,
    Offer,
    Recheck,
)
from enrollment.services import notifications as service
from enrollment.services.allocation import (
    allocation_publish,
    allocation_run_create,
    allocation_run_execute,
)
from enrollment.services.delivery import notifications_reconcile, notifications_send
from enrollment.services.offers import offer_answer, offer_mark_enrolment
from enrollment.services.rechecks import recheck_request, recheck_resolve
from enrollment.services.review import evidence_review
from tests.conftest import YEAR
from tests.enrollment.allocation_helpers import decided_application
from tests.enrollment.factories import UserFactory
from tests.enrollment.pipeline_support import guardian_id, verify_all, worked_example

pytestmark = pytest.mark.django_db

LOCAL = ZoneInfo("Asia/Shanghai")
MORNING = datetime(2027, 6, 1, 10, 0, tzinfo=LOCAL)
NIGHT = datetime(2027, 6, 1, 23, 30, tzinfo=LOCAL)
ID_NUMBER = re.compile(r"\d{17}[\dXx]")


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def _keys(**filters) -> list[str]:
    return sorted(Notification.objects.filter(**filters).values_list("key", flat=True))


def _published(district, officer, parent):
    application = decided_application(
        policy=district["policy"], prefs=["S440604001"], points="100", ref="P001", parent=parent
    )
    run = allocation_run_create(
        admission_year=YEAR, seed=3, actor=officer, district_code="440604", enqueue=False
    )
    run = allocation_publish(run=allocation_run_execute(run_id=run.pk), actor=officer, reason="r1")
    return application, Offer.objects.get(application=application)


def test_a_submission_writes_one_message_per_channel_with_the_application(district, parent):
    # given an e-mail address besides the verified phone
    parent.email = "mother@example.cn"
    parent.save(update_fields=["email"])

    # when
    application = decided_application(
        policy=district["policy"], prefs=["S440604001"], ref="P001", parent=parent
    )

    # then
    rows = Notification.objects.filter(event="received").order_by("channel")
    assert [(r.key, r.channel, r.status, r.address, r.application_id) for r in rows] == [
        (
            f"received:P001:{parent.pk}:email",
            "email",
            "queued",
            "mother@example.cn",
            application.pk,
        ),
        (f"received:P001:{parent.pk}:inbox", "inbox", "sent", "", application.pk),
        (f"received:P001:{parent.pk}:sms", "sms", "queued", parent.phone, application.pk),
    ]
    assert rows[0].body == "申请P001已收到，正在向数据平台核验，有结果会通知您。"


def test_a_verification_batch_tells_each_family_once_with_the_total(district):
    # given two worked examples applied for by the mother's own account
    applications = [worked_example(1, seq=1), worked_example(7, seq=2)]
    parents = []
    for application, seq in zip(applications, (1, 2), strict=True):
        parents.append(UserFactory(identity=guardian_id(seq)))
        application.applicant = parents[-1]
        application.save(update_fields=["applicant"])

    # when
    verify_all()
    again = service.verification_outcomes_notify(application_ids=[a.pk for a in applications])

    # then
    decided = Notification.objects.get(recipient=parents[0], channel="inbox")
    review = Notification.objects.get(recipient=parents[1], channel="inbox")
    assert (decided.event, decided.body) == (
        "decided",
        "申请EX1-1核验完成：符合条件，积分109.3分。详情请登录查看。",
    )
    assert (review.event, review.body) == (
        "needs_review",
        "申请EX7-2需补充证明材料或签署告知承诺，请登录办理。",
    )
    assert again == 0
    assert Notification.objects.filter(event__in=["decided", "needs_review"]).count() == 4


def test_publication_offers_each_family_its_school_once_after_the_embargo(
    district, officer, parent
):
    application, offer = _published(district, officer, parent)

    again = service.offers_made_notify(offers=[offer], visible_from=offer.made_at, round=1)

    assert again == 0
    assert _keys(event="offer_made") == [
        f"offer_made:{offer.pk}:{parent.pk}:inbox",
        f"offer_made:{offer.pk}:{parent.pk}:sms",
    ]
    message = Notification.objects.get(event="offer_made", channel="sms")
    deadline = timezone.localtime(offer.respond_by)
    assert message.body == (
        f"申请P001获{district['school'].name}学位，请于{deadline.month}月{deadline.day}日"
        f"{deadline:%H:%M}前登录答复。"
    )
    assert message.send_after == offer.run.visible_from


def test_a_reminder_goes_for_an_unanswered_offer_and_not_for_an_answered_one(
    district, officer, parent
):
    # given two offers, the parent's unanswered, the other family's answered
    other = UserFactory(identity=guardian_id(77))
    decided_application(policy=district["policy"], prefs=["S440604001"], ref="Q001", parent=other)
    application, offer = _published(district, officer, parent)
    answered = Offer.objects.get(application__ref="Q001")
    offer_answer(offer=answered, actor=other, answer="accept")
    before_48 = offer.respond_by - timedelta(hours=47)

    # when beat runs in the 48 h window, twice
    first = service.offer_reminders_write(now=before_48)
    second = service.offer_reminders_write(now=before_48 + timedelta(minutes=5))

    # then
    assert first == {"offer_reminder_48h": 2, "offer_reminder_12h": 0, "offer_expired": 0}
    assert second == {"offer_reminder_48h": 0, "offer_reminder_12h": 0, "offer_expired": 0}
    assert _keys(event="offer_reminder_48h") == [
        f"offer_reminder_48h:{offer.pk}:{parent.pk}:inbox",
        f"offer_reminder_48h:{offer.pk}:{parent.pk}:sms",
    ]
    # and at 12 h the last reminder, then the expiry once the deadline passed
    service.offer_reminders_write(now=offer.respond_by - timedelta(hours=11))
    service.offer_reminders_write(now=offer.respond_by + timedelta(minutes=1))
    assert Notification.objects.filter(recipient=other).exclude(event="received").count() == 2
    assert list(
        Notification.objects.filter(recipient=parent, channel="sms")
        .order_by("id")
        .values_list("event", flat=True)
    ) == ["received", "offer_made", "offer_reminder_48h", "offer_reminder_12h", "offer_expired"]


def test_evidence_recheck_and_enrolment_each_tell_the_family_once(
    district, officer, parent, school_staff, media
):
    # given a needs-review application with a commitment offered
    application, offer = _published(district, officer, parent)
    evidence = Evidence.objects.create(
        application=application,
        fact="housing",
        kind="commitment",
        statement="承诺",
        submitted_by=parent,
        submitted_at=timezone.now(),
    )

    # when
    evidence_review(actor=officer, evidence=evidence, accept=False, reason="不符")
    service.evidence_reviewed_notify(evidence=Evidence.objects.get(pk=evidence.pk))
    recheck = recheck_request(application=application, actor=parent, reason="请复核住房")
    recheck_resolve(recheck=recheck, actor=officer, result="upheld", reason="维持")
    service.recheck_answered_notify(recheck=Recheck.objects.get(pk=recheck.pk))
    offer_answer(offer=offer, actor=parent, answer="accept")
    offer_mark_enrolment(
        school=district["school"], actor=school_staff, ref="P001", enrolment="enrolled"
    )
    offer_mark_enrolment(
        school=district["school"], actor=school_staff, ref="P001", enrolment="enrolled"
    )

    # then
    inbox = Notification.objects.filter(recipient=parent, channel="inbox").order_by("id")
    assert [(m.event, m.body) for m in inbox][2:] == [
        ("evidence_rejected", "申请P001：您提交的住房材料未采纳，原因请登录查看。"),
        ("recheck_answered", "申请P001的复核已答复：维持原结果。详情请登录查看。"),
        ("enrolled", f"{district['school'].name}已确认申请P001报到，欢迎入学。"),
    ]


def test_texts_are_in_the_recipients_language(district, parent):
    parent.language = "en"
    parent.save(update_fields=["language"])

    decided_application(policy=district["policy"], prefs=["S440604001"], ref="P001", parent=parent)

    message = Notification.objects.get(event="received", channel="sms")
    assert message.subject == "Application received"
    assert message.body == (
        "Application P001 received. We are checking it with the registry and will tell you "
        "the result."
    )


def test_workers_send_each_message_once_and_log_it(district, parent):
    decided_application(policy=district["policy"], prefs=["S440604001"], ref="P001", parent=parent)

    first = notifications_send(now=MORNING)
    second = notifications_send(now=MORNING)

    assert (first.claimed, first.sent, second.claimed) == (1, 1, 0)
    assert sms.outbox == [
        sms.SmsMessage(
            phone=parent.phone,
            text="申请P001已收到，正在向数据平台核验，有结果会通知您。",
            key=f"received:P001:{parent.pk}:sms",
        )
    ]
    message = Notification.objects.get(channel="sms")
    assert (message.status, message.sent_at, message.attempts) == ("sent", MORNING, 1)
    assert list(message.attempts_log.values_list("outcome", "at")) == [("sent", MORNING)]


def test_email_goes_through_djangos_backend(district, parent):
    parent.email = "mother@example.cn"
    parent.notify_by = "email"
    parent.save(update_fields=["email", "notify_by"])

    decided_application(policy=district["policy"], prefs=["S440604001"], ref="P001", parent=parent)
    notifications_send(now=MORNING)

    assert _keys(channel__in=["sms", "email"]) == [f"received:P001:{parent.pk}:email"]
    assert [(m.to, m.subject) for m in mail.outbox] == [(["mother@example.cn"], "申请已收到")]


class FailingGateway:
    def send(self, message):
        raise sms.SmsFailed("HTTP 503: carrier busy")


def test_a_failed_gateway_call_is_logged_and_retried_with_a_backoff(district, parent, settings):
    decided_application(policy=district["policy"], prefs=["S440604001"], ref="P001", parent=parent)
    settings.SMS_BACKEND = f"{__name__}.FailingGateway"
    settings.NOTIFY_RETRY_SECONDS = 30

    first = notifications_send(now=MORNING)
    too_early = notifications_send(now=MORNING + timedelta(seconds=10))
    settings.SMS_BACKEND = "enrollment.sms.LocmemBackend"
    retried = notifications_send(now=MORNING + timedelta(seconds=30))

    assert (first.failed, too_early.claimed, retried.sent) == (1, 0, 1)
    message = Notification.objects.get(channel="sms")
    assert (message.status, message.attempts, message.last_error) == (
        "sent",
        2,
        "HTTP 503: carrier busy",
    )
    assert list(message.attempts_log.values_list("outcome", "detail")) == [
        ("failed", "HTTP 503: carrier busy"),
        ("sent", ""),
    ]
    assert len(sms.outbox) == 1


def test_a_message_that_keeps_failing_stops_at_the_attempt_cap(district, parent, settings):
    decided_application(policy=district["policy"], prefs=["S440604001"], ref="P001", parent=parent)
    settings.SMS_BACKEND = f"{__name__}.FailingGateway"
    settings.NOTIFY_MAX_ATTEMPTS = 2

    notifications_send(now=MORNING)
    notifications_send(now=MORNING + timedelta(hours=1))
    third = notifications_send(now=MORNING + timedelta(hours=2))

    message = Notification.objects.get(channel="sms")
    assert (message.status, message.attempts, third.claimed) == ("failed", 2, 0)


def test_quiet_hours_hold_an_sms_until_eight_but_not_the_last_reminder(district, officer, parent):
    application, offer = _published(district, officer, parent)
    Offer.objects.filter(pk=offer.pk).update(respond_by=NIGHT + timedelta(hours=6))
    service.offer_reminders_write(now=NIGHT)

    result = notifications_send(now=NIGHT)

    assert (result.held, result.sent) == (2, 1)
    assert [m.text for m in sms.outbox] == [
        "申请P001的学位6月2日05:30截止答复，逾期视为放弃，请立即答复。"
    ]
    held = Notification.objects.filter(channel="sms", status="queued")
    eight = datetime(2027, 6, 2, 8, 0, tzinfo=LOCAL)
    assert sorted(held.values_list("event", "send_after")) == [
        ("offer_made", eight),
        ("received", eight),
    ]
    assert notifications_send(now=eight).sent == 2


def test_beyond_the_daily_cap_a_message_stays_in_the_inbox(district, parent, settings):
    settings.NOTIFY_DAILY_CAP = 2
    for number in range(3):
        decided_application(
            policy=district["policy"], prefs=["S440604001"], ref=f"P00{number}", parent=parent
        )

    result = notifications_send(now=MORNING)

    assert (result.sent, result.skipped) == (2, 1)
    assert len(sms.outbox) == 2
    capped = Notification.objects.get(channel="sms", status="skipped")
    assert list(capped.attempts_log.values_list("outcome", flat=True)) == ["capped"]
    assert Notification.objects.filter(channel="inbox", recipient=parent).count() == 3


def test_a_message_whose_worker_died_is_sent_again_by_the_reconciler(district, parent, settings):
    decided_application(policy=district["policy"], prefs=["S440604001"], ref="P001", parent=parent)
    Notification.objects.filter(channel="sms").update(status="sending", claimed_at=MORNING)

    early = notifications_reconcile(now=MORNING + timedelta(seconds=60))
    late = notifications_reconcile(now=MORNING + timedelta(hours=1))

    assert (early["returned"], late["returned"], late["due"]) == (0, 1, 1)
    assert notifications_send(now=MORNING + timedelta(hours=1)).sent == 1


def test_the_officers_digest_is_written_once_a_day(district, officer):
    worked_example(7, seq=3)
    verify_all()

    first = service.review_digest_write(now=MORNING)
    second = service.review_digest_write(now=MORNING + timedelta(hours=3))

    assert (first, second) == (1, 0)
    inbox = Notification.objects.get(recipient=officer, channel="inbox")
    assert inbox.body == "您所在区今日待审核案件1件，请登录处理。"


def test_no_message_holds_an_unmasked_id_number(district, officer, parent, school_staff):
    _published(district, officer, parent)
    worked_example(7, seq=4)
    verify_all()
    service.offer_reminders_write(now=timezone.now() + timedelta(days=8))

    bodies = list(Notification.objects.values_list("subject", "body"))

    assert len(bodies) >= 4
    assert [text for pair in bodies for text in pair if ID_NUMBER.search(text)] == []
    assert DeliveryAttempt.objects.count() == 0
    assert NotificationEvent.OFFER_EXPIRED in set(
        Notification.objects.values_list("event", flat=True)
    )
