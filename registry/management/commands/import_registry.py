"""`manage.py import_registry DIR` or `import_registry --source NAME FILE` (INTERCHANGE.md)."""

import sys
from datetime import date
from pathlib import Path

from django.core.management.base import CommandError

from registry.feeds import values
from registry.feeds.specs import FEEDS
from registry.interchange import ProductCommand
from registry.loading.imports import (
    FOLDER_SUFFIXES,
    ImportFailed,
    ImportReport,
    registry_import_file,
)


def _as_of(text: str) -> date:
    """A date in any form a department writes one (registry.feeds.values)."""
    try:
        return date.fromisoformat(values.date_text(text))
    except values.ValueRefused as refused:
        raise ValueError(refused.reason) from None


class Command(ProductCommand):
    help = (
        "Load department feeds: every known feed file in DIR (hukou, property, rental, "
        "social_insurance, residence_permit; each .csv or .xlsx), or one FILE with --source."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="a folder of feed files, or one file with --source")
        parser.add_argument("--source", choices=sorted(FEEDS), help="the feed one FILE holds")
        parser.add_argument(
            "--encoding",
            default="auto",
            help="a CSV file's encoding, e.g. gbk; default auto: UTF-8 when the file is "
            "valid UTF-8, otherwise GB18030",
        )
        parser.add_argument(
            "--as-of",
            type=_as_of,
            default=None,
            help="the date the department's data describes (YYYY-MM-DD, YYYYMMDD, …); "
            "default today",
        )
        parser.add_argument("--submitted-by", default="", help="who delivered the files")

    def handle(self, *args, path, source, encoding, as_of, submitted_by, **options):
        target = Path(path)
        if source:
            if not target.is_file():
                raise CommandError(f"{target} is not a readable file")
            jobs = [(source, target)]
        else:
            if not target.is_dir():
                raise CommandError(
                    f"{target} is not a folder (give --source NAME to load a single file)"
                )
            jobs = []
            for spec in FEEDS.values():
                found = [
                    target / f"{spec.source}{suffix}"
                    for suffix in FOLDER_SUFFIXES
                    if (target / f"{spec.source}{suffix}").is_file()
                ]
                if len(found) > 1:
                    # Which of the two is the department's latest is anyone's guess.
                    names = " and ".join(path.name for path in found)
                    raise CommandError(f"{target} holds both {names}: keep one")
                jobs.extend((spec.source, path) for path in found)
            if not jobs:
                names = ", ".join(f"{source}.csv/.xlsx" for source in FEEDS)
                raise CommandError(f"{target} holds none of the feed files ({names})")

        failures = []
        for feed, file_path in jobs:
            try:
                report = registry_import_file(
                    source=feed,
                    path=file_path,
                    encoding=encoding,
                    as_of=as_of,
                    submitted_by=submitted_by,
                    progress=self._progress(file_path.name),
                )
            except ImportFailed as error:
                self._clear_progress()
                failures.append(str(error))
                self.stderr.write(f"{file_path.name}: not loaded: {error}")
                continue
            self._clear_progress()
            self._print(report)
            if report.failed:
                failures.append(f"{file_path.name}: {report.rejections[0][1]}")
        if failures:
            raise CommandError(
                failures[0]
                if len(failures) == 1
                else f"{len(failures)} files not loaded: {failures[0]}"
            )

    def _progress(self, name: str):
        if not self.stdout.isatty():
            return None

        def show(rows: int) -> None:
            self.stdout.write(f"\r{name}: {rows:,} rows read…", ending="")
            self.stdout.flush()

        return show

    def _clear_progress(self) -> None:
        if self.stdout.isatty():
            self.stdout.write("\r\033[K", ending="")

    def _print(self, report: ImportReport) -> None:
        status = "NOT LOADED" if report.failed else f"batch {report.batch_id}"
        self.stdout.write(
            f"{report.file_name} ({report.source}, {report.encoding}): "
            f"{report.rows_read} rows read, {report.inserted} inserted, "
            f"{report.updated} updated, {report.unchanged} unchanged, "
            f"{report.rejected} rejected [{status}, {report.seconds:.1f} s]"
        )
        for line, reason in report.rejections:
            self.stdout.write(f"  line {line}: {reason}")
        if report.rejected > len(report.rejections):
            self.stdout.write(
                f"  … and {report.rejected - len(report.rejections)} more rejected rows"
            )
        sys.stdout.flush()
