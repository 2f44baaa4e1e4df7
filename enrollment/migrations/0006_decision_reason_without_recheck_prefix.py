"""A decision changed on re-check kept "re-check: " before the officer's words, which the
parent's and the officer's pages showed in English. The words alone stay; the decision's trace
(its "recheck.override" step) still says where the change came from."""

from django.db import migrations
from django.db.models.functions import Substr

PREFIX = "re-check: "


def forwards(apps, schema_editor):
    Decision = apps.get_model("enrollment", "Decision")
    Decision.objects.filter(basis="override", reason__startswith=PREFIX).update(
        reason=Substr("reason", len(PREFIX) + 1)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("enrollment", "0005_event_reason_code_backfill"),
    ]

    # Going back leaves the words as they are: nothing reads the prefix.
    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
