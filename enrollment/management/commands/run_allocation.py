"""`manage.py run_allocation --year Y --seed S [--publish]`: same inputs and seed, same result."""

from django.core.management.base import CommandError
from django.utils import timezone

from enrollment.errors import ApplicationError
from enrollment.models import AllocationRun
from enrollment.services.allocation import (
    allocation_publish,
    allocation_run_create,
    allocation_run_execute,
)
from registry.interchange import ProductCommand


class Command(ProductCommand):
    help = (
        "Allocate places for one admission year by deferred acceptance with a lottery from "
        "SEED, in this process; prints the run and its counts. --publish makes its offers the "
        "next round's at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--seed", type=int, required=True, help="the published lottery seed")
        parser.add_argument(
            "--district", default="", help="one district's schools and applications only"
        )
        parser.add_argument("--publish", action="store_true")
        parser.add_argument("--reason", default="run_allocation --publish")

    def handle(self, *args, year, seed, district, publish, reason, **options):
        try:
            run = allocation_run_create(
                admission_year=year,
                seed=seed,
                actor=None,
                district_code=district,
                dry_run=False,
                enqueue=False,
            )
            run = allocation_run_execute(run_id=run.pk)
        except ApplicationError as error:
            raise CommandError(error.message) from None
        except Exception as error:
            raise CommandError(f"the allocation failed: {error}") from None
        if run.status != AllocationRun.Status.DONE:
            raise CommandError(f"run {run.pk} ended {run.status}: {run.error}")
        self.stdout.write(
            f"run {run.pk}: year {run.admission_year}, round {run.round}, seed {run.seed}, "
            f"policy {run.policy_version or '-'}, applicants {run.applicants_count}, "
            f"placed {run.placed_count}, unplaced {run.unplaced_count}, "
            f"inputs {run.inputs_fingerprint[:16]}"
        )
        for code, counts in sorted(run.counts.items()):
            self.stdout.write(
                f"  {code}: {counts['placed']}/{counts['capacity']} placed, "
                f"{counts['in_catchment']} in catchment, {counts['waiting']} waiting"
            )
        if publish:
            try:
                run = allocation_publish(run=run, actor=None, reason=reason)
            except ApplicationError as error:
                raise CommandError(error.message) from None
            self.stdout.write(
                f"published run {run.pk} at {timezone.localtime(run.published_at):%Y-%m-%d %H:%M}; "
                f"answers due {timezone.localtime(run.respond_by):%Y-%m-%d %H:%M}"
            )
