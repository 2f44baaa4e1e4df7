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
import io
import operator
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from registry.feeds.blockcheck import BlockChecker
from registry.feeds.specs import FEEDS, FeedSpec, RowRejected
from registry.feeds.textfiles import undecodable_line
from registry.models import RECORD_MODELS, Channel, ImportBatch

# Rejections kept per file, in the report and on the batch row. A file of garbage would
# otherwise hold one entry per line in memory; the count stays exact past the cap.
MAX_LISTED_REJECTIONS = 100_000
# Bytes read at a time on the COPY path (a block, its copy for COPY and a few arrays over it
# are what the import holds in memory).
_BLOCK_BYTES = 4 << 20
# Bytes of lines held back waiting for a quoted field to close: a field is at most a few
# hundred characters, so this much means the quote never closes.
_MAX_PENDING_BYTES = 4 * _BLOCK_BYTES
# Checked blocks waiting for the thread that sends them to COPY.
_BLOCKS_AHEAD = 2
# Rows per ORM round trip on the plain path: SQLite's variable limit is 32,766 and the widest
# feed has 12 columns.
_ORM_CHUNK = 2_000
PROGRESS_EVERY = 100_000


class ImportFailed(Exception):
    """The file could not be loaded at all; the message is one line, fit for an operator, and
    `code` with `params` say the same for a page to word (unknown_source, unknown_encoding,
    needs_postgresql, unreadable, not_in_encoding with line and encoding, malformed_csv)."""

    def __init__(self, message: str, *, code: str, params: dict | None = None):
        super().__init__(message)
        self.code = code
        self.params = params or {}


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
    # The code and parameters of each listed rejection, by line (feeds.RowRejected): what a
    # page words in its own language, while the reasons above stay the report's English.
    rejection_codes: dict[int, tuple[str, dict]] = field(default_factory=dict)
    batch_id: int | None = None
    failed: bool = False
    seconds: float = 0.0

    @property
    def unchanged(self) -> int:
        # A refused file left nothing unchanged: its one rejection is the file's, not a row's.
        if self.failed:
            return 0
        return self.rows_read - self.rejected - self.inserted - self.updated

    def reject(self, line: int, reason: str, *, code: str = "", params: dict | None = None) -> None:
        self.rejected += 1
        if len(self.rejections) < MAX_LISTED_REJECTIONS:
            self.rejections.append((line, reason))
            self.rejection_codes[line] = (code, dict(params or {}))


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
        raise ImportFailed(f"unknown encoding {encoding!r}", code="unknown_encoding") from None
    # Spreadsheet exports often start with a byte order mark; it is not part of the header.
    return "utf-8-sig" if name == "utf-8" else name


@dataclass(frozen=True)
class _Layout:
    """Where a file's header put the feed's columns."""

    names: list[str]  # the header's names, normalised
    width: int
    # For each of the feed's columns (FeedSpec.columns order), its index in a row; an
    # optional column the file lacks reads from one empty cell appended to each row.
    positions: list[int]

    @property
    def pad(self) -> bool:
        return self.width in self.positions


def _layout(spec: FeedSpec, header: list[str], line: int, report: ImportReport) -> _Layout | None:
    """The file's layout, or None with the file failed when a required column is missing or
    a feed column is named twice."""
    names = [name.strip().lower() for name in header]
    missing = [c for c in spec.columns if c not in names and c not in spec.optional]
    if missing:
        report.reject(
            line,
            f"unknown column set: missing {', '.join(missing)} "
            f"(a {spec.source} feed has {', '.join(spec.columns)})",
            code=RowRejected.MISSING_COLUMNS,
            params={"missing": missing, "source": spec.source, "columns": list(spec.columns)},
        )
        report.failed = True
        return None
    # Which of two columns of one name holds the fact is anyone's guess: the file is refused.
    repeated = [c for c in spec.columns if names.count(c) > 1]
    if repeated:
        report.reject(
            line,
            f"unknown column set: {', '.join(repeated)} named more than once",
            code=RowRejected.REPEATED_COLUMNS,
            params={"repeated": repeated},
        )
        report.failed = True
        return None
    width = len(header)
    positions = [names.index(c) if c in names else width for c in spec.columns]
    return _Layout(names=names, width=width, positions=positions)


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
    layout = _layout(spec, header, reader.line_num or 1, report)
    if layout is not None:
        yield from _checked_rows(spec, layout, reader, report, progress)


