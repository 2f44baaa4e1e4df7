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

import codecs
import csv
import operator
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from registry.feeds import FEEDS, FeedSpec, RowRejected
from registry.models import RECORD_MODELS, Channel, ImportBatch

# Rejections kept per file, in the report and on the batch row. A file of garbage would
# otherwise hold one entry per line in memory; the count stays exact past the cap.
MAX_LISTED_REJECTIONS = 100_000
# Rows per ORM round trip on the plain path: SQLite's variable limit is 32,766 and the widest
# feed has 12 columns.
_ORM_CHUNK = 2_000
PROGRESS_EVERY = 100_000


class ImportFailed(Exception):
    """The file could not be loaded at all; the message is one line, fit for an operator."""


@dataclass
class ImportReport:
    source: str
    file_name: str
    encoding: str
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    rejected: int = 0
    # (line number, reason), in line order; at most MAX_LISTED_REJECTIONS of them.
    rejections: list[tuple[int, str]] = field(default_factory=list)
    batch_id: int | None = None
    failed: bool = False
    seconds: float = 0.0

    @property
    def unchanged(self) -> int:
        return self.rows_read - self.rejected - self.inserted - self.updated

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.rejections) < MAX_LISTED_REJECTIONS:
            self.rejections.append((line, reason))


def feed_for_file(path: Path) -> FeedSpec | None:
    """The feed a file in a delivery folder holds, by its name (`hukou.csv`, …)."""
    for spec in FEEDS.values():
        if path.name == spec.file_name:
            return spec
    return None


