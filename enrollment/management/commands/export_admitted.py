"""`manage.py export_admitted --year Y --school CODE --format csv|xlsx --out FILE`."""

import os
from pathlib import Path

from django.core.management.base import CommandError
from django.db import transaction

from enrollment.models import School
from enrollment.services.exports import FORMATS, admitted_export
from registry.interchange import ProductCommand


class Command(ProductCommand):
    help = (
        "Write one school's admitted list (school_code, ref, child_name, child_id_number, "
        "guardian_names, home_address, total_points, rank) as CSV or XLSX; the download is "
        "logged."
    )

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--school", required=True)
        parser.add_argument("--format", choices=FORMATS, required=True, dest="fmt")
        parser.add_argument("--out", required=True)

    def handle(self, *args, year, school, fmt, out, **options):
        found = School.objects.filter(code=school, admission_year=year).first()
        if found is None:
            raise CommandError(f"no school {school} admits in {year}")
        target = Path(out)
        partial = target.with_name(target.name + ".part")
        # The download is logged only when the file is there: a list that was never written
        # disclosed nothing, and its log row would say it had.
        with transaction.atomic():
            content, rows = admitted_export(school=found, fmt=fmt, user=None, channel="command")
            try:
                partial.write_bytes(content)
                os.replace(partial, target)
            except OSError as error:
                partial.unlink(missing_ok=True)
                raise CommandError(f"cannot write {target}: {error.strerror or error}") from None
        self.stdout.write(f"{target}: {rows} admitted at {found.code} ({fmt})")