def _checked_rows(
    spec: FeedSpec,
    layout: _Layout,
    reader,
    report: ImportReport,
    progress: Callable[[int], None] | None,
    *,
    lines_before: int = 0,
) -> Iterator[tuple[int, tuple]]:
    """The rows of `reader` through the feed's row checks; `lines_before` is how many lines
    of the file come before what the reader reads."""
    width = layout.width
    pad = layout.pad
    pick = operator.itemgetter(*layout.positions)
    check = spec.check
    ended = reader.line_num  # the last line of the last record read
    try:
        for row in reader:
            ended = reader.line_num
            if not row:
                continue  # a blank line is no row
            report.rows_read += 1
            if progress is not None and report.rows_read % PROGRESS_EVERY == 0:
                progress(report.rows_read)
            line = lines_before + reader.line_num
            if len(row) != width:
                report.reject(
                    line,
                    f"expected {width} fields, found {len(row)}",
                    code=RowRejected.WRONG_FIELD_COUNT,
                    params={"expected": width, "found": len(row)},
                )
                continue
            try:
                values = check(pick([*row, ""] if pad else row))
            except RowRejected as rejection:
                report.reject(line, rejection.reason, code=rejection.code, params=rejection.params)
                continue
            yield line, values
    except csv.Error as error:
        # The whole file is refused (registry_import_file); say where the record that could
        # not be read began and where reading stopped (an unclosed quote runs on to the end).
        began, stopped = lines_before + ended + 1, lines_before + reader.line_num
        where = f"line {stopped}" if began >= stopped else f"lines {began} to {stopped}"
        raise csv.Error(f"{where}: {error}") from None


# --- PostgreSQL: the file as CSV for COPY --------------------------------------------------


class _CopyFeed:
    """A feed file read in blocks and handed to COPY as CSV, each line led by its number.

    A block of plain lines is checked column-wise at once (registry.feeds.blockcheck); a block the
    column checks do not pass goes through the row checks of feeds.py, which reject what is
    wrong with line and reason and write the good rows out again. Memory holds a block or
    two, whatever the file's size.
    """

    def __init__(self, spec, handle, encoding: str, layout: _Layout, report, progress):
        self.spec = spec
        self.handle = handle
        self.encoding = "utf-8" if encoding == "utf-8-sig" else encoding
        self.layout = layout
        self.report = report
        self.progress = progress
        # The feed's columns the file has, in the file's order: what each line holds.
        self.columns = [name for name in layout.names if name in spec.columns]
        self.checker = BlockChecker(spec, layout.names)
        self.rows_written = 0
        self.last_line = 0

    @classmethod
    def open(cls, spec, handle, encoding: str, report, progress) -> _CopyFeed | None:
        """Read the header; None (the file failed, on the report) when it is not the feed's."""
        if '\n,"'.encode(encoding) != b'\n,"':
            # Blocks are cut at newline bytes, which only works where a newline, a comma and a
            # quote are the ASCII bytes (UTF-8, GBK, GB18030, Big5 …); anything else (UTF-16)
            # is read as text and handed on as UTF-8.
            handle, encoding = _AsUtf8(handle, encoding), "utf-8"
        header_line = handle.readline().decode(encoding)
        header = next(csv.reader([header_line], strict=True), [])
        layout = _layout(spec, header, 1, report)
        if layout is None:
            return None
        return cls(spec, handle, encoding, layout, report, progress)

    def chunks(self) -> Iterator[bytes]:
        line = 2  # the first line after the header
        for block in _blocks(self.handle):
            text = block.decode(self.encoding)  # a file that is not its encoding fails here
            data = block if self.encoding == "utf-8" else text.encode()
            # Lines as the csv reader numbers them: a carriage return on its own ends one too.
            lines = block.count(b"\n") + block.count(b"\r") - block.count(b"\r\n")
            checked = self.checker.check(data, line)
            if checked is not None:
                yield checked
                self._count(lines, line + lines - 1)
            else:
                yield self._row_checked(text, lines_before=line - 1)
            line += lines

    def _count(self, rows: int, last_line: int) -> None:
        before = self.report.rows_read
        self.report.rows_read += rows
        self.rows_written += rows
        self.last_line = last_line
        if self.progress is not None and before // PROGRESS_EVERY != (
            self.report.rows_read // PROGRESS_EVERY
        ):
            self.progress(self.report.rows_read)

    def _row_checked(self, text: str, *, lines_before: int) -> bytes:
        order = [self.spec.columns.index(name) for name in self.columns]
        out = io.StringIO()
        # Every field quoted: a carriage return inside a value must reach COPY quoted too
        # (minimal quoting only quotes what contains the line terminator).
        write = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL).writerow
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        rows = _checked_rows(
            self.spec, self.layout, reader, self.report, self.progress, lines_before=lines_before
        )
        for line, values in rows:
            write((line, *(values[i] for i in order)))
            self.rows_written += 1
            self.last_line = line
        return out.getvalue().encode()


