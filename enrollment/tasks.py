"""Celery tasks: each fetches ids, calls one service, returns. All are safe to run twice."""

from dataclasses import asdict

from celery import shared_task
from django.conf import settings
from django.db import transaction

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

    return asdict(verification_run(job_ids=job_ids, fill_to=settings.VERIFICATION_BATCH_SIZE))


def enqueue_verification(job_ids: list[int], *, on_commit: bool = False) -> int:
    """Send jobs to the workers in batches of VERIFICATION_BATCH_SIZE; returns how many
    messages were (or, with on_commit, will be) sent.

    With `on_commit` the messages go only once the surrounding transaction commits, so a
    worker never looks for a job that is not there yet (or that a rollback removed).
    """
    size = settings.VERIFICATION_BATCH_SIZE
    batches = [list(job_ids[start : start + size]) for start in range(0, len(job_ids), size)]
    for batch in batches:
        if on_commit:
            transaction.on_commit(lambda batch=batch: verify_batch.delay(batch))
        else:
            verify_batch.delay(batch)
    return len(batches)


@shared_task(name="enrollment.reconcile_verification_jobs", acks_late=True)
def reconcile_verification_jobs() -> int:
    from enrollment.services.verification import verification_reconcile

    ids = verification_reconcile()
    enqueue_verification(ids)
    return len(ids)


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
