"""Department forms of a whole block rewritten to the canonical bytes, for the COPY path.

Departments write dates as `20200309`, months as `202001`, sex as `男`/`女` or `1`/`2`,
flags as `是`/`否`, shares as `50%`, and now and then an ID number in full-width digits or in
its 15 first-generation digits (INTERCHANGE.md). The block checks (blockcheck.py) accept only
the canonical forms, so such a block would take the row checks, several times slower. Here
each column of a block is rewritten, with a few numpy operations for the whole block, into
the canonical form the row checks would have made of it (registry.feeds.values); the block
checks check the rewritten columns where they are (`BlockChecker.accepts`), and the lines are
put together once, as COPY reads them (`for_copy`).

Like the block checks, this only ever helps: a field in a form not recognised here hands the
block back (None) to the row checks, which accept or reject it with line and reason. What is
rewritten is only what the row checks would store the same way (a 15-digit number gains `19`
and its check character, as idnumber.normalise does), and nothing here decides whether a value
is good: the block checks still do, on the rewritten bytes.

Blocks are bytes in the file's encoding, as long as its newline, comma and quote are the ASCII
bytes and never part of another character (UTF-8, GBK, GB18030): the Chinese forms are matched
as that encoding writes them.
"""

from __future__ import annotations

import numpy as np

from registry.feeds.blockcheck import (
    _ID_CHECK,
    _ID_WEIGHTS,
    COLUMNS,
    BlockChecker,
    field_bounds,
    line_ends,
    line_prefixes,
)
from registry.feeds.specs import FeedSpec

_ZERO, _NINE, _DASH, _CR = ord("0"), ord("9"), ord("-"), ord("\r")
_UNCHANGED = "unchanged"
# GB 11643 first generation: `19` goes in after the address code.
_CENTURY = np.frombuffer(b"19", dtype=np.uint8)
# What a month's text gains on its way to COPY: its first day.
_FIRST_DAY = np.frombuffer(b"-01", dtype=np.uint8)


