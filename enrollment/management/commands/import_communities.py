"""`manage.py import_communities FILE` (INTERCHANGE.md, "Communities"): names from
`communities.csv`, names and outlines from `communities.geojson`."""

from pathlib import Path

from django.core.management.base import CommandError

from enrollment.services.communities import CommunityImportError, communities_import
from registry.interchange import ProductCommand


class Command(ProductCommand):
    help = (
        "Load the district's communities: names from a .csv (code, name, district_code), "
        "names and outlines from a .geojson. Re-running with the same file changes nothing; "
        "any bad row or feature rejects the whole file."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--encoding", default="utf-8", help="e.g. gbk; default utf-8")

    def handle(self, *args, file, encoding, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{path} is not a readable file")
        try:
            report = communities_import(path=path, encoding=encoding)
        except CommunityImportError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"{path.name}: {report.summary()}")
        for _number, reason in report.rejected:
            self.stdout.write(f"  {reason}")
        if report.rejected:
            raise CommandError(f"{path.name}: {len(report.rejected)} rejected; nothing was written")
