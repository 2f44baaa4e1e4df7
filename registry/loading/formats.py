"""What a department file is before its rows are read: its encoding, or its spreadsheet.

INTERCHANGE.md: a CSV file is UTF-8 (with or without a byte order mark) or GB18030/GBK; an
undeclared one that is valid UTF-8 is UTF-8, otherwise GB18030. A file declared GBK that is
valid UTF-8 and holds non-ASCII text is refused: read as GBK, every name in it would be
garbled, and a garbled name still loads. An `.xlsx` file's first sheet is read as rows of
text, its header row first.
"""

from __future__ import annotations

import codecs
import datetime
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from registry.loading.report import ImportFailed

AUTO = "auto"
# The codecs that read Chinese Windows text; GB18030 reads everything GBK and GB2312 do.
GBK_FAMILY = {"gbk", "gb2312", "gb18030"}
_SNIFF_BYTES = 1 << 20


def codec_name(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ImportFailed(f"unknown encoding {encoding!r}", code="unknown_encoding") from None
    # Spreadsheet exports often start with a byte order mark; it is not part of the header.
    return "utf-8-sig" if name == "utf-8" else name


def utf8_sniff(path: Path) -> tuple[bool, bool]:
    """(whether the whole file is UTF-8, whether it holds any non-ASCII byte), read a block
    at a time and never whole; stops at the first byte that is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    non_ascii = False
    with open(path, "rb") as handle:
        for block in iter(partial(handle.read, _SNIFF_BYTES), b""):
            if block.isascii():
                continue
            non_ascii = True
            try:
                decoder.decode(block)
            except UnicodeDecodeError:
                return False, True
    try:
        decoder.decode(b"", final=True)  # a character cut off by the end of the file
    except UnicodeDecodeError:
        return False, non_ascii
    return True, non_ascii


def csv_encoding(path: Path, declared: str, *, name: str) -> str:
    """The Python codec to read a CSV file with. `declared` is what the person or command
    said (`auto` or empty: decide from the file). Raises ImportFailed when the file is
    declared GBK but is UTF-8 text."""
    if declared in ("", AUTO):
        valid_utf8, _ = utf8_sniff(path)
        return "utf-8-sig" if valid_utf8 else "gb18030"
    codec = codec_name(declared)
    if codec in GBK_FAMILY:
        valid_utf8, non_ascii = utf8_sniff(path)
        if valid_utf8 and non_ascii:
            raise ImportFailed(
                f"{name} is declared {declared} but is UTF-8 text: loading it as {declared} "
                "would garble every name in it (declare it UTF-8, or leave the encoding to "
                "be detected)",
                code="declared_gbk_is_utf8",
                params={"encoding": declared},
            )
    return codec


def shown_encoding(codec: str) -> str:
    """The encoding as a batch records it (`utf-8`, `gb18030`, …)."""
    return "utf-8" if codec == "utf-8-sig" else codec


def is_spreadsheet(path: Path) -> bool:
    return path.suffix.lower() == ".xlsx"


class SheetRows:
    """The first sheet of an `.xlsx` file as the csv reader gives a file: lists of text,
    the header first, `line_num` the sheet's row number of the last row given.

    Cells become the text a CSV export would hold: dates (and date-times, which a date
    column's cells often are) as `YYYY-MM-DD`, whole numbers as their digits (a number cell
    holding a code or a 15-digit ID number has no `.0`), other numbers in their shortest
    form, booleans as `1`/`0`. Every data row is as wide as the header: empty cells past
    its end are dropped, missing ones are empty.
    """

    def __init__(self, path: Path):
        from openpyxl import load_workbook  # only spreadsheets need it

        self.workbook = load_workbook(path, read_only=True, data_only=True)
        sheet = self.workbook.worksheets[0]
        self.rows = enumerate(sheet.iter_rows(values_only=True), start=1)
        self.line_num = 0
        self.width: int | None = None

    def close(self) -> None:
        self.workbook.close()

    def __iter__(self) -> Iterator[list[str]]:
        return self

    def __next__(self) -> list[str]:
        self.line_num, cells = next(self.rows)
        row = [_cell_text(cell) for cell in cells]
        while row and row[-1] == "":
            row.pop()
        if self.width is None:
            self.width = len(row)
        elif row and len(row) < self.width:
            row.extend([""] * (self.width - len(row)))
        return row


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)
