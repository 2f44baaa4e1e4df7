"""Every Celery message the registry sends goes out here.

The loading code calls this module and never the tasks, so the direction is one way:
loading → dispatch → tasks, and a task imports what it runs inside its body.
"""

from registry.tasks import import_upload, mail_steward_notices


def feed_upload_enqueue(*, upload_id: int, on_commit: bool = True) -> None:
    """Load a handed-in file in a worker (queue `default`).

    After the commit by default: the upload's row is the outbox, and a worker must find it.
    `on_commit=False` for rows committed already (the reconciler's), sent at once.
    """
    if on_commit:
        import_upload.delay_on_commit(upload_id)
    else:
        import_upload.delay(upload_id)


def steward_notices_mail_enqueue(*, batch_id: int) -> None:
    """E-mail the stewards a failed load's notices, after the commit that wrote them."""
    mail_steward_notices.delay_on_commit(batch_id)
