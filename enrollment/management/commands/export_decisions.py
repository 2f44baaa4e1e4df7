"""`manage.py export_decisions --year Y --out FILE` (INTERCHANGE.md "Exports")."""

import csv
import os
from pathlib import Path

from django.core.management.base import CommandError

from enrollment.exports import safe_cell
from enrollment.models import Decision
from registry.interchange import ProductCommand

COLUMNS = [
    "ref",
    "decision",
    "hukou_class",
    "housing_class",
    "base_points",
    "bonus_points",
    "total_points",
    "residence_months",
    "si_months",
    "reasons",
    "policy_version",
]


class Command(ProductCommand):
    help = "Write every current decision of the year as CSV, one row per application, by ref."

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--out", required=True)

    def handle(self, *args, year: int, out: str, **options):
        if not 2000 <= year <= 2100:
            raise CommandError(f"--year {year} is not an admission year")
        target = Path(out)
        partial = target.with_name(target.name + ".part")
        rows = (
            Decision.objects.current()
            .filter(application__admission_year=year)
            .order_by("application__ref")
            .values_list(
                "application__ref",
                "outcome",
                "hukou_class",
                "housing_class",
                "base_points",
                "bonus_points",
                "total_points",
                "residence_months",
                "si_months",
                "reasons",
                "policy__version",
            )
        )
        count = 0
        try:
            # Written aside and renamed at the end: a reader never sees half a file.
            with open(partial, "w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(COLUMNS)
                for row in rows.iterator(chunk_size=5000):
                    *head, reasons, version = row
                    writer.writerow(safe_cell(v) for v in [*head, ";".join(reasons), version])
                    count += 1
            os.replace(partial, target)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise CommandError(f"cannot write {target}: {error.strerror or error}") from None
        self.stdout.write(f"{target}: {count} decisions for {year}")