class _AsUtf8:
    """A binary file in another encoding, read as UTF-8 bytes (`readline` and `read`)."""

    def __init__(self, handle, encoding: str):
        self.text = io.TextIOWrapper(handle, encoding=encoding, newline="")

    def readline(self) -> bytes:
        return self.text.readline().encode()

    def read(self, size: int) -> bytes:
        return self.text.read(size).encode()


def _blocks(handle) -> Iterator[bytes]:
    """The rest of a binary file in blocks of whole lines, never cut inside a quoted field
    (where the quotes seen so far are even), the last one ending with a newline too.

    A quote that never closes would hold every later line back: once more than
    _MAX_PENDING_BYTES wait, they go out as they are, and the CSV reader refuses the file
    naming the line where the quoted field began. Memory stays bounded either way."""
    rest = b""
    while chunk := handle.read(_BLOCK_BYTES):
        buffer = rest + chunk
        cut = _outside_quotes(buffer)
        if not cut and len(buffer) > _MAX_PENDING_BYTES:
            cut = buffer.rfind(b"\n") + 1 or len(buffer)
        if cut:
            yield buffer[:cut]
        rest = buffer[cut:]
    if rest:
        yield rest if rest.endswith(b"\n") else rest + b"\n"


def _outside_quotes(buffer: bytes) -> int:
    """The end of the last line of `buffer` (which starts outside any quoted field) that
    ends outside one, where the quotes before it are even; 0 when there is none. Each step
    back counts only the quotes of the line it steps over."""
    cut = buffer.rfind(b"\n") + 1
    odd = buffer.count(b'"', 0, cut) % 2
    while cut and odd:
        previous = buffer.rfind(b"\n", 0, cut - 1) + 1
        odd ^= buffer.count(b'"', previous, cut) % 2
        cut = previous
    return cut


# --- PostgreSQL: COPY into staging, upsert by key ------------------------------------------


