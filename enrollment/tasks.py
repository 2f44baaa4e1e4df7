"""Celery tasks: each fetches ids, calls one service, returns. All are safe to run twice."""

import threading
import time
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

    size = settings.VERIFICATION_BATCH_SIZE
    result = verification_run(job_ids=job_ids, fill_to=size)
    if result.claimed >= size and not settings.CELERY_TASK_ALWAYS_EAGER:
        # A full batch: more jobs may be due; the next message drains them.
        verify_batch.delay([])
    return asdict(result)


# One web process wakes the workers at most once per VERIFICATION_SIGNAL_SECONDS.
_signal_lock = threading.Lock()
_next_signal = 0.0


def verification_signal(job_id: int) -> bool:
    """Tell the workers that a job was submitted (call it after the commit); True when a
    message was sent.

    One message a job would make a surge of submissions a surge of one-job batches, each
    costing the workers nearly what a batch of hundreds costs. So a web process sends one
    message per window, due at the window's end: every job committed in the window is
    committed before that message runs, and the worker fills its batch with them all.
    """
    global _next_signal
    window = settings.VERIFICATION_SIGNAL_SECONDS
    if window <= 0 or settings.CELERY_TASK_ALWAYS_EAGER:
        verify_batch.delay([job_id])
        return True
    now = time.monotonic()
    with _signal_lock:
        if now < _next_signal:
            return False
        _next_signal = now + window
    verify_batch.apply_async(([job_id],), countdown=window)
    return True


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
