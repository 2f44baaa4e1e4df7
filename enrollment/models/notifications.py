"""What the product tells people: one outbox row per event, recipient and channel, and the
log of every attempt to deliver it."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class NotificationEvent(models.TextChoices):
    """Every event that asks something of a family, or of an officer."""

    RECEIVED = "received", _("申请已收到")
    DECIDED = "decided", _("核验完成，结果已出")
    NEEDS_REVIEW = "needs_review", _("需补充材料或承诺")
    EVIDENCE_ACCEPTED = "evidence_accepted", _("证明材料已采纳")
    EVIDENCE_REJECTED = "evidence_rejected", _("证明材料未采纳")
    OFFER_MADE = "offer_made", _("获得学位")
    OFFER_REMINDER_48H = "offer_reminder_48h", _("答复学位提醒（48小时）")
    OFFER_REMINDER_12H = "offer_reminder_12h", _("答复学位提醒（12小时）")
    OFFER_EXPIRED = "offer_expired", _("学位逾期未答复")
    WAITLIST_OFFER = "waitlist_offer", _("候补获得学位")
    RECHECK_ANSWERED = "recheck_answered", _("复核已答复")
    ENROLLED = "enrolled", _("学校已确认报到")
    REVIEW_DIGEST = "review_digest", _("待审核案件日报")


class NotificationChannel(models.TextChoices):
    # Written as delivered: the portal's inbox shows it whatever happens to the others.
    INBOX = "inbox", _("站内消息")
    SMS = "sms", _("短信")
    EMAIL = "email", _("电子邮件")


class NotificationPreference(models.TextChoices):
    """Which of SMS and e-mail a family wants besides the inbox, which always has everything."""

    BOTH = "both", _("短信和电子邮件")
    SMS = "sms", _("仅短信")
    EMAIL = "email", _("仅电子邮件")


class NotificationQuerySet(models.QuerySet):
    def inbox_of(self, user, now):
        """A person's inbox: every message written for them whose moment has come (an offer's
        message waits for the run's embargo like the offer itself)."""
        return self.filter(
            recipient=user, channel=NotificationChannel.INBOX, send_after__lte=now
        ).order_by("-send_after", "-id")

    def due(self, now):
        """Messages a worker may claim now."""
        return self.filter(status=Notification.Status.QUEUED, send_after__lte=now)


class Notification(models.Model):
    """One message for one recipient on one channel, written in the event's transaction.

    `key` is `<event>:<object>:<recipient>:<channel>`: the unique constraint on it means that
    writing the same event twice (a redelivered task, a second publication attempt) writes
    nothing the second time, and so sends nothing. A worker claims a queued row by moving it
    to `sending` (FOR UPDATE SKIP LOCKED), so two workers never take the same row.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("待发送")
        SENDING = "sending", _("发送中")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败")
        # Beyond the daily cap, or no address: the inbox has it, the phone does not.
        SKIPPED = "skipped", _("仅站内消息")

    key = models.CharField(max_length=120, unique=True)
    event = models.CharField(max_length=24, choices=NotificationEvent.choices)
    channel = models.CharField(max_length=8, choices=NotificationChannel.choices)
    recipient = models.ForeignKey("User", on_delete=models.CASCADE, related_name="notifications")
    application = models.ForeignKey(
        "Application",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    # The phone number or e-mail address at the time of the event; blank for the inbox.
    address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=120)
    body = models.TextField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField()
    # Not before: the run's embargo, quiet hours, or the next retry after a failure.
    send_after = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The workers' claim and the reconciler: only the rows still to send are indexed,
            # so a drained outbox of millions costs nothing to search.
            models.Index(
                fields=["send_after"],
                condition=Q(status__in=["queued", "sending"]),
                name="notification_due",
            ),
            models.Index(fields=["recipient", "channel", "send_after"]),
        ]

    def __str__(self) -> str:
        return self.key


class DeliveryAttempt(models.Model):
    """What happened to a message each time a worker took it: sent, failed with the
    gateway's answer, held for quiet hours, or kept to the inbox by the daily cap."""

    class Outcome(models.TextChoices):
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败")
        HELD = "held", _("夜间暂缓")
        CAPPED = "capped", _("超过每日条数，仅站内消息")
        NO_ADDRESS = "no_address", _("无可用号码或邮箱")

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="attempts_log"
    )
    at = models.DateTimeField()
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    detail = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.notification_id} {self.outcome}"
