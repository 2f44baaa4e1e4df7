"""What people did on the enrollment side, and every download of an admitted list."""

from django.db import models


class AuditLog(models.Model):
    """Every change a person makes on the enrollment side, with who and why."""

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        "User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    reason = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}:{self.target_id}"


class DownloadLog(models.Model):
    """Every download of an admitted list, and every refused attempt."""

    at = models.DateTimeField(db_index=True)
    user = models.ForeignKey(
        "User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    school_code = models.CharField(max_length=16)
    admission_year = models.PositiveSmallIntegerField()
    format = models.CharField(max_length=8)
    channel = models.CharField(max_length=16, default="api")
    allowed = models.BooleanField(default=True)
    rows = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.school_code} {self.format} by {self.user_id} ({'ok' if self.allowed else 'denied'})"