def _load_copy(spec: FeedSpec, feed: _CopyFeed, batch: ImportBatch, report: ImportReport):
    model = RECORD_MODELS[spec.source]
    table = model._meta.db_table
    fields = [model._meta.get_field(name) for name in spec.columns]
    columns = [f.column for f in fields]
    key = [model._meta.get_field(name).column for name in spec.key]
    rest = [c for c in columns if c not in key]
    # The optional columns the file leaves out read as empty text, as on the row path.
    absent = set(columns) - {model._meta.get_field(name).column for name in feed.columns}
    staging = f"registry_staging_{spec.source}"
    column_list = ", ".join(columns)
    with connection.cursor() as cursor:
        # A few statements over a million rows each: compiling them costs more than it saves.
        cursor.execute("SET LOCAL jit = off")
        if _lock_if_empty(cursor, table):
            _first_load(cursor, spec, table, key, absent, feed, batch, report)
            return
        cursor.execute(f"DROP TABLE IF EXISTS {staging}")
        cursor.execute(
            f"CREATE TEMP TABLE {staging} (line integer NOT NULL, "
            + ", ".join(
                f"{f.column} {_column_type(f)}" + (" DEFAULT ''" if f.column in absent else "")
                for f in fields
            )
            + ") ON COMMIT DROP"
        )
        _copy(cursor, staging, "line", feed)
        # The staging rows' own unique key both proves the file has no key twice and lets
        # the comparison with the stored rows below walk two indexes in step (a merge join)
        # instead of sorting both sides. Only when it fails are the later rows of a key
        # found, rejected and dropped (the first row of a key stands).
        key_list = ", ".join(key)
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        staging_key = f"CREATE UNIQUE INDEX ON {staging} ({key_list})"
        if not _built(cursor, staging_key):
            _drop_later_duplicates(cursor, staging, "line", key, report)
            cursor.execute(staging_key)

        assignments = ", ".join(
            f"{c} = EXCLUDED.{c}" for c in [*rest, "batch_id", "as_of", "updated_at"]
        )
        # The planner needs the staging rows' count and their keys' spread to join them to the
        # stored rows, nothing finer: a small sample of the key columns says as much (the join
        # is the same) in a tenth of the time of full statistics on every column.
        cursor.execute("SET LOCAL default_statistics_target = 10")
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


def _column_type(field) -> str:
    """The field's column type with its collation: the staging rows' key must sort as the
    stored rows' does for the two to be walked in step."""
    params = field.db_parameters(connection)
    if collation := params.get("collation"):
        return f"{params['type']} COLLATE {connection.ops.quote_name(collation)}"
    return params["type"]


def _copy(cursor, table: str, line_column: str, feed: _CopyFeed) -> None:
    """Stream the feed into `table` (the line number into `line_column`). FORCE_NOT_NULL:
    an empty field is empty text, as on the row path, not NULL."""
    model = RECORD_MODELS[feed.spec.source]
    copied = ", ".join(model._meta.get_field(name).column for name in feed.columns)
    statement = (
        f"COPY {table} ({line_column}, {copied}) FROM STDIN (FORMAT csv, FORCE_NOT_NULL ({copied}))"
    )
    with cursor.cursor.copy(statement) as copy:
        _write_behind(feed.chunks(), copy.write)


def _write_behind(chunks: Iterator[bytes], write: Callable[[bytes], None]) -> None:
    """Hand each chunk to `write` on a thread of its own, so that the next block is read and
    checked while the last one goes to the server: without it the two take turns, each
    waiting on the other. At most _BLOCKS_AHEAD blocks wait, whatever the file's size.

    An error on either side ends both: the sender's is raised here once the reading stops,
    the reader's once the sender has sent what was already checked.
    """
    ahead: queue.Queue[bytes | None] = queue.Queue(maxsize=_BLOCKS_AHEAD)
    failed: list[BaseException] = []

    def send() -> None:
        while (chunk := ahead.get()) is not None:
            if failed:
                continue  # keep taking, so the reader never waits on a full queue
            try:
                write(chunk)
            except BaseException as error:  # noqa: BLE001 - raised again on the reading side
                failed.append(error)

    sender = threading.Thread(target=send, name="registry-copy", daemon=True)
    sender.start()
    try:
        for chunk in chunks:
            if failed:
                break
            ahead.put(chunk)
    finally:
        ahead.put(None)
        sender.join()
    if failed:
        raise failed[0]


