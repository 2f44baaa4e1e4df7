"""Reading a department file's rows: the header mapped to the feed's columns, each row checked, the bad ones reported with their line."""

from __future__ import annotations

import csv
import operator
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from registry.feeds.specs import FeedSpec, RowRejected
from registry.loading.report import ImportReport

PROGRESS_EVERY = 100_000


@dataclass(frozen=True)
class Layout:
    """Where a file's header put the feed's columns."""

    # The header's names: the feed's column for each it knows, the written name (normalised)
    # for an extra column.
    names: list[str]
    width: int
    # For each of the feed's columns (FeedSpec.columns order), its index in a row; an
    # optional column the file lacks reads from one empty cell appended to each row.
    positions: list[int]

    @property
    def pad(self) -> bool:
        return self.width in self.positions


# The header set every feed has without a mapping: INTERCHANGE.md's column names.
ENGLISH_HEADERS = "English column names"


def header_name(name: str) -> str:
    """A header as it is compared: NFKC (full-width letters and spaces), surrounding spaces
    trimmed, lower-cased (English names are matched whatever their case)."""
    if not name.isascii():
        name = unicodedata.normalize("NFKC", name)
    return name.strip().lower()


def column_layout(
    spec: FeedSpec,
    header: list[str],
    line: int,
    report: ImportReport,
    mappings: dict[str, dict[str, str]] | None = None,
) -> Layout | None:
    """The file's layout, or None with the file failed when a required column is missing or
    a feed column is named twice.

    `mappings` are the source's header sets (registry.models.HeaderMapping: set name →
    {header: column}); a header is a feed column by its English name or by any set's. A file
    missing a column is refused naming the set closest to its header (the one that names
    most of its columns) and what that set lacks, in its own names."""
    sets = {ENGLISH_HEADERS: {column: column for column in spec.columns}, **(mappings or {})}
    known = {name: column for headers in sets.values() for name, column in headers.items()}
    written = [header_name(name) for name in header]
    # An unknown header is an extra column: it keeps its own name, which is no feed column's.
    names = [known.get(name, name) for name in written]
    missing = [c for c in spec.columns if c not in names and c not in spec.optional]
    if missing:
        closest, found = _closest_set(sets, written)
        called = {column: name for name, column in sets[closest].items()}
        shown = [
            column if called.get(column, column) == column else f"{called[column]} ({column})"
            for column in missing
        ]
        report.reject(
            line,
            f"unknown column set: missing {', '.join(shown)} "
            f"(closest known headers: {closest}, {found} of {len(spec.columns)} columns; "
            f"a {spec.source} feed has {', '.join(spec.columns)})",
            code=RowRejected.MISSING_COLUMNS,
            params={
                "missing": shown,
                "source": spec.source,
                "columns": list(spec.columns),
                "closest": closest,
                "found": found,
            },
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
    return Layout(names=names, width=width, positions=positions)


def _closest_set(sets: dict[str, dict[str, str]], written: list[str]) -> tuple[str, int]:
    """The header set naming most of the file's columns, and how many; the English names
    win a tie, then the set named first."""
    found = {
        name: len({headers[n] for n in written if n in headers}) for name, headers in sets.items()
    }
    best = max(found, key=lambda name: (found[name], name == ENGLISH_HEADERS))
    return best, found[best]


def file_rows(
    spec: FeedSpec,
    reader,
    report: ImportReport,
    progress: Callable[[int], None] | None,
    mappings: dict[str, dict[str, str]] | None = None,
) -> Iterator[tuple[int, tuple]]:
    """(line number, checked values) for every good row; rejects the rest onto the report."""
    try:
        header = next(reader)
    except StopIteration:
        header = []
    layout = column_layout(spec, header, reader.line_num or 1, report, mappings)
    if layout is not None:
        yield from checked_rows(spec, layout, reader, report, progress)


def checked_rows(
    spec: FeedSpec,
    layout: Layout,
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
            picked = pick([*row, ""] if pad else row)
            try:
                values = check(picked)
            except RowRejected as rejection:
                # The rejected field's text goes to the report, which keeps only its shape.
                known = rejection.field in spec.columns
                column = spec.columns.index(rejection.field) if known else None
                report.reject(
                    line,
                    rejection.reason,
                    code=rejection.code,
                    params=rejection.params,
                    value=None if column is None else picked[column],
                )
                continue
            yield line, values
    except csv.Error as error:
        # The whole file is refused (registry_import_file); say where the record that could
        # not be read began and where reading stopped (an unclosed quote runs on to the end).
        began, stopped = lines_before + ended + 1, lines_before + reader.line_num
        where = f"line {stopped}" if began >= stopped else f"lines {began} to {stopped}"
        raise csv.Error(f"{where}: {error}") from None