class BlockForms:
    """Rewrites blocks of one file (whose header named `columns`, in `encoding`)."""

    def __init__(self, spec: FeedSpec, columns: list[str], encoding: str = "utf-8"):
        rules = COLUMNS.get(spec.source)
        self.usable = (
            rules is not None
            and len(set(columns)) == len(columns)
            and all(name in rules for name in columns)
        )
        self.kinds = [rules[name].kind for name in columns] if self.usable else []
        self.sexes = _table(
            encoding, {"M": "M", "F": "F", "1": "M", "2": "F", "男": "M", "女": "F"}
        )
        self.flags = _table(
            encoding,
            {"1": "1", "0": "0", "Y": "1", "N": "0", "y": "1", "n": "0", "是": "1", "否": "0"},
        )
        zero, nine = "０".encode(encoding), "９".encode(encoding)
        # Full-width digits: one prefix, the last byte counting up (UTF-8, GBK and GB18030).
        self.wide = len(zero)
        self.wide_prefix = zero[:-1]
        self.wide_zero = zero[-1]
        self.wide_x = {"Ｘ".encode(encoding), "ｘ".encode(encoding)}
        if nine != self.wide_prefix + bytes([self.wide_zero + 9]):
            self.wide = 0

    def translate(self, block: bytes) -> bytes | None:
        """The block with every column in a recognised form written canonically (the block
        itself when all already are), or None when some field is in no form known here.
        `block` ends with a newline; the rewritten block has no carriage returns."""
        found = self._rewritten(block)
        if found is None:
            return None
        data, begin, end, newlines, rewritten = found
        if not rewritten:
            return block
        return _assemble(data, begin, end, newlines, rewritten)

    def for_copy(self, block: bytes, first_line: int, checker: BlockChecker) -> bytes | None:
        """What `checker.check` would make of the translated block, in one pass: the
        rewritten columns are checked where they are, then the lines are put together once,
        each led by its number and each month given its first day. None when a field is in
        no form known here or any check fails (the row checks take the block)."""
        found = self._rewritten(block) if checker.usable else None
        if found is None:
            return None
        data, begin, end, newlines, rewritten = found
        fields = []
        for index in range(len(self.kinds)):
            how, first, second = rewritten.get(index, ("slice", begin[:, index], None))
            if how == "slice":
                fields.append(
                    (data, first, first + second if second is not None else end[:, index])
                )
            else:
                size = first.shape[1]
                starts = np.arange(len(first), dtype=np.int64) * size
                fields.append((first.ravel(), starts, starts + second))
        if not checker.accepts(fields):
            return None
        months = [index for index, kind in enumerate(self.kinds) if kind == "month"]
        prefix = line_prefixes(first_line, len(begin))
        return _assemble(data, begin, end, newlines, rewritten, prefix=prefix, months=months)

    def _rewritten(self, block: bytes):
        """(the block as bytes, each field's begin and end, each line's newline, the
        rewritten columns by index), or None when the block is not plain lines or some field
        is in no form known here."""
        if not self.usable or b'"' in block or b"\x00" in block:
            return None
        data = np.frombuffer(block, dtype=np.uint8)
        ends = line_ends(data)
        if ends is None:
            return None
        starts, newlines = ends
        # CRLF: each line's last field ends at its carriage return, which the rewritten
        # block leaves out (as the block checks would). A carriage return anywhere else
        # is the row checks' to judge.
        line_end = newlines
        if b"\r" in block:
            carriage = newlines - 1
            if block.count(b"\r") != len(newlines) or np.any(
                (carriage < starts) | (data[np.maximum(carriage, 0)] != _CR)
            ):
                return None
            line_end = carriage
        bounds = field_bounds(data, starts, line_end, len(self.kinds))
        if bounds is None:
            return None
        begin, end = bounds
        rewritten = {}
        for index, kind in enumerate(self.kinds):
            form = _FORMS.get(kind)
            if form is None:
                continue
            result = form(self, data, begin[:, index], end[:, index])
            if result is None:
                return None
            if result is not _UNCHANGED:
                rewritten[index] = result
        return data, begin, end, newlines, rewritten

    # --- one form per kind of column: _UNCHANGED, None, or what the fields become ----------

    def _date(self, data, begin, end):
        return _insert_dashes(data, begin, end, canonical=10, compact=8, dashes=(4, 6))

    def _month(self, data, begin, end):
        return _insert_dashes(data, begin, end, canonical=7, compact=6, dashes=(4,))

    def _sex(self, data, begin, end):
        return _one_byte(data, begin, end, self.sexes)

    def _flag(self, data, begin, end):
        return _one_byte(data, begin, end, self.flags)

    def _share(self, data, begin, end):
        # `50%` is `50`: the same bytes, one shorter.
        lengths = end - begin
        percent = (lengths > 0) & (data[np.maximum(end - 1, 0)] == ord("%"))
        if not percent.any():
            return _UNCHANGED
        return ("slice", begin, lengths - percent)

    def _id(self, data, begin, end):
        lengths = end - begin
        count = len(lengths)
        last = data[np.maximum(end - 1, 0)]
        if np.all(lengths == 18) and not np.any(last == ord("x")):
            return _UNCHANGED
        wide = self.wide
        known = (lengths == 18) | (lengths == 15)
        if wide:
            known |= (lengths == 18 * wide) | (lengths == 15 * wide)
        if not known.all():
            return None
        out = data[np.minimum(begin[:, None] + np.arange(18), len(data) - 1)]
        digits = lengths.copy()
        narrow = lengths <= 18
        if wide and not narrow.all():
            # Only the full-width numbers are read three (or two) bytes a character.
            wide_rows = np.flatnonzero(~narrow)
            window = begin[wide_rows, None] + np.arange(18 * wide)
            cells = data[np.minimum(window, len(data) - 1)].reshape(len(wide_rows), 18, wide)
            in_field = np.arange(18) < (lengths[wide_rows] // wide)[:, None]
            prefix = np.frombuffer(self.wide_prefix, dtype=np.uint8)
            same_prefix = np.all(cells[:, :, :-1] == prefix, axis=2)
            value = cells[:, :, -1].astype(np.int64) - self.wide_zero
            is_digit = same_prefix & (value >= 0) & (value <= 9)
            converted = np.where(is_digit, value + _ZERO, ord("?")).astype(np.uint8)
            # The check character may be a full-width X.
            eighteen = lengths[wide_rows] == 18 * wide
            for x in self.wide_x:
                pattern = np.frombuffer(x, dtype=np.uint8)
                is_x = eighteen & np.all(cells[:, 17, :] == pattern, axis=1)
                converted[is_x, 17] = ord("X")
                is_digit[is_x, 17] = True
            if np.any(in_field & ~is_digit):
                return None
            out[wide_rows] = converted
            digits[wide_rows] = lengths[wide_rows] // wide
        out[:, 17] = np.where(out[:, 17] == ord("x"), ord("X"), out[:, 17])
        first = digits == 15
        if first.any():
            old = out[first, :15]
            if np.any((old < _ZERO) | (old > _NINE)):
                return None
            upgraded = np.empty((len(old), 18), dtype=np.uint8)
            upgraded[:, :6] = old[:, :6]
            upgraded[:, 6:8] = _CENTURY
            upgraded[:, 8:17] = old[:, 6:15]
            upgraded[:, 17] = _ID_CHECK[
                ((upgraded[:, :17].astype(np.int64) - _ZERO) @ _ID_WEIGHTS) % 11
            ]
            out[first] = upgraded
        return ("matrix", out, np.full(count, 18, dtype=np.int64))


_FORMS = {
    "date": BlockForms._date,
    "month": BlockForms._month,
    "sex": BlockForms._sex,
    "flag": BlockForms._flag,
    "share": BlockForms._share,
    "id": BlockForms._id,
}


def _table(encoding: str, forms: dict[str, str]) -> dict[bytes, int]:
    return {written.encode(encoding): ord(stored) for written, stored in forms.items()}


def _insert_dashes(data, begin, end, *, canonical: int, compact: int, dashes: tuple[int, ...]):
    """`YYYYMMDD` as `YYYY-MM-DD` (or `YYYYMM` as `YYYY-MM`); fields already as long as the
    canonical form stay as they are, for the block checks to judge."""
    lengths = end - begin
    if np.all(lengths == canonical):
        return _UNCHANGED
    short = lengths == compact
    if not np.all(short | (lengths == canonical)):
        return None
    chars = data[np.minimum(begin[:, None] + np.arange(canonical), len(data) - 1)]
    squeezed = chars[short, :compact]
    if np.any((squeezed < _ZERO) | (squeezed > _NINE)):
        return None
    out = chars.copy()
    pieces, previous = [], 0
    for cut in dashes:
        pieces += [squeezed[:, previous:cut], np.full((len(squeezed), 1), _DASH, dtype=np.uint8)]
        previous = cut
    pieces.append(squeezed[:, previous:])
    out[short] = np.concatenate(pieces, axis=1)
    return ("matrix", out, np.full(len(lengths), canonical, dtype=np.int64))


def _one_byte(data, begin, end, table: dict[bytes, int]):
    """Fields written in any of `table`'s forms, as the one byte each stands for."""
    lengths = end - begin
    out = np.zeros(len(lengths), dtype=np.uint8)
    done = np.zeros(len(lengths), dtype=bool)
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        chars = data[begin[rows, None] + np.arange(length)]
        for written, stored in table.items():
            if len(written) == length:
                match = np.all(chars == np.frombuffer(written, dtype=np.uint8), axis=1)
                out[rows[match]] = stored
                done[rows[match]] = True
    if not done.all():
        return None
    if np.all(lengths == 1) and np.array_equal(out, data[begin]):
        return _UNCHANGED
    return ("matrix", out[:, None], np.ones(len(lengths), dtype=np.int64))


def _assemble(data, begin, end, newlines, rewritten, *, prefix=None, months=()) -> bytes:
    """The block again, line by line, each rewritten field in place of the written one;
    with `prefix` (a matrix, one row per line) in front of each line and the first day
    after each of the `months` columns, as COPY reads them.

    One gather over the whole block: the output is a list of segments (a run of fields left
    as written with the separators between them, or one rewritten field, or a separator),
    each a start in a pool (the block, then each rewritten column's bytes, then `-01`) and a
    length. Each line ends with its newline alone."""
    count, width = begin.shape
    pool = [data]
    offset = len(data)
    starts, lengths = [], []
    one = np.ones(count, dtype=np.int64)

    def add_matrix(matrix, size_of_each) -> None:
        nonlocal offset
        size = matrix.shape[1]
        pool.append(matrix.ravel())
        starts.append(offset + np.arange(count, dtype=np.int64) * size)
        lengths.append(size_of_each)
        offset += matrix.size

    if prefix is not None:
        add_matrix(prefix, np.full(count, prefix.shape[1], dtype=np.int64))
    first_day = None
    if months:
        first_day = offset
        pool.append(_FIRST_DAY)
        offset += len(_FIRST_DAY)
    run = None  # the first column of a run of columns left as written
    for index in range(width):
        month = index in months
        if index not in rewritten and not month:
            if run is None:
                run = index
            continue
        if run is not None:
            # The run's fields and the separator before this one, as written.
            starts.append(begin[:, run])
            lengths.append(begin[:, index] - begin[:, run])
            run = None
        how, first, second = rewritten.get(
            index, ("slice", begin[:, index], end[:, index] - begin[:, index])
        )
        if how == "slice":
            starts.append(first)
            lengths.append(second)
        else:
            add_matrix(first, second)
        if month:
            starts.append(np.full(count, first_day, dtype=np.int64))
            lengths.append(np.full(count, len(_FIRST_DAY), dtype=np.int64))
        if index < width - 1:
            starts.append(end[:, index])  # the comma after the field
            lengths.append(one)
    if run is not None:
        starts.append(begin[:, run])
        lengths.append(end[:, width - 1] - begin[:, run])
    starts.append(newlines)
    lengths.append(one)
    # The gather's index as one running sum: +1 inside a segment, a jump at each segment's
    # start. In 32 bits (a block is a few MB): half the memory traffic of 64.
    start = np.stack(starts, axis=1).ravel().astype(np.int32)
    length = np.stack(lengths, axis=1).ravel().astype(np.int32)
    keep = length > 0
    start, length = start[keep], length[keep]
    first = np.cumsum(length) - length
    steps = np.ones(int(first[-1] + length[-1]), dtype=np.int32)
    steps[first[1:]] = start[1:] - (start[:-1] + length[:-1] - 1)
    steps[0] = start[0]
    return np.concatenate(pool)[np.cumsum(steps, dtype=np.int32)].tobytes()
