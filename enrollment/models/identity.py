"""A parent's real-name identity: each attempt to bind an account to it, and the binding."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from registry.idnumber import mask


class IdentityVerification(models.Model):
    """One attempt to bind an account to a real-name identity; once confirmed, the record of
    the binding (who, by which method, when). The account's `verified_id_number` is the
    binding itself.

    `sms_otp`: the registry matched the name to the ID number's hukou record (二要素核验),
    then the account holder typed the code sent to the account's phone. `oidc`: a provincial
    single sign-on asserted the name and ID number (docs/operations.md, "Real-name identity").
    An attempt the registry did not match keeps neither name nor ID number: it only counts
    towards the daily limit.
    """

    class Method(models.TextChoices):
        SMS_OTP = "sms_otp", _("户籍核验和短信验证码")
        OIDC = "oidc", _("省统一身份认证")

    class Status(models.TextChoices):
        MISMATCH = "mismatch", _("姓名与身份证号不符")
        PENDING = "pending", _("等待输入验证码")
        VERIFIED = "verified", _("已认证")
        # expired, too many wrong codes, or replaced by a newer attempt
        CLOSED = "closed", _("已失效")

    user = models.ForeignKey(
        "User", on_delete=models.PROTECT, related_name="identity_verifications"
    )
    method = models.CharField(max_length=16, choices=Method.choices, default=Method.SMS_OTP)
    status = models.CharField(max_length=16, choices=Status.choices)
    name = models.CharField(max_length=64, blank=True)
    id_number = models.CharField(max_length=18, blank=True)
    # The account holder's consent to the registry check, as the registry's audit log has it.
    consent_reference = models.CharField(max_length=64, blank=True)
    # Where the code went, and the code itself only as a keyed hash (enrollment.services.identity).
    phone = models.CharField(max_length=20, blank=True)
    code_hash = models.CharField(max_length=64, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(default=0)
    codes_sent = models.PositiveSmallIntegerField(default=0)
    code_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status="verified"),
                name="one_verified_identity_per_account",
            )
        ]

    def __str__(self) -> str:
        return f"identity of user {self.user_id}: {self.status}"

    @property
    def id_masked(self) -> str:
        return mask(self.id_number) if self.id_number else ""
