"""The outbox row behind each application's verification."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .applications import Application


class VerificationJob(models.Model):
    """The outbox row behind one application's verification.

    Written in the submit transaction, enqueued after commit, claimed by a worker with a
    conditional update so that a message delivered twice does the work once, and re-enqueued
    by the reconciler when its message was lost.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("排队中")
        RUNNING = "running", _("核验中")
        WAITING_REGISTRY = "waiting_registry", _("等待数据返回")
        DONE = "done", _("已完成")
        MANUAL = "manual", _("转人工")

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="verification_jobs"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=36, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "enqueued_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(status__in=["pending", "running", "waiting_registry"]),
                name="one_open_verification_job",
            )
        ]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.status})"
