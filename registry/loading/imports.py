"""Loading department feeds into the registry, one file per transaction.

Rows are read and checked in one streaming pass (never the whole file in memory), so memory
stays flat whatever the file's size. On PostgreSQL the good rows stream through `COPY` into a
temporary staging table, duplicates of a key inside the file are found there with one hash
aggregate, and the rest is upserted by natural key with `INSERT … ON CONFLICT DO UPDATE`,
counting inserted against updated rows by `xmax = 0`. Elsewhere (SQLite, the demo) the rows go
through the ORM in chunks.

A row whose key is already stored with the same facts is left alone (counted as unchanged):
re-importing a file rewrites nothing, and a fact keeps the batch that last changed it.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import date
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from registry.feeds.specs import FEEDS, FeedSpec, RowRejected
from registry.interchange import undecodable_line
from registry.loading.copy import CopyFeed, load_copy
from registry.loading.formats import (
    AUTO,
    SheetRows,
    csv_encoding,
    is_spreadsheet,
    shown_encoding,
)
from registry.loading.report import ImportFailed, ImportReport, diagnose
from registry.loading.rows import file_rows
from registry.models import RECORD_MODELS, Channel, ImportBatch
from registry.services.headers import header_mappings

# Rows per ORM round trip on the plain path: SQLite's variable limit is 32,766 and the widest
# feed has 12 columns.
_ORM_CHUNK = 2_000


# The files a delivery folder may hold for a feed: `<source>.csv` or `<source>.xlsx`.
FOLDER_SUFFIXES = (".csv", ".xlsx")


class _NothingLoaded(Exception):
    """Rolls back a file of which no row could be taken (a refused header, every row
    rejected, or no row at all): nothing of it stays but the failed batch saying why."""


def feed_for_file(path: Path) -> FeedSpec | None:
    """The feed a file in a delivery folder holds, by its name (`hukou.csv`, `hukou.xlsx`)."""
    if path.suffix.lower() not in FOLDER_SUFFIXES:
        return None
    return FEEDS.get(path.stem)


def _load_orm(spec: FeedSpec, rows: Iterator[tuple[int, tuple]], batch: ImportBatch, report):
    model = RECORD_MODELS[spec.source]
    fields = [model._meta.get_field(name) for name in spec.columns]
    key_index = [spec.columns.index(name) for name in spec.key]
    rest = [name for name in spec.columns if name not in spec.key]
    first_line: dict[tuple, int] = {}
    chunk: list[tuple] = []
    as_of_field = model._meta.get_field("as_of")
    updated_field = model._meta.get_field("updated_at")
    quote = connection.ops.quote_name
    columns = [f.column for f in fields] + ["batch_id", "as_of", "updated_at"]
    insert = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(map(quote, columns))})"  # noqa: S608
        f" VALUES ({', '.join(['%s'] * len(columns))})"
    )

    def flush() -> None:
        by_key = {tuple(values[i] for i in key_index): values for values in chunk}
        lead = spec.key[0]
        stored = {
            tuple(row[: len(spec.key)]): row[len(spec.key) :]
            for row in model.objects.filter(**{f"{lead}__in": {k[0] for k in by_key}})
            .values_list(*spec.key, *rest)
            .iterator()
        }
        new, changed = [], []
        rest_index = [spec.columns.index(name) for name in rest]
        for row_key, values in by_key.items():
            if row_key not in stored:
                new.append(values)
            elif tuple(values[i] for i in rest_index) != stored[row_key]:
                changed.append(
                    model(
                        batch=batch,
                        as_of=batch.as_of,
                        **dict(zip(spec.columns, values, strict=True)),
                    )
                )
        if new:
            # New rows as plain parameter tuples: building a model instance per row would
            # cost more than the insert itself.
            now = timezone.now()
            provenance = [
                batch.id,
                as_of_field.get_db_prep_value(batch.as_of, connection),
                updated_field.get_db_prep_value(now, connection),
            ]
            with connection.cursor() as cursor:
                cursor.executemany(
                    insert,
                    [
                        [
                            *(
                                f.get_db_prep_value(v, connection)
                                for f, v in zip(fields, values, strict=True)
                            ),
                            *provenance,
                        ]
                        for values in new
                    ],
                )
        if changed:
            model.objects.bulk_create(
                changed,
                update_conflicts=True,
                unique_fields=list(spec.key),
                update_fields=[*rest, "batch", "as_of", "updated_at"],
            )
        report.inserted += len(new)
        report.updated += len(changed)
        chunk.clear()

    for line, raw in rows:
        values = tuple(f.to_python(v) for f, v in zip(fields, raw, strict=True))
        row_key = tuple(values[i] for i in key_index)
        if row_key in first_line:
            report.reject(
                line,
                f"duplicate key: the same key as line {first_line[row_key]}",
                code=RowRejected.DUPLICATE_KEY,
                params={"first_line": first_line[row_key]},
            )
            continue
        first_line[row_key] = line
        chunk.append(values)
        if len(chunk) >= _ORM_CHUNK:
            flush()
    if chunk and not report.failed:
        flush()
    report.rejections.sort()


def registry_import_file(
    *,
    source: str,
    path: Path,
    encoding: str = AUTO,
    as_of: date | None = None,
    submitted_by: str = "",
    progress: Callable[[int], None] | None = None,
    method: str | None = None,
    file_name: str = "",
) -> ImportReport:
    """Load one department file (CSV, or `.xlsx` by its suffix); one transaction, so a
    failure leaves none of its rows.

    `encoding` is a CSV file's, or `auto` (formats.csv_encoding: UTF-8 when the file is,
    otherwise GB18030). `method` is `"copy"` (PostgreSQL only) or `"orm"`; by default the
    database decides. A spreadsheet's rows go through the row checks and the ORM path
    whatever the method: its cells are read one by one anyway.
    `file_name` is the name the batch records, when not the file's own (a handed-in file).
    Raises ImportFailed (after recording a failed ImportBatch) when the file cannot be read.
    A file of which no row loads (its header refused, every row rejected, or no data row)
    is rolled back and returned as a failed report with a failed batch and its diagnosis.
    """
    if source not in FEEDS:
        raise ImportFailed(
            f"unknown source {source!r}: one of {', '.join(FEEDS)}", code="unknown_source"
        )
    spec = FEEDS[source]
    path = Path(path)
    name = file_name or path.name
    method = method or ("copy" if connection.vendor == "postgresql" else "orm")
    if method == "copy" and connection.vendor != "postgresql":
        raise ImportFailed("the COPY path needs PostgreSQL", code="needs_postgresql")
    as_of = as_of or timezone.localdate()
    spreadsheet = is_spreadsheet(path)
    if spreadsheet:
        python_encoding, encoding = "", "xlsx"
    else:
        try:
            python_encoding = csv_encoding(path, encoding, name=name)
        except ImportFailed as refused:
            if refused.code != "unknown_encoding":
                _record_failure(source, name, encoding, as_of, submitted_by, None, str(refused))
            raise
        except OSError as error:
            reason = f"cannot read {path}: {error.strerror or error}"
            raise ImportFailed(reason, code="unreadable") from None
        if encoding in ("", AUTO):
            encoding = shown_encoding(python_encoding)
    # The source's header sets, read once for the whole file.
    mappings = header_mappings(source=source)
    report = ImportReport(source=source, file_name=name, encoding=encoding)
    started = time.perf_counter()
    try:
        if spreadsheet:
            handle = SheetRows(path)
        elif method == "copy":
            # COPY reads bytes and decodes a block at a time; the ORM path reads text.
            handle = path.open("rb")
        else:
            handle = path.open(encoding=python_encoding, newline="")
    except OSError as error:
        reason = f"cannot read {path}: {error.strerror or error}"
        raise ImportFailed(reason, code="unreadable") from None
    except Exception:  # noqa: BLE001 - openpyxl's many ways of saying "not a workbook"
        reason = f"{name} is not an .xlsx workbook openpyxl can read"
        _record_failure(source, name, encoding, as_of, submitted_by, report, reason)
        raise ImportFailed(reason, code="not_xlsx") from None
    try:
        with closing(handle), transaction.atomic():
            batch = ImportBatch.objects.create(
                source=source,
                channel=Channel.FEED,
                file_name=name,
                encoding=encoding,
                as_of=as_of,
                submitted_by=submitted_by,
            )
            if spreadsheet:
                rows = file_rows(spec, handle, report, progress, mappings)
                _load_orm(spec, rows, batch, report)
            elif method == "copy":
                feed = CopyFeed.open(spec, handle, python_encoding, report, progress, mappings)
                if feed is not None:
                    load_copy(spec, feed, batch, report)
            else:
                reader = csv.reader(handle, strict=True)
                _load_orm(spec, file_rows(spec, reader, report, progress, mappings), batch, report)
            report.batch_id = batch.id
            report.seconds = time.perf_counter() - started
            report.diagnosis = diagnose(report)
            if report.failed or report.nothing_loaded:
                raise _NothingLoaded
            _finish(batch, report)
    except _NothingLoaded:
        # Every row refused is a failed load, not an empty success: a department whose export
        # went wrong as a whole must hear so, and nothing of the file is kept.
        report.failed = True
        failed = _record_failure(source, name, encoding, as_of, submitted_by, report)
        report.batch_id = failed.id
    except UnicodeDecodeError:
        try:
            line = undecodable_line(path, python_encoding)
        except OSError:
            line = None
        where = f"line {line}; " if line else ""
        reason = f"{name} is not {encoding} text ({where}try --encoding)"
        _record_failure(source, name, encoding, as_of, submitted_by, report, reason)
        params = {"line": line, "encoding": encoding}
        raise ImportFailed(reason, code="not_in_encoding", params=params) from None
    except csv.Error as error:
        reason = f"{name}: malformed CSV: {error}"
        _record_failure(source, name, encoding, as_of, submitted_by, report, reason)
        raise ImportFailed(reason, code="malformed_csv") from None
    except OSError as error:
        reason = f"cannot read {path}: {error.strerror or error}"
        _record_failure(source, name, encoding, as_of, submitted_by, report, reason)
        raise ImportFailed(reason, code="unreadable") from None
    return report


def _finish(batch: ImportBatch, report: ImportReport) -> None:
    batch.status = ImportBatch.Status.FAILED if report.failed else ImportBatch.Status.DONE
    batch.finished_at = timezone.now()
    for name, value in _outcome(report).items():
        setattr(batch, name, value)
    batch.save()


def _outcome(report: ImportReport) -> dict:
    """What a batch row records of its report: counts, rejected lines, the diagnosis."""
    codes = report.rejection_codes
    return {
        "rows_read": report.rows_read,
        "rows_inserted": report.inserted,
        "rows_updated": report.updated,
        "rows_rejected": report.rejected,
        "rejections": [
            {
                "line": line,
                "reason": reason,
                "code": codes.get(line, ("", {}))[0],
                "params": codes.get(line, ("", {}))[1],
            }
            for line, reason in report.rejections
        ],
        "diagnosis": report.diagnosis.as_json() if report.diagnosis else None,
    }


def _record_failure(
    source, name, encoding, as_of, submitted_by, report, reason: str = ""
) -> ImportBatch:
    """The file's transaction is gone; keep a failed batch row saying why: `reason` when the
    file could not be read, else the report's counts, rejected lines and diagnosis."""
    if report is not None:
        report.failed = True
    if reason or report is None:
        outcome = {"rejections": [{"line": 0, "reason": reason}]}
    else:
        outcome = _outcome(report)
        # Nothing of the file was written: what it would have inserted or updated, it did not.
        outcome.update(rows_inserted=0, rows_updated=0)
    return ImportBatch.objects.create(
        source=source,
        channel=Channel.FEED,
        file_name=name,
        encoding=encoding,
        as_of=as_of,
        submitted_by=submitted_by,
        status=ImportBatch.Status.FAILED,
        finished_at=timezone.now(),
        **outcome,
    )
