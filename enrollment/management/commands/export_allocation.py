"""`manage.py export_allocation --year Y --out FILE` (INTERCHANGE.md "Exports")."""

import os
from pathlib import Path

from django.core.management.base import CommandError

from enrollment.services.exports import allocation_export_csv, allocation_run_for_export
from registry.interchange import ProductCommand


class Command(ProductCommand):
    help = (
        "Write the year's allocation (ref, school_code, in_catchment, total_points, "
        "lottery_number, seed): the latest published run, else the latest finished one, "
        "or --run ID. Streamed: memory stays flat however many rows."
    )

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--out", required=True)
        parser.add_argument("--run", type=int, default=None)

    def handle(self, *args, year, out, run, **options):
        chosen = allocation_run_for_export(admission_year=year, run_id=run)
        if chosen is None:
            raise CommandError(
                f"no finished allocation run for {year}" + (f" with id {run}" if run else "")
            )
        target = Path(out)
        partial = target.with_name(target.name + ".part")
        try:
            with open(partial, "w", encoding="utf-8", newline="") as handle:
                rows = allocation_export_csv(run=chosen, out=handle)
            os.replace(partial, target)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise CommandError(f"cannot write {target}: {error.strerror or error}") from None
        self.stdout.write(f"{target}: {rows} rows from run {chosen.pk} (seed {chosen.seed})")
