"""Loading a department file on PostgreSQL: the checked rows as CSV for COPY into a staging table, then one upsert by key (or, into an empty table, straight in with the indexes built after)."""

from __future__ import annotations

import csv
import io
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection
from django.utils import timezone

from registry.feeds.blockcheck import BlockChecker
from registry.feeds.blockforms import BlockForms
from registry.feeds.specs import FeedSpec, RowRejected
from registry.loading import rows as row_reading
from registry.loading.report import ImportReport
from registry.loading.rows import Layout, checked_rows, column_layout
from registry.models import RECORD_MODELS, ImportBatch

# Bytes read at a time on the COPY path (a block, its copy for COPY and a few arrays over it
# are what the import holds in memory).
_BLOCK_BYTES = 4 << 20


# Bytes of lines held back waiting for a quoted field to close: a field is at most a few
# hundred characters, so this much means the quote never closes.
_MAX_PENDING_BYTES = 4 * _BLOCK_BYTES


# Checked blocks waiting for the thread that sends them to COPY.
_BLOCKS_AHEAD = 2


class CopyFeed:
    """A feed file read in blocks and handed to COPY as CSV, each line led by its number.

    A block of plain lines is checked column-wise at once (registry.feeds.blockcheck); a block the
    column checks do not pass goes through the row checks of feeds.py, which reject what is
    wrong with line and reason and write the good rows out again. Memory holds a block or
    two, whatever the file's size.
    """

    def __init__(self, spec, handle, encoding: str, layout: Layout, report, progress):
        self.spec = spec
        self.handle = handle
        self.encoding = "utf-8" if encoding == "utf-8-sig" else encoding
        self.layout = layout
        self.report = report
        self.progress = progress
        # The feed's columns the file has, in the file's order: what each line holds.
        self.columns = [name for name in layout.names if name in spec.columns]
        self.checker = BlockChecker(spec, layout.names)
        # The blocks reach the checks as UTF-8 (chunks() decodes any other encoding).
        self.forms = BlockForms(spec, layout.names)
        # Whether the last block was in department forms: a file is written one way
        # throughout, so the next block is rewritten before it is checked, not after.
        self.rewrite_first = False
        self.rows_written = 0
        self.last_line = 0

    @classmethod
    def open(cls, spec, handle, encoding: str, report, progress, mappings=None) -> CopyFeed | None:
        """Read the header (through the source's header sets, `mappings`); None (the file
        failed, on the report) when it is not the feed's."""
        if '\n,"'.encode(encoding) != b'\n,"':
            # Blocks are cut at newline bytes, which only works where a newline, a comma and a
            # quote are the ASCII bytes (UTF-8, GBK, GB18030, Big5 …); anything else (UTF-16)
            # is read as text and handed on as UTF-8.
            handle, encoding = _AsUtf8(handle, encoding), "utf-8"
        header_line = handle.readline().decode(encoding)
        header = next(csv.reader([header_line], strict=True), [])
        layout = column_layout(spec, header, 1, report, mappings)
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
            checked = self._block_checked(data, line)
            if checked is not None:
                yield checked
                self._count(lines, line + lines - 1)
            else:
                yield self._row_checked(text, lines_before=line - 1)
            line += lines

    def _block_checked(self, data: bytes, line: int) -> bytes | None:
        """The block through the block checks, its department forms rewritten
        (registry.feeds.blockforms) when it does not pass as it is."""
        if not self.rewrite_first:
            checked = self.checker.check(data, line)
            if checked is not None or not self.forms.usable:
                return checked
        checked = self.forms.for_copy(data, line, self.checker)
        self.rewrite_first = checked is not None
        return checked

    def _count(self, rows: int, last_line: int) -> None:
        before = self.report.rows_read
        self.report.rows_read += rows
        self.rows_written += rows
        self.last_line = last_line
        if self.progress is not None and before // row_reading.PROGRESS_EVERY != (
            self.report.rows_read // row_reading.PROGRESS_EVERY
        ):
            self.progress(self.report.rows_read)

    def _row_checked(self, text: str, *, lines_before: int) -> bytes:
        order = [self.spec.columns.index(name) for name in self.columns]
        out = io.StringIO()
        # Every field quoted: a carriage return inside a value must reach COPY quoted too
        # (minimal quoting only quotes what contains the line terminator).
        write = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL).writerow
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        rows = checked_rows(
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


def load_copy(spec: FeedSpec, feed: CopyFeed, batch: ImportBatch, report: ImportReport):
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
        # The staging rows' own unique key lets the comparison with the stored rows below
        # walk two indexes in step (a merge join) instead of sorting both sides. The later
        # rows of a key the file has twice are rejected and dropped first (the first row of a
        # key stands), so the build cannot fail.
        key_list = ", ".join(key)
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        _drop_later_duplicates(cursor, staging, "line", key, report)
        cursor.execute(f"CREATE UNIQUE INDEX ON {staging} ({key_list})")

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


def _copy(cursor, table: str, line_column: str, feed: CopyFeed) -> None:
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
    """Into an empty table: COPY straight into it, drop the later rows of keys that occur
    twice, build its unique key, then its other indexes.

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
        duplicates = _drop_later_duplicates(cursor, table, "id", key, report)
        build_key()
        report.inserted, report.updated = feed.rows_written - len(duplicates), 0
    if feed.rows_written:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        (sequence,) = cursor.fetchone()
        move_on = f"SELECT setval(%s::regclass, GREATEST(%s, (SELECT last_value FROM {sequence})))"  # noqa: S608
        # Lines only grow, so the last one is the largest id written.
        cursor.execute(move_on, [sequence, feed.last_line])


def _drop_later_duplicates(
    cursor, table: str, line: str, key: list[str], report
) -> list[tuple[int, int]]:
    """Delete every row of `table` whose key an earlier line of the file has (`line` is the
    column holding the line number) and reject each on the report, by line numbers only.

    Run before the unique index on `key` is built, never as the answer to its failure: a
    unique index build that fails puts the duplicated key, an ID number, into PostgreSQL's
    own log (`DETAIL: Key (id_number)=(…) is duplicated.`), which the product cannot mask.
    A query finds duplicates without an error, so the server logs nothing.
    """
    key_list = ", ".join(key)
    cursor.execute("SET LOCAL work_mem = '256MB'")
    # Identifiers below come from the models' metadata, never from the file.
    # Most files have no key twice: one aggregate says so, without the join below.
    any_twice = f"SELECT EXISTS (SELECT FROM {table} GROUP BY {key_list} HAVING count(*) > 1)"  # noqa: S608
    cursor.execute(any_twice)
    if not cursor.fetchone()[0]:
        return []
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

    The block gets `build_key()`, which builds the unique constraint on `key` first; the
    block calls it once it has made the rows unique (a failed build would log the key).
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

    def build_key() -> None:
        if key_index is not None:
            cursor.execute(statement(key_index))

    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    yield build_key
    for index in saved:
        if index is not key_index:
            cursor.execute(statement(index))
