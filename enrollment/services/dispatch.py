"""Every Celery message the enrollment side sends goes out here.

Services call this module and never the tasks, so the direction is one way: services →
dispatch → tasks, and a task imports its service inside its body. A message names rows that
a transaction writes, so it goes after the commit: a worker never looks for a row that is not
there yet, or that a rollback removed. The few sends that are not deferred say why.
"""

import threading
import time

from django.conf import settings
from django.db import transaction

from enrollment.tasks import allocation_run, notifications_send, verify_batch

# One web process wakes the workers at most once per VERIFICATION_SIGNAL_SECONDS (and once
# per NOTIFY_SIGNAL_SECONDS for messages).
_signal_lock = threading.Lock()
_next_signal = 0.0
_next_notify_signal = 0.0


def verification_signal_on_commit(*, job_id: int) -> None:
    """A submission's job: wake the workers once the transaction commits."""
    transaction.on_commit(lambda: verification_signal(job_id))


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


def verification_enqueue(*, job_ids: list[int], on_commit: bool = True) -> int:
    """Send jobs to the workers in batches of VERIFICATION_BATCH_SIZE; returns how many
    messages were (or, with on_commit, will be) sent.

    `on_commit=False` only for jobs committed already (the reconciler marks them in its own
    transaction): they go at once, and an in-process run does not wait for a caller's commit.
    """
    size = settings.VERIFICATION_BATCH_SIZE
    batches = [list(job_ids[start : start + size]) for start in range(0, len(job_ids), size)]
    for batch in batches:
        if on_commit:
            verify_batch.delay_on_commit(batch)
        else:
            verify_batch.delay(batch)
    return len(batches)


def verification_continue() -> bool:
    """After a full batch more jobs may be due: one more message drains them; True when sent.

    Sent at once: the batch's work is committed by then. Not with in-process tasks, where the
    batch would call itself until no job is left, all in the caller's request.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return False
    verify_batch.delay([])
    return True


def allocation_run_enqueue(*, run_id: int) -> None:
    """Compute a recorded run in a worker (queue `allocation`) once its row is committed."""
    allocation_run.delay_on_commit(run_id)


def notifications_signal_on_commit(*, count: int) -> None:
    """Messages were written: wake the senders once the transaction commits.

    A web process sends one message per NOTIFY_SIGNAL_SECONDS however many families act
    meanwhile (each claim takes a batch); a large write (a publication) wakes as many
    workers as it has batches, at most NOTIFY_PARALLEL."""
    transaction.on_commit(lambda: _notifications_signal(count))


def _notifications_signal(count: int) -> None:
    global _next_notify_signal
    if settings.CELERY_TASK_ALWAYS_EAGER:
        notifications_send.delay()
        return
    if count >= settings.NOTIFY_BATCH_SIZE:
        notifications_wake(count=count)
        return
    now = time.monotonic()
    with _signal_lock:
        if now < _next_notify_signal:
            return
        _next_notify_signal = now + settings.NOTIFY_SIGNAL_SECONDS
    notifications_send.apply_async(countdown=settings.NOTIFY_SIGNAL_SECONDS)


def notifications_wake(*, count: int) -> int:
    """Send messages for `count` due rows at once (committed already); returns how many."""
    batches = -(-count // settings.NOTIFY_BATCH_SIZE)
    messages = max(1, min(batches, settings.NOTIFY_PARALLEL))
    for _ in range(messages):
        notifications_send.delay()
    return messages


def notifications_continue() -> bool:
    """A full batch was sent: more may be due. Not with in-process tasks, where the batch
    would call itself until the outbox is empty, all in the caller's request."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return False
    notifications_send.delay()
    return True


def notifications_retry_at(*, when) -> None:
    """A message due at `when` (a failed send's next attempt)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    notifications_send.apply_async(eta=when)
