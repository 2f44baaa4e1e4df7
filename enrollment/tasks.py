"""Celery tasks: each fetches ids, calls one service, returns. All are safe to run twice."""

from dataclasses import asdict

from celery import shared_task
from django.conf import settings

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
    from enrollment.services.verification import verification_run

    return asdict(verification_run(job_ids=job_ids))


def enqueue_verification(job_ids: list[int]) -> int:
    """Send jobs to the workers in batches; returns how many messages were sent."""
    size = settings.VERIFICATION_BATCH_SIZE
    sent = 0
    for start in range(0, len(job_ids), size):
        verify_batch.delay(list(job_ids[start : start + size]))
        sent += 1
    return sent


@shared_task(name="enrollment.reconcile_verification_jobs", acks_late=True)
def reconcile_verification_jobs() -> int:
    from enrollment.services.verification import verification_reconcile

    ids = verification_reconcile()
    enqueue_verification(ids)
    return len(ids)


@shared_task(name="enrollment.retention_apply", acks_late=True)
def retention_apply() -> dict:
    """De-identify applications whose admission year's retention period is over."""
    from enrollment.services.retention import retention_apply as apply_rule

    return asdict(apply_rule())
