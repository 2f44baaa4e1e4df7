"""The registry's Celery entry points: each takes an id, calls one service, returns.

Nothing here sends a message (`registry.dispatch` does); what a task runs is imported inside
its body, so the loading code and the tasks never import each other at load time.
"""

from celery import shared_task


@shared_task(name="registry.import_upload", acks_late=True)
def import_upload(upload_id: int) -> str:
    """Load a file a steward handed in through the portal (queue `default`)."""
    from registry.loading.uploads import feed_upload_load

    upload = feed_upload_load(upload_id)
    return upload.status if upload is not None else "skipped"


@shared_task(name="registry.reconcile_uploads", acks_late=True)
def reconcile_uploads() -> int:
    """Send again the uploads whose message or worker was lost."""
    from registry.loading.uploads import feed_upload_reconcile

    return feed_upload_reconcile()


@shared_task(name="registry.mail_steward_notices", acks_late=True)
def mail_steward_notices(batch_id: int) -> int:
    """E-mail a failed load's notices to the stewards who have an address."""
    from registry.stewards.notices import steward_notices_mail

    return steward_notices_mail(batch_id=batch_id)