def _python_encoding(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ImportFailed(f"unknown encoding {encoding!r}") from None
    # Spreadsheet exports often start with a byte order mark; it is not part of the header.
    return "utf-8-sig" if name == "utf-8" else name


def _rows(
    spec: FeedSpec,
    reader,
    report: ImportReport,
    progress: Callable[[int], None] | None,
) -> Iterator[tuple[int, tuple]]:
    """(line number, checked values) for every good row; rejects the rest onto the report."""
    try:
        header = next(reader)
    except StopIteration:
        header = []
    names = [name.strip().lower() for name in header]
    missing = [c for c in spec.columns if c not in names and c not in spec.optional]
    if missing:
        report.reject(
            reader.line_num or 1,
            f"unknown column set: missing {', '.join(missing)} "
            f"(a {spec.source} feed has {', '.join(spec.columns)})",
        )
        report.failed = True
        return
    width = len(header)
    # Optional columns the file lacks read from one empty cell appended to each row.
    positions = [names.index(c) if c in names else width for c in spec.columns]
    pad = width in positions
    pick = operator.itemgetter(*positions)
    check = spec.check
    read = 0
    for row in reader:
        if not row:
            continue  # a blank line is no row
        read += 1
        if progress is not None and read % PROGRESS_EVERY == 0:
            progress(read)
        if len(row) != width:
            report.reject(reader.line_num, f"expected {width} fields, found {len(row)}")
            continue
        try:
            values = check(pick([*row, ""] if pad else row))
        except RowRejected as rejection:
            report.reject(reader.line_num, rejection.reason)
            continue
        yield reader.line_num, values
    report.rows_read = read


# --- PostgreSQL: COPY into staging, upsert by key ------------------------------------------


def _load_copy(spec: FeedSpec, rows: Iterator[tuple[int, tuple]], batch: ImportBatch, report):
    model = RECORD_MODELS[spec.source]
    table = model._meta.db_table
    fields = [model._meta.get_field(name) for name in spec.columns]
    columns = [f.column for f in fields]
    key = [model._meta.get_field(name).column for name in spec.key]
    rest = [c for c in columns if c not in key]
    staging = f"registry_staging_{spec.source}"
    column_list = ", ".join(columns)
    with connection.cursor() as cursor:
        if _lock_if_empty(cursor, table):
            _first_load(cursor, spec, table, columns, key, rows, batch, report)
            return
        cursor.execute(f"DROP TABLE IF EXISTS {staging}")
        cursor.execute(
            f"CREATE TEMP TABLE {staging} (line integer NOT NULL, "
            + ", ".join(f"{f.column} {f.db_type(connection)}" for f in fields)
            + ") ON COMMIT DROP"
        )
        with cursor.cursor.copy(f"COPY {staging} (line, {column_list}) FROM STDIN") as copy:
            write = copy.write_row
            for line, values in rows:
                write((line, *values))
        if report.failed:
            return
        # Duplicate keys inside the file: the first row stands, the later ones are rejected.
        key_list = ", ".join(key)
        cursor.execute("SET LOCAL work_mem = '256MB'")
        # Identifiers below come from the models' metadata, never from the file.
        find_duplicates = (
            f"SELECT s.line, first.line FROM {staging} s JOIN ("  # noqa: S608
            f"  SELECT {key_list}, min(line) AS line FROM {staging}"
            f"  GROUP BY {key_list} HAVING count(*) > 1"
            f") first USING ({key_list}) WHERE s.line <> first.line ORDER BY s.line"
        )
        cursor.execute(find_duplicates)
        duplicates = cursor.fetchall()
        if duplicates:
            drop_lines = f"DELETE FROM {staging} WHERE line = ANY(%s)"  # noqa: S608
            cursor.execute(drop_lines, [[line for line, _ in duplicates]])
            for line, first in duplicates:
                report.reject(line, f"duplicate key: the same key as line {first}")
            report.rejections.sort()

        assignments = ", ".join(
            f"{c} = EXCLUDED.{c}" for c in [*rest, "batch_id", "as_of", "updated_at"]
        )
        # The planner needs the staging keys' spread to join them to the stored rows well.
        cursor.execute(f"ANALYZE {staging} ({key_list})")
        # Rows whose key is stored with the same facts are left out before the upsert: ON
        # CONFLICT would lock (and so rewrite) each of them even when it changes nothing.
        same = " AND ".join(
            [f"t.{c} = s.{c}" for c in key] + [f"t.{c} IS NOT DISTINCT FROM s.{c}" for c in rest]
        )
        upsert = (
            f"WITH upserted AS ("  # noqa: S608
            f"  INSERT INTO {table} ({column_list}, batch_id, as_of, updated_at)"
            f"  SELECT {column_list}, %s, %s, %s FROM {staging} s"
            f"  WHERE NOT EXISTS (SELECT FROM {table} t WHERE {same})"
            f"  ON CONFLICT ({key_list}) DO UPDATE SET {assignments}"
            f"  RETURNING (xmax = 0) AS inserted"
            f") SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)"
            f"  FROM upserted"
        )
        cursor.execute(upsert, [batch.id, batch.as_of, timezone.now()])
        report.inserted, report.updated = cursor.fetchone()
        cursor.execute(f"DROP TABLE {staging}")


def _first_load(cursor, spec, table, columns, key, rows, batch, report) -> None:
    """Into an empty table: COPY straight into it, then drop the later rows of keys that
    occur twice, then build its indexes once.

    Nothing stored can conflict, so there is no staging table and no upsert: the rows take
    COPY's multi-row insert path, and each secondary index is built by one sort instead of
    growing a row at a time. Each row's id is its line number (unique in one file, and what a
    duplicate is reported by); the id sequence moves past them afterwards. The table stays
    locked until the commit; only an empty table is ever loaded this way.
    """
    column_list = ", ".join(columns)
    key_list = ", ".join(key)
    written = last_line = 0
    with _indexes_rebuilt_after(cursor, table):
        # The provenance is the same on every row: column defaults for the length of this
        # transaction, rather than three more values to encode and send per row.
        # DDL takes no parameters: the literals come from an int, a date and a datetime.
        cursor.execute(
            f"ALTER TABLE {table} ALTER COLUMN batch_id SET DEFAULT {int(batch.id)},"
            f" ALTER COLUMN as_of SET DEFAULT '{batch.as_of.isoformat()}'::date,"
            f" ALTER COLUMN updated_at SET DEFAULT '{timezone.now().isoformat()}'::timestamptz"
        )
        with cursor.cursor.copy(f"COPY {table} (id, {column_list}) FROM STDIN") as copy:
            write = copy.write_row
            for line, values in rows:
                write((line, *values))
                written += 1
                last_line = line
        cursor.execute(
            f"ALTER TABLE {table} ALTER COLUMN batch_id DROP DEFAULT,"
            f" ALTER COLUMN as_of DROP DEFAULT, ALTER COLUMN updated_at DROP DEFAULT"
        )
        if not written:
            return
        cursor.execute("SET LOCAL work_mem = '256MB'")
        find_duplicates = (
            f"SELECT t.id, first.id FROM {table} t JOIN ("  # noqa: S608
            f"  SELECT {key_list}, min(id) AS id FROM {table}"
            f"  GROUP BY {key_list} HAVING count(*) > 1"
            f") first USING ({key_list}) WHERE t.id <> first.id ORDER BY t.id"
        )
        cursor.execute(find_duplicates)
        duplicates = cursor.fetchall()
        if duplicates:
            drop_lines = f"DELETE FROM {table} WHERE id = ANY(%s)"  # noqa: S608
            cursor.execute(drop_lines, [[line for line, _ in duplicates]])
            for line, first in duplicates:
                report.reject(line, f"duplicate key: the same key as line {first}")
            report.rejections.sort()
        report.inserted, report.updated = written - len(duplicates), 0
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    (sequence,) = cursor.fetchone()
    move_on = f"SELECT setval(%s::regclass, GREATEST(%s, (SELECT last_value FROM {sequence})))"  # noqa: S608
    # Lines only grow, so the last one is the largest id written.
    cursor.execute(move_on, [sequence, last_line])


def _lock_if_empty(cursor, table: str) -> bool:
    """True, with the table locked against everyone until the commit, when it has no rows."""
    cursor.execute(f"SELECT NOT EXISTS (SELECT FROM {table})")  # noqa: S608
    if not cursor.fetchone()[0]:
        return False
    cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
    cursor.execute(f"SELECT NOT EXISTS (SELECT FROM {table})")  # noqa: S608
    return cursor.fetchone()[0]


@contextmanager
def _indexes_rebuilt_after(cursor, table: str):
    """Drop the table's indexes other than its primary key, run the block, build them again
    from their own definitions (unique constraints stay constraints, with their names)."""
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), c.conname,"
        "       pg_get_constraintdef(c.oid)"
        "  FROM pg_index i LEFT JOIN pg_constraint c"
        "    ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype = 'u'"
        " WHERE i.indrelid = %s::regclass AND NOT i.indisprimary",
        [table],
    )
    saved = cursor.fetchall()
    quote = connection.ops.quote_name
    for index, _, constraint, _ in saved:
        if constraint:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(constraint)}")
        else:
            cursor.execute(f"DROP INDEX {index}")
    yield
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for _, definition, constraint, constraint_definition in saved:
        if constraint:
            cursor.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {quote(constraint)} {constraint_definition}"
            )
        else:
            cursor.execute(definition)


