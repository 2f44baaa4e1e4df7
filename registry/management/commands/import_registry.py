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
from registry.loading.report import failure_sentence

# Rejected lines the command lists beyond its finding: a screenful. The batch keeps them all.
LISTED_LINES = 20


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
                failures.append(f"{file_path.name}: {failure_sentence(report)}")
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
        """The finding first, then the counts, then the other rejected lines, at most
        LISTED_LINES of them: the whole list is the batch's download on the stewards' pages."""
        diagnosis = report.diagnosis
        status = "NOT LOADED" if report.failed else f"batch {report.batch_id}"
        if diagnosis is not None:
            self.stdout.write(f"{report.file_name}: {diagnosis.sentence()}")
            if diagnosis.samples:
                self.stdout.write(f"  e.g. {diagnosis.examples()}")
        self.stdout.write(
            f"{report.file_name} ({report.source}, {report.encoding}): "
            f"{report.rows_read} rows read, {report.inserted} inserted, "
            f"{report.updated} updated, {report.unchanged} unchanged, "
            f"{report.rejected} rejected [{status}, {report.seconds:.1f} s]"
        )
        codes = report.rejection_codes
        rest = [
            (line, reason)
            for line, reason in report.rejections
            if diagnosis is None
            or (codes.get(line, ("", {}))[0], codes.get(line, ("", {}))[1].get("field", ""))
            != (diagnosis.code, diagnosis.field)
        ]
        for line, reason in rest[:LISTED_LINES]:
            self.stdout.write(f"  line {line}: {reason}")
        shown = min(len(rest), LISTED_LINES) + (diagnosis.count if diagnosis else 0)
        if report.rejected > shown:
            where = f" (batch {report.batch_id} on the stewards' pages lists them all)"
            self.stdout.write(
                f"  … and {report.rejected - shown} more rejected rows"
                f"{where if report.batch_id else ''}"
            )
        sys.stdout.flush()
