"""Whole blocks of a feed file checked at once, column by column, for the COPY path.

A department's bulk export is millions of plain lines: no quotes, one comma between fields,
fixed-width codes, numbers and dates. For a block of such lines every check of `feeds.py`
runs over numpy arrays, a few operations per column for the whole block, where the row checks
cost several microseconds a line in the interpreter. A passing block goes to `COPY` almost as
it was read: each line gains its line number in front (the key the import reports duplicates
by) and a month gains its first day.

The block checks only ever accept. A block with a quote, a NUL, a blank line, a stray carriage
return, a wrong number of fields or any value a check refuses is handed back (`None`) to the
row checks of `feeds.py`, which name the line and the reason. So the two paths cannot differ
in what they reject, only in how fast they accept, and a test holds them to that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from registry.feeds.specs import FeedSpec

# The width of the line number put in front of each line: zero-padded, so every line gains
# the same number of bytes (PostgreSQL reads 0000000042 as 42).
LINE_DIGITS = 10

_ZERO, _NINE = ord("0"), ord("9")
_COMMA, _NEWLINE, _DASH = ord(","), ord("\n"), ord("-")
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_PLACES = 10 ** np.arange(LINE_DIGITS - 1, -1, -1, dtype=np.int64)
_FIRST_DAY = np.frombuffer(b"-01", dtype=np.uint8)


@dataclass(frozen=True)
class Column:
    """How one column is checked: its kind and, for text, its limits."""

    kind: str  # id | date | month | code | flag | sex | text
    width: int = 0  # code: its digits
    max_length: int = 0  # text: characters
    required: bool = False  # text: not empty


ID, DATE, MONTH, FLAG, SEX = (
    Column("id"),
    Column("date"),
    Column("month"),
    Column("flag"),
    Column("sex"),
)
SHARE = Column("share")


def code(width: int) -> Column:
    return Column("code", width=width)


def text(max_length: int, *, required: bool) -> Column:
    return Column("text", max_length=max_length, required=required)


# The same rules as the row checks of feeds.py, column by column.
COLUMNS: dict[str, dict[str, Column]] = {
    "property": {
        "certificate_no": text(64, required=True),
        "owner_id_number": ID,
        "share_percent": SHARE,
        "community_code": code(12),
        "address": text(255, required=False),
        "registered_on": DATE,
    },
    "hukou": {
        "id_number": ID,
        "name": text(64, required=True),
        "sex": SEX,
        "birth_date": DATE,
        "hukou_district_code": code(6),
        "community_code": code(12),
        "address": text(255, required=False),
        "registered_on": DATE,
        "household_no": text(32, required=False),
    },
    "rental": {
        "registration_no": text(64, required=True),
        "tenant_id_number": ID,
        "community_code": code(12),
        "address": text(255, required=False),
        "start_date": DATE,
        "end_date": DATE,
    },
    "social_insurance": {
        "id_number": ID,
        "month": MONTH,
        "pension": FLAG,
        "medical": FLAG,
        "employer_name": text(255, required=False),
    },
    "residence_permit": {
        "permit_no": text(64, required=True),
        "id_number": ID,
        "district_code": code(6),
        "issued_on": DATE,
        "expires_on": DATE,
    },
}
# Pairs of date columns where the second may not come before the first.
ORDERED_DATES: dict[str, tuple[str, str]] = {
    "rental": ("start_date", "end_date"),
    "residence_permit": ("issued_on", "expires_on"),
}


class BlockChecker:
    """Checks blocks of one file, whose header named `columns` in that order."""

    def __init__(self, spec: FeedSpec, columns: list[str], encoding: str = "utf-8"):
        rules = COLUMNS.get(spec.source)
        # Text lengths are counted in characters only in UTF-8; in another encoding a field
        # longer in bytes than its limit in characters takes the row checks.
        self.utf8 = encoding == "utf-8"
        self.usable = (
            rules is not None
            and len(set(columns)) == len(columns)
            and all(name in rules for name in columns)
        )
        self.source = spec.source
        self.columns = columns
        self.rules = [rules[name] for name in columns] if self.usable else []

    def check(self, block: bytes, first_line: int) -> bytes | None:
        """The block ready for COPY (CSV, each line led by its number), or None when any
        line in it needs the row checks. `block` is in the checker's encoding and ends with
        a newline."""
        if not self.usable or b'"' in block or b"\x00" in block:
            return None
        if b"\r" in block:
            block = block.replace(b"\r\n", b"\n")
            if b"\r" in block:
                return None
        data = np.frombuffer(block, dtype=np.uint8)
        ends = line_ends(data)
        if ends is None:
            return None
        starts, newlines = ends
        bounds = field_bounds(data, starts, newlines, len(self.columns))
        if bounds is None:
            return None
        begin, end = bounds
        fields = [(data, begin[:, index], end[:, index]) for index in range(len(self.rules))]
        if not self.accepts(fields):
            return None
        return self._for_copy(data, starts, begin, end, first_line)

    def accepts(self, fields: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> bool:
        """Whether every line passes every check, given each column as (bytes, where each
        line's field begins, where it ends): the file's block, or a column rewritten apart
        from it (blockforms)."""
        values: dict[str, np.ndarray] = {}
        for index, rule in enumerate(self.rules):
            data, begin, end = fields[index]
            checked = _check_column(data, begin, end, rule, self.utf8)
            if checked is None:
                return False
            values[self.columns[index]] = checked
        return self._cross_checks(values)

    def _cross_checks(self, values: dict[str, np.ndarray]) -> bool:
        # A hukou row's birth date equals the birth date inside its ID number.
        if self.source == "hukou" and not np.array_equal(values["birth_date"], values["id_number"]):
            return False
        ordered = ORDERED_DATES.get(self.source)
        return not (ordered and np.any(values[ordered[1]] < values[ordered[0]]))

    def _for_copy(self, data, starts, begin, end, first_line: int) -> bytes:
        """The block with each line's number in front and each month's first day added."""
        count = len(starts)
        prefix = line_prefixes(first_line, count)
        positions = [np.repeat(starts, LINE_DIGITS + 1)]
        inserted = [prefix.ravel()]
        for index, rule in enumerate(self.rules):
            if rule.kind == "month":
                positions.append(np.repeat(end[:, index], len(_FIRST_DAY)))
                inserted.append(np.tile(_FIRST_DAY, count))
        # np.insert places values given for one position in the order given.
        return np.insert(data, np.concatenate(positions), np.concatenate(inserted)).tobytes()


def line_prefixes(first_line: int, count: int) -> np.ndarray:
    """Each line's number, zero-padded, and a comma: what COPY reads first on each line."""
    numbers = np.arange(first_line, first_line + count, dtype=np.int64)
    digits = (numbers[:, None] // _PLACES % 10 + _ZERO).astype(np.uint8)
    return np.concatenate([digits, np.full((count, 1), _COMMA, dtype=np.uint8)], axis=1)


def line_ends(data: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Where each line starts and where its newline is, or None for a blank line (or none)."""
    newlines = np.flatnonzero(data == _NEWLINE)
    count = len(newlines)
    if count == 0:
        return None
    starts = np.empty(count, dtype=np.int64)
    starts[0] = 0
    starts[1:] = newlines[:-1] + 1
    if np.any(newlines == starts):
        return None  # a blank line
    return starts, newlines


def field_bounds(data, starts, newlines, width: int):
    """Where each field begins and ends, or None unless every line has `width` fields.
    Commas are sorted, so when there are exactly (width - 1) per line in total and each
    line's first and last fall inside it, each line has its own."""
    count = len(starts)
    commas = np.flatnonzero(data == _COMMA)
    if len(commas) != count * (width - 1):
        return None
    begin = np.empty((count, width), dtype=np.int64)
    end = np.empty((count, width), dtype=np.int64)
    begin[:, 0] = starts
    end[:, width - 1] = newlines
    if width > 1:
        commas = commas.reshape(count, width - 1)
        if np.any(commas[:, 0] < starts) or np.any(commas[:, -1] > newlines):
            return None
        begin[:, 1:] = commas + 1
        end[:, :-1] = commas
    return begin, end


def _check_column(data, begin, end, rule: Column, utf8: bool = True) -> np.ndarray | None:
    """Check one column of every line; returns what cross checks compare (for ID numbers
    the birth date inside them, for dates and months their YYYYMMDD), None on any failure."""
    lengths = end - begin
    if rule.kind == "text":
        if rule.required and np.any(lengths == 0):
            return None
        if np.any(lengths > rule.max_length) and not (
            utf8 and _within_characters(data, begin, end, rule.max_length)
        ):
            return None
        return lengths
    if rule.kind == "share":
        return _shares(data, begin, lengths)
    width = {"id": 18, "date": 10, "month": 7, "flag": 1, "sex": 1}.get(rule.kind, rule.width)
    if np.any(lengths != width):
        return None
    chars = data[begin[:, None] + np.arange(width)]
    if rule.kind == "flag":
        return chars[:, 0] if np.all((chars == _ZERO) | (chars == _ZERO + 1)) else None
    if rule.kind == "sex":
        return chars[:, 0] if np.all((chars == ord("M")) | (chars == ord("F"))) else None
    if rule.kind == "code":
        return chars if _all_digits(chars) else None
    if rule.kind == "id":
        return _id_numbers(chars)
    if rule.kind == "date":
        if np.any(chars[:, 4] != _DASH) or np.any(chars[:, 7] != _DASH):
            return None
        digits = chars[:, [0, 1, 2, 3, 5, 6, 8, 9]]
        return _dates(digits)
    if rule.kind == "month":
        if np.any(chars[:, 4] != _DASH):
            return None
        digits = chars[:, [0, 1, 2, 3, 5, 6]]
        if not _all_digits(digits):
            return None
        year, month = _number(digits[:, :4]), _number(digits[:, 4:])
        if np.any(year < 1) or np.any((month < 1) | (month > 12)):
            return None
        return year * 100 + month
    raise ValueError(f"unknown column kind {rule.kind}")


def _shares(data, begin, lengths) -> np.ndarray | None:
    """Shares written plainly, 1 to 3 digits with up to 2 decimals (`50`, `33.33`), more than
    0 and at most 100, in hundredths. Any other way of writing a number (exponents, signs,
    spaces, `.5`) is left to the row checks."""
    if np.any(lengths < 1) or np.any(lengths > 6):
        return None
    window = np.arange(6)
    inside = window < lengths[:, None]
    chars = data[np.minimum(begin[:, None] + window, len(data) - 1)]
    dots = (chars == ord(".")) & inside
    if np.any(dots.sum(axis=1) > 1):
        return None
    digits = (chars >= _ZERO) & (chars <= _NINE) & inside
    if np.any(inside & ~digits & ~dots):
        return None
    has_dot = dots.any(axis=1)
    whole = np.where(has_dot, dots.argmax(axis=1), lengths)
    decimals = np.where(has_dot, lengths - whole - 1, 0)
    if np.any((whole < 1) | (whole > 3)) or np.any(has_dot & ((decimals < 1) | (decimals > 2))):
        return None
    # Each digit's power of ten in hundredths: 2 for the units digit, one less per place to
    # the right of it, skipping the dot.
    power = whole[:, None] + 1 - window + (window > whole[:, None])
    values = np.where(digits, (chars.astype(np.int64) - _ZERO) * 10 ** np.clip(power, 0, 4), 0)
    hundredths = values.sum(axis=1)
    if np.any(hundredths < 1) or np.any(hundredths > 10_000):
        return None
    return hundredths


def _all_digits(chars: np.ndarray) -> bool:
    return bool(np.all((chars >= _ZERO) & (chars <= _NINE)))


def _number(digits: np.ndarray) -> np.ndarray:
    places = 10 ** np.arange(digits.shape[1] - 1, -1, -1, dtype=np.int64)
    return (digits.astype(np.int64) - _ZERO) @ places


def _dates(digits: np.ndarray) -> np.ndarray | None:
    """YYYYMMDD as numbers when every one is a real date (years 1 to 9999), else None."""
    if not _all_digits(digits):
        return None
    year, month, day = _number(digits[:, :4]), _number(digits[:, 4:6]), _number(digits[:, 6:])
    if np.any(year < 1) or np.any((month < 1) | (month > 12)) or np.any(day < 1):
        return None
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    longest = _DAYS_IN_MONTH[month] + (leap & (month == 2))
    if np.any(day > longest):
        return None
    return year * 10000 + month * 100 + day


def _id_numbers(chars: np.ndarray) -> np.ndarray | None:
    """GB 11643 for every number: 17 digits, a real birth date, the MOD 11-2 character."""
    first17 = chars[:, :17]
    if not _all_digits(first17):
        return None
    birth = _dates(chars[:, 6:14])
    if birth is None:
        return None
    expected = _ID_CHECK[((first17.astype(np.int64) - _ZERO) @ _ID_WEIGHTS) % 11]
    if not np.array_equal(expected, chars[:, 17]):
        return None
    return birth


def _within_characters(data, begin, end, max_length: int) -> bool:
    """Whether every field is at most `max_length` characters (UTF-8: a character is a byte
    that does not continue the one before)."""
    starts_char = ((data & 0xC0) != 0x80).astype(np.int64)
    running = np.concatenate([[0], np.cumsum(starts_char)])
    return bool(np.all(running[end] - running[begin] <= max_length))
