"""Celery entry points: each takes ids, calls one service, returns. All are safe to run twice.

Nothing here sends a message: `enrollment.services.dispatch` does, and services are imported
inside the bodies, so that tasks and the services that enqueue them never import each other
at load time. The `name=`s are what queued messages carry: they stay as they are.
"""

from dataclasses import asdict

from celery import shared_task

from registry.contract import RegistryUnavailable


@shared_task(
    name="enrollment.verify_batch",
    acks_late=True,
    autoretry_for=(RegistryUnavailable,),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=None,  # the attempt cap lives on the job rows (VERIFICATION_MAX_ATTEMPTS)
)
def verify_batch(job_ids: list[int]) -> dict:
    from enrollment.services.verification import verification_batch

    return asdict(verification_batch(job_ids=job_ids))


@shared_task(name="enrollment.reconcile_verification_jobs", acks_late=True)
def reconcile_verification_jobs() -> int:
    from enrollment.services.verification import verification_resend

    return len(verification_resend())


@shared_task(name="enrollment.allocation_run", acks_late=True)
def allocation_run(run_id: int) -> dict:
    """Compute one recorded allocation run (queue `allocation`); a finished run is left alone."""
    from enrollment.services.allocation import allocation_run_execute

    run = allocation_run_execute(run_id=run_id)
    return {"run": run.pk, "status": run.status, "placed": run.placed_count}


@shared_task(name="enrollment.retention_apply", acks_late=True)
def retention_apply() -> dict:
    """De-identify applications whose admission year's retention period is over."""
    from enrollment.services.retention import retention_apply as apply_rule

    return asdict(apply_rule())


@shared_task(name="enrollment.notifications_send", acks_late=True)
def notifications_send() -> dict:
    """Claim and send one batch of due messages; a duplicate message claims nothing."""
    from enrollment.services.delivery import notifications_send as send_batch

    return asdict(send_batch())


@shared_task(name="enrollment.notifications_reconcile", acks_late=True)
def notifications_reconcile() -> dict:
    from enrollment.services.delivery import notifications_reconcile as reconcile

    return reconcile()


@shared_task(name="enrollment.notifications_schedule", acks_late=True)
def notifications_schedule() -> dict:
    """Write the offers' deadline reminders and expiries whose moment came."""
    from enrollment.services.notifications import offer_reminders_write

    return offer_reminders_write()


@shared_task(name="enrollment.review_digest", acks_late=True)
def review_digest() -> int:
    from enrollment.services.notifications import review_digest_write

    return review_digest_write()
