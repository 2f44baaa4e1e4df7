"""`manage.py import_schools FILE --year Y` (INTERCHANGE.md `schools.csv`)."""

from pathlib import Path

from django.core.management.base import CommandError

from enrollment.services.schools import SchoolImportError, schools_import
from registry.interchange import ProductCommand


class Command(ProductCommand):
    help = (
        "Load schools and their catchments for one admission year from schools.csv; creates "
        "the catchment communities. Re-running with the same file changes nothing; any bad "
        "row rejects the whole file."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--year", type=int, required=True, help="admission year, e.g. 2027")
        parser.add_argument("--encoding", default="utf-8", help="e.g. gbk; default utf-8")

    def handle(self, *args, file, year, encoding, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{path} is not a readable file")
        if not 2000 <= year <= 2100:
            raise CommandError(f"--year {year} is not an admission year")
        try:
            report = schools_import(path=path, admission_year=year, encoding=encoding)
        except SchoolImportError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"{path.name}: {report.summary()}")
        for line, reason in report.rejected:
            self.stdout.write(f"  line {line}: {reason}")
        if report.rejected:
            raise CommandError(
                f"{path.name}: {len(report.rejected)} rows rejected; nothing was written"
            )
