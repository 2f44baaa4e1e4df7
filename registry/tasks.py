"""The registry's Celery tasks."""

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