def _first_load(cursor, spec, table, key, absent, feed, batch, report) -> None:
    """Into an empty table: COPY straight into it, build its unique key (dropping the later
    rows of keys that occur twice only when that fails), then its other indexes.

    Nothing stored can conflict, so there is no staging table and no upsert: the rows take
    COPY's multi-row insert path, and each index is built by one sort instead of growing a
    row at a time. Each row's id is its line number (unique in one file, and what a duplicate
    is reported by); the id sequence moves past them afterwards. The table stays locked until
    the commit; only an empty table is ever loaded this way.
    """
    with _indexes_rebuilt_after(cursor, table, key) as build_key:
        # The provenance is the same on every row: column defaults for the length of this
        # transaction, rather than three more values to encode and send per row.
        # DDL takes no parameters: the literals come from an int, a date and a datetime.
        defaults = [
            f"ALTER COLUMN batch_id SET DEFAULT {int(batch.id)}",
            f"ALTER COLUMN as_of SET DEFAULT '{batch.as_of.isoformat()}'::date",
            f"ALTER COLUMN updated_at SET DEFAULT '{timezone.now().isoformat()}'::timestamptz",
            *(f"ALTER COLUMN {column} SET DEFAULT ''" for column in sorted(absent)),
        ]
        cursor.execute(f"ALTER TABLE {table} {', '.join(defaults)}")
        _copy(cursor, table, "id", feed)
        dropped = ", ".join(
            f"ALTER COLUMN {column} DROP DEFAULT"
            for column in ["batch_id", "as_of", "updated_at", *sorted(absent)]
        )
        cursor.execute(f"ALTER TABLE {table} {dropped}")
        duplicates = []
        if not build_key():
            duplicates = _drop_later_duplicates(cursor, table, "id", key, report)
            build_key()
        report.inserted, report.updated = feed.rows_written - len(duplicates), 0
    if feed.rows_written:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        (sequence,) = cursor.fetchone()
        move_on = f"SELECT setval(%s::regclass, GREATEST(%s, (SELECT last_value FROM {sequence})))"  # noqa: S608
        # Lines only grow, so the last one is the largest id written.
        cursor.execute(move_on, [sequence, feed.last_line])


def _built(cursor, unique_index: str) -> bool:
    """Run a statement building a unique index in a savepoint: False when the rows break it
    (and nothing was built), True when it holds."""
    try:
        with transaction.atomic():
            cursor.execute(unique_index)
    except IntegrityError:
        return False
    return True


def _drop_later_duplicates(
    cursor, table: str, line: str, key: list[str], report
) -> list[tuple[int, int]]:
    """Delete every row of `table` whose key an earlier line of the file has (`line` is the
    column holding the line number) and reject each on the report."""
    key_list = ", ".join(key)
    cursor.execute("SET LOCAL work_mem = '256MB'")
    # Identifiers below come from the models' metadata, never from the file.
    find_duplicates = (
        f"SELECT t.{line}, first.{line} FROM {table} t JOIN ("  # noqa: S608
        f"  SELECT {key_list}, min({line}) AS {line} FROM {table}"
        f"  GROUP BY {key_list} HAVING count(*) > 1"
        f") first USING ({key_list}) WHERE t.{line} <> first.{line} ORDER BY t.{line}"
    )
    cursor.execute(find_duplicates)
    duplicates = cursor.fetchall()
    drop_lines = f"DELETE FROM {table} WHERE {line} = ANY(%s)"  # noqa: S608
    cursor.execute(drop_lines, [[later for later, _ in duplicates]])
    for later, first in duplicates:
        report.reject(
            later,
            f"duplicate key: the same key as line {first}",
            code=RowRejected.DUPLICATE_KEY,
            params={"first_line": first},
        )
    report.rejections.sort()
    return duplicates


def _lock_if_empty(cursor, table: str) -> bool:
    """True, with the table locked against everyone until the commit, when it has no rows."""
    cursor.execute(f"SELECT NOT EXISTS (SELECT FROM {table})")  # noqa: S608
    if not cursor.fetchone()[0]:
        return False
    cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
    cursor.execute(f"SELECT NOT EXISTS (SELECT FROM {table})")  # noqa: S608
    return cursor.fetchone()[0]


