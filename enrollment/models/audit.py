"""What people did on the enrollment side, and every download of an admitted list."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    """What an audit row records, one `<entity>.<verb>` name per kind of change, named in the
    page's language when shown. Services write these members, never a string of their own."""

    PARENT_REGISTER = "parent.register", _("家长注册账号")
    IDENTITY_VERIFY = "identity.verify", _("家长完成实名认证")
    PASSWORD_CHANGE = "account.password_change", _("修改密码")
    APPLICATION_WITHDRAW = "application.withdraw", _("撤回申请")
    EVIDENCE_SUBMIT = "evidence.submit", _("提交证明材料")
    EVIDENCE_ACCEPT = "evidence.accept", _("采纳证明材料")
    EVIDENCE_REJECT = "evidence.reject", _("不采纳证明材料")
    GUARDIANSHIP_ACCEPT = "guardianship.accept", _("依证明材料认定监护关系")
    FINDING_ACCEPT = "finding.accept", _("工作人员认定事实")
    DECISION_RECOMPUTE = "decision.recompute", _("审核证明材料后重新计分")
    DECISION_OVERRIDE = "decision.override", _("人工改判")
    VERIFICATION_RETRY = "verification.retry", _("重新提交核验")
    POLICY_INSTALL = "policy.install", _("安装积分办法")
    SCHOOL_IMPORT = "school.import", _("导入学校")
    SCHOOL_UPDATE = "school.update", _("修改学校信息")
    ALLOCATION_RUN = "allocation.run", _("分配学位")
    ALLOCATION_DRY_RUN = "allocation.dry_run", _("试分配学位")
    ALLOCATION_PUBLISH = "allocation.publish", _("发布分配结果")
    OFFER_ACCEPT = "offer.accept", _("家长接受学位")
    OFFER_DECLINE = "offer.decline", _("家长放弃学位")
    OFFER_ENROLMENT = "offer.enrolment", _("登记报到情况")
    OFFER_ENROLMENT_CLOSED = "offer.enrolment_closed", _("截止报到")
    RECHECK_REQUEST = "recheck.request", _("家长申请复核")
    RECHECK_UPHELD = "recheck.upheld", _("复核维持原结果")
    RECHECK_CHANGED = "recheck.changed", _("复核后更正结果")
    SUBJECT_ACCESS_DOWNLOAD = "subject_access.download", _("下载本人数据")
    RETENTION_DEIDENTIFY = "retention.deidentify", _("保存期满去标识化")
    RETENTION_ACCOUNT_REMOVED = "retention.account_removed", _("注销长期未用的账号")


class AuditLog(models.Model):
    """Every change a person makes on the enrollment side, with who and why.

    Where the change replaces values, `data` holds them as `old` and `new`, each keyed by
    field: `{"old": {"status": "offered"}, "new": {"status": "accepted"}}`.
    """

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        "User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=64, choices=AuditAction.choices)
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
