"""Audit actions have one name each, `<entity>.<verb>`: rows written under the older
underscore names get the dotted name, and going back writes the underscore names again.

The names are written out here rather than read from AuditAction, so that the migration means
the same thing whatever the enum becomes later.
"""

from django.db import migrations, models

RENAMED = {
    "application_withdraw": "application.withdraw",
    "evidence_submit": "evidence.submit",
    "evidence_accept": "evidence.accept",
    "evidence_reject": "evidence.reject",
    "decision_recompute": "decision.recompute",
    "decision_override": "decision.override",
    "verification_retry": "verification.retry",
    "policy_install": "policy.install",
}


def forwards(apps, schema_editor):
    AuditLog = apps.get_model("enrollment", "AuditLog")
    for old, new in RENAMED.items():
        AuditLog.objects.filter(action=old).update(action=new)


def backwards(apps, schema_editor):
    AuditLog = apps.get_model("enrollment", "AuditLog")
    for old, new in RENAMED.items():
        AuditLog.objects.filter(action=new).update(action=old)


class Migration(migrations.Migration):

    dependencies = [
        ('enrollment', '0006_decision_reason_without_recheck_prefix'),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.AlterField(
            model_name='auditlog',
            name='action',
            field=models.CharField(choices=[('parent.register', '家长注册账号'), ('application.withdraw', '撤回申请'), ('evidence.submit', '提交证明材料'), ('evidence.accept', '采纳证明材料'), ('evidence.reject', '不采纳证明材料'), ('decision.recompute', '审核证明材料后重新计分'), ('decision.override', '人工改判'), ('verification.retry', '重新提交核验'), ('policy.install', '安装积分办法'), ('school.import', '导入学校'), ('school.update', '修改学校信息'), ('allocation.run', '分配学位'), ('allocation.dry_run', '试分配学位'), ('allocation.publish', '发布分配结果'), ('offer.accept', '家长接受学位'), ('offer.decline', '家长放弃学位'), ('offer.enrolment', '登记报到情况'), ('offer.enrolment_closed', '截止报到'), ('recheck.request', '家长申请复核'), ('recheck.upheld', '复核维持原结果'), ('recheck.changed', '复核后更正结果'), ('subject_access.download', '下载本人数据'), ('retention.deidentify', '保存期满去标识化'), ('retention.account_removed', '注销长期未用的账号')], max_length=64),
        ),
    ]