@contextmanager
def _indexes_rebuilt_after(cursor, table: str, key: list[str]):
    """Drop the table's indexes, primary key included, run the block, build them again from
    their own definitions (constraints stay constraints, with their names). Nothing refers
    to registry records by foreign key, so the primary key can go for the length of a load.

    The block gets `build_key()`, which builds the unique constraint on `key` first, in a
    savepoint: True when it holds, False (nothing built) when the rows break it; the block
    calls it again once it has made the rows unique.
    """
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), c.conname,"
        "       pg_get_constraintdef(c.oid),"
        "       ARRAY(SELECT a.attname::text FROM unnest(i.indkey) k"
        "             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k)"
        "  FROM pg_index i LEFT JOIN pg_constraint c"
        "    ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u')"
        " WHERE i.indrelid = %s::regclass"
        " ORDER BY i.indisprimary DESC",
        [table],
    )
    saved = cursor.fetchall()
    quote = connection.ops.quote_name
    for index, _, constraint, _, _ in saved:
        if constraint:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(constraint)}")
        else:
            cursor.execute(f"DROP INDEX {index}")

    def statement(index) -> str:
        _, definition, constraint, constraint_definition, _ = index
        if constraint:
            return f"ALTER TABLE {table} ADD CONSTRAINT {quote(constraint)} {constraint_definition}"
        return definition

    key_index = next((i for i in saved if i[2] and list(i[4]) == list(key)), None)

    def build_key() -> bool:
        return key_index is None or _built(cursor, statement(key_index))

    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    yield build_key
    for index in saved:
        if index is not key_index:
            cursor.execute(statement(index))


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
    file_name: str = "",
) -> ImportReport:
    """Load one department file; one transaction, so a failure leaves none of its rows.

    `method` is `"copy"` (PostgreSQL only) or `"orm"`; by default the database decides.
    `file_name` is the name the batch records, when not the file's own (a handed-in file).
    Raises ImportFailed (after recording a failed ImportBatch) when the file cannot be read.
    """
    if source not in FEEDS:
        raise ImportFailed(
            f"unknown source {source!r}: one of {', '.join(FEEDS)}", code="unknown_source"
        )
    spec = FEEDS[source]
    path = Path(path)
    name = file_name or path.name
    python_encoding = _python_encoding(encoding)
    method = method or ("copy" if connection.vendor == "postgresql" else "orm")
    if method == "copy" and connection.vendor != "postgresql":
        raise ImportFailed("the COPY path needs PostgreSQL", code="needs_postgresql")
    as_of = as_of or timezone.localdate()
    report = ImportReport(source=source, file_name=name, encoding=encoding)
    started = time.perf_counter()
    try:
        # COPY reads bytes and decodes a block at a time; the ORM path reads text.
        if method == "copy":
            handle = path.open("rb")
        else:
            handle = path.open(encoding=python_encoding, newline="")
    except OSError as error:
        reason = f"cannot read {path}: {error.strerror or error}"
        raise ImportFailed(reason, code="unreadable") from None
    try:
        with handle, transaction.atomic():
            batch = ImportBatch.objects.create(
                source=source,
                channel=Channel.FEED,
                file_name=name,
                encoding=encoding,
                as_of=as_of,
                submitted_by=submitted_by,
            )
            if method == "copy":
                feed = _CopyFeed.open(spec, handle, python_encoding, report, progress)
                if feed is not None:
                    _load_copy(spec, feed, batch, report)
            else:
                reader = csv.reader(handle, strict=True)
                _load_orm(spec, _rows(spec, reader, report, progress), batch, report)
            report.batch_id = batch.id
            report.seconds = time.perf_counter() - started
            _finish(batch, report)
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
    batch.rows_read = report.rows_read
    batch.rows_inserted = report.inserted
    batch.rows_updated = report.updated
    batch.rows_rejected = report.rejected
    codes = report.rejection_codes
    batch.rejections = [
        {
            "line": line,
            "reason": reason,
            "code": codes.get(line, ("", {}))[0],
            "params": codes.get(line, ("", {}))[1],
        }
        for line, reason in report.rejections
    ]
    batch.save()


def _record_failure(source, name, encoding, as_of, submitted_by, report, reason) -> None:
    """The file's transaction is gone; keep a failed batch row saying why."""
    report.failed = True
    ImportBatch.objects.create(
        source=source,
        channel=Channel.FEED,
        file_name=name,
        encoding=encoding,
        as_of=as_of,
        submitted_by=submitted_by,
        status=ImportBatch.Status.FAILED,
        finished_at=timezone.now(),
        rejections=[{"line": 0, "reason": reason}],
    )
