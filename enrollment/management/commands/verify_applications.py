"""`manage.py verify_applications --year Y [--wait]` (INTERCHANGE.md "Commands")."""

import argparse
import time

from django.core.management.base import CommandError
from django.db import transaction

from enrollment.services.dispatch import verification_enqueue
from enrollment.services.verification import (
    verification_progress,
    verification_queue_year,
    verification_resend,
)
from registry.interchange import ProductCommand


class Command(ProductCommand):
    help = (
        "Queue verification of every submitted application of the year (including those whose "
        "jobs are pending or waiting for the registry). With --wait, return when each has a "
        "decision, printing progress."
    )

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--wait", action="store_true")
        parser.add_argument(
            "--timeout", type=float, default=3600, help="seconds --wait waits at most"
        )
        parser.add_argument("--interval", type=float, default=2.0, help=argparse.SUPPRESS)

    def handle(self, *args, year: int, wait: bool, timeout: float, interval: float, **options):
        if not 2000 <= year <= 2100:
            raise CommandError(f"--year {year} is not an admission year")
        if timeout <= 0:
            raise CommandError("--timeout must be positive")
        with transaction.atomic():
            job_ids = verification_queue_year(admission_year=year)
            batches = verification_enqueue(job_ids=job_ids)
        self.stdout.write(f"{year}: queued {len(job_ids)} verification jobs in {batches} batches")
        if not wait:
            return
        deadline = time.monotonic() + timeout
        last_line = ""
        last_reconcile = time.monotonic()
        while True:
            progress = verification_progress(admission_year=year)
            line = f"{progress.total - progress.undecided}/{progress.total} done: " + ", ".join(
                f"{state} {n}" for state, n in sorted(progress.by_state.items())
            )
            if line != last_line:
                self.stdout.write(line)
                last_line = line
            if progress.undecided == 0:
                return
            if time.monotonic() > deadline:
                raise CommandError(
                    f"gave up after {timeout:g}s with {progress.undecided} applications undecided"
                )
            # Without beat running, --wait does the reconciler's work itself: a message lost
            # with Redis must not leave the command waiting forever.
            if time.monotonic() - last_reconcile > 30:
                verification_resend()
                last_reconcile = time.monotonic()
            time.sleep(interval)