# --- anywhere else: the ORM in chunks ------------------------------------------------------


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
            report.reject(line, f"duplicate key: the same key as line {first_line[row_key]}")
            continue
        first_line[row_key] = line
        chunk.append(values)
        if len(chunk) >= _ORM_CHUNK:
            flush()
    if chunk and not report.failed:
        flush()
    report.rejections.sort()


# --- the service ---------------------------------------------------------------------------


def registry_import_file(
    *,
    source: str,
    path: Path,
    encoding: str = "utf-8",
    as_of: date | None = None,
    submitted_by: str = "",
    progress: Callable[[int], None] | None = None,
    method: str | None = None,
) -> ImportReport:
    """Load one department file; one transaction, so a failure leaves none of its rows.

    `method` is `"copy"` (PostgreSQL only) or `"orm"`; by default the database decides.
    Raises ImportFailed (after recording a failed ImportBatch) when the file cannot be read.
    """
    if source not in FEEDS:
        raise ImportFailed(f"unknown source {source!r}: one of {', '.join(FEEDS)}")
    spec = FEEDS[source]
    path = Path(path)
    python_encoding = _python_encoding(encoding)
    method = method or ("copy" if connection.vendor == "postgresql" else "orm")
    if method == "copy" and connection.vendor != "postgresql":
        raise ImportFailed("the COPY path needs PostgreSQL")
    as_of = as_of or timezone.localdate()
    report = ImportReport(source=source, file_name=path.name, encoding=encoding)
    started = time.perf_counter()
    load = _load_copy if method == "copy" else _load_orm
    try:
        handle = path.open(encoding=python_encoding, newline="")
    except OSError as error:
        raise ImportFailed(f"cannot read {path}: {error.strerror or error}") from None
    try:
        with handle, transaction.atomic():
            batch = ImportBatch.objects.create(
                source=source,
                channel=Channel.FEED,
                file_name=path.name,
                encoding=encoding,
                as_of=as_of,
                submitted_by=submitted_by,
            )
            reader = csv.reader(handle, strict=True)
            load(spec, _rows(spec, reader, report, progress), batch, report)
            report.batch_id = batch.id
            report.seconds = time.perf_counter() - started
            _finish(batch, report)
    except UnicodeDecodeError as error:
        reason = f"{path.name} is not {encoding} text (byte {error.start} of a read block)"
        _record_failure(source, path, encoding, as_of, submitted_by, report, reason)
        raise ImportFailed(reason) from None
    except csv.Error as error:
        reason = f"{path.name}: malformed CSV: {error}"
        _record_failure(source, path, encoding, as_of, submitted_by, report, reason)
        raise ImportFailed(reason) from None
    except OSError as error:
        reason = f"cannot read {path}: {error.strerror or error}"
        _record_failure(source, path, encoding, as_of, submitted_by, report, reason)
        raise ImportFailed(reason) from None
    return report


def _finish(batch: ImportBatch, report: ImportReport) -> None:
    batch.status = ImportBatch.Status.FAILED if report.failed else ImportBatch.Status.DONE
    batch.finished_at = timezone.now()
    batch.rows_read = report.rows_read
    batch.rows_inserted = report.inserted
    batch.rows_updated = report.updated
    batch.rows_rejected = report.rejected
    batch.rejections = [{"line": line, "reason": reason} for line, reason in report.rejections]
    batch.save()


def _record_failure(source, path, encoding, as_of, submitted_by, report, reason) -> None:
    """The file's transaction is gone; keep a failed batch row saying why."""
    report.failed = True
    ImportBatch.objects.create(
        source=source,
        channel=Channel.FEED,
        file_name=path.name,
        encoding=encoding,
        as_of=as_of,
        submitted_by=submitted_by,
        status=ImportBatch.Status.FAILED,
        finished_at=timezone.now(),
        rejections=[{"line": 0, "reason": reason}],
    )
