"""Re-checks (复核) a family asks for after publication."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .accounts import officer_district
from .allocation import AllocationRun
from .applications import Application
from .decisions import Decision


class RecheckQuerySet(models.QuerySet):
    def for_officer(self, user):
        """Re-checks of applications of the officer's district."""
        district = officer_district(user)
        return self.none() if district is None else self.filter(application__district_code=district)


class Recheck(models.Model):
    """A family's request for a re-check (复核) after publication, and the officer's answer."""

    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        UPHELD = "upheld", _("维持原结果")
        CHANGED = "changed", _("已更正")

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="rechecks")
    run = models.ForeignKey(AllocationRun, on_delete=models.PROTECT, related_name="rechecks")
    requested_by = models.ForeignKey("User", on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    reason = models.CharField(max_length=1000)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    resolved_by = models.ForeignKey(
        "User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_reason = models.CharField(max_length=1000, blank=True)
    new_decision = models.ForeignKey(
        Decision, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = RecheckQuerySet.as_manager()

    class Meta:
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"], condition=Q(status="open"), name="one_open_recheck"
            )
        ]

    def __str__(self) -> str:
        return f"recheck {self.pk}: {self.application_id} ({self.status})"
