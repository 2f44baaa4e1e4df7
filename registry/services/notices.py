"""Telling the stewards that a load failed: a notice per steward, in the failure's transaction.

A failed file is the stewards' to fix (the department must send it again, or a header needs a
mapping), and nobody looks at the import list every morning; a notice on their pages and an
e-mail make sure someone hears of it the day it happens.
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from registry import dispatch
from registry.models import STEWARD_ROLE, ImportBatch, StewardNotice


@transaction.atomic
def steward_notices_write(*, batch: ImportBatch) -> int:
    """One notice per active steward for a failed batch (none twice: the pair is unique), and
    the e-mails enqueued once the transaction commits. Returns how many were written."""
    stewards = get_user_model().objects.filter(role=STEWARD_ROLE, is_active=True)
    now = timezone.now()
    notices = StewardNotice.objects.bulk_create(
        [StewardNotice(batch=batch, steward=steward, created_at=now) for steward in stewards],
        ignore_conflicts=True,
    )
    if notices:
        dispatch.steward_notices_mail_enqueue(batch_id=batch.pk)
    return len(notices)
