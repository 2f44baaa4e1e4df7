"""Relation evidence and its audit action; decisions packed before guardianship was checked
keep their outcomes in a what-if.

A decision's packed facts (Decision.facts_packed) gain two fields, guardianship verified and
guardianship rejected on review. Decisions made before the registry related guardians to the
child were scored as if every named adult were one, so they are packed as verified, not
rejected: a what-if rescores them as they were decided. The next verification of such an
application checks the relation (enrollment.services.review verifies again rather than
rescoring an answer without it).
"""

from django.db import migrations, models
from django.db.models import Value
from django.db.models.functions import Concat, Left, Length

# The packed facts' length before the two fields were added (ten fields, 23 digits).
OLD_LENGTH = 32


def forwards(apps, schema_editor):
    Decision = apps.get_model("enrollment", "Decision")
    Decision.objects.annotate(packed_length=Length("facts_packed")).filter(
        packed_length=OLD_LENGTH
    ).update(facts_packed=Concat("facts_packed", Value(" 1 0")))


def backwards(apps, schema_editor):
    Decision = apps.get_model("enrollment", "Decision")
    Decision.objects.annotate(packed_length=Length("facts_packed")).filter(
        packed_length=OLD_LENGTH + 4
    ).update(facts_packed=Left("facts_packed", OLD_LENGTH))


class Migration(migrations.Migration):

    dependencies = [
        ('enrollment', '0007_audit_action_dotted_names'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditlog',
            name='action',
            field=models.CharField(choices=[('parent.register', '家长注册账号'), ('application.withdraw', '撤回申请'), ('evidence.submit', '提交证明材料'), ('evidence.accept', '采纳证明材料'), ('evidence.reject', '不采纳证明材料'), ('guardianship.accept', '依证明材料认定监护关系'), ('decision.recompute', '审核证明材料后重新计分'), ('decision.override', '人工改判'), ('verification.retry', '重新提交核验'), ('policy.install', '安装积分办法'), ('school.import', '导入学校'), ('school.update', '修改学校信息'), ('allocation.run', '分配学位'), ('allocation.dry_run', '试分配学位'), ('allocation.publish', '发布分配结果'), ('offer.accept', '家长接受学位'), ('offer.decline', '家长放弃学位'), ('offer.enrolment', '登记报到情况'), ('offer.enrolment_closed', '截止报到'), ('recheck.request', '家长申请复核'), ('recheck.upheld', '复核维持原结果'), ('recheck.changed', '复核后更正结果'), ('subject_access.download', '下载本人数据'), ('retention.deidentify', '保存期满去标识化'), ('retention.account_removed', '注销长期未用的账号')], max_length=64),
        ),
        migrations.AlterField(
            model_name='evidence',
            name='fact',
            field=models.CharField(choices=[('hukou', '户籍'), ('housing', '住房'), ('social_insurance', '社保'), ('residence_permit', '居住证'), ('relation', '监护关系')], max_length=20),
        ),
        migrations.RunPython(forwards, backwards),
    ]
