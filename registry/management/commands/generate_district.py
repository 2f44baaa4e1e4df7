"""`manage.py generate_district --households N --seed S --year Y --out DIR` (INTERCHANGE.md)."""

import time
from pathlib import Path

from django.core.management.base import CommandError

from registry.demo.district import generate_district
from registry.interchange import ProductCommand


class Command(ProductCommand):
    help = (
        "Write a synthetic district into DIR: the five registry feeds, schools.csv and "
        "applications.jsonl. The same seed gives the same files."
    )

    def add_arguments(self, parser):
        parser.add_argument("--households", type=int, required=True)
        parser.add_argument("--seed", type=int, required=True)
        parser.add_argument("--year", type=int, required=True, help="the admission year")
        parser.add_argument("--out", required=True, help="the folder to write into")
        parser.add_argument(
            "--forms",
            choices=("canonical", "department"),
            default="canonical",
            help="department: the feeds as departments export them (Chinese headers, their "
            "own value forms, GB18030, residence_permit.xlsx), with the same facts",
        )

    def handle(self, *args, households, seed, year, out, forms, **options):
        if households < 1:
            raise CommandError("--households must be at least 1")
        if not 2000 <= year <= 2100:
            raise CommandError("--year must be between 2000 and 2100")
        started = time.perf_counter()
        try:
            summary = generate_district(
                households=households, seed=seed, year=year, out=Path(out), forms=forms
            )
        except OSError as error:
            raise CommandError(f"cannot write into {out}: {error.strerror or error}") from None
        rows = ", ".join(f"{source} {count}" for source, count in summary.rows.items())
        self.stdout.write(
            f"{summary.households} households, {summary.people} people, "
            f"{summary.applications} applications, {summary.schools} schools "
            f"written to {out} in {time.perf_counter() - started:.1f} s ({rows})"
        )
