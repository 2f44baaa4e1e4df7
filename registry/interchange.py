"""What the product's outside contract (INTERCHANGE.md) asks of both agencies alike.

The shared kernel beside registry.contract and registry.idnumber: enrollment may import it,
the registry never imports enrollment. It holds how every command of the contract fails
(`ProductCommand`), how a department's or a counter's text file is read where it stops
being its encoding (`undecodable_line`), so the registry's feed import and enrollment's
applications import count lines alike, and how a cell of a file people open in a spreadsheet
is kept from being a formula (`safe_cell`), for both agencies' downloads.
"""

import codecs
import itertools
from functools import partial
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

_BLOCK_BYTES = 1 << 16

# A spreadsheet treats a cell starting with one of these as a formula (CSV injection); a
# Chinese input method types the full-width forms, which Excel and WPS read as the ASCII ones.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
# What a spreadsheet skips before it looks at a cell's first character: spaces (the
# ideographic one too), a byte-order mark and the zero-width characters (INTERCHANGE.md).
FORMULA_LEAD = " \u3000\ufeff\u200b\u200c\u200d\u2060"


def safe_cell(value) -> str:
    """The cell's text, with a leading apostrophe where a spreadsheet would see a formula."""
    text = "" if value is None else str(value)
    if text.lstrip(FORMULA_LEAD).startswith(FORMULA_START):
        return "'" + text
    return text


def undecodable_line(path: Path | str, encoding: str) -> int | None:
    """The line holding the file's first byte that is not `encoding` text, or None when the
    whole file is. A line ends at \\n, \\r or \\r\\n, as the csv reader and universal newlines
    count them; the lines are counted in the decoded text (in UTF-16 a 0x0A byte need not end
    one). Read a block at a time, never whole; an unreadable file raises OSError."""
    decoder = codecs.getincrementaldecoder(encoding)()
    lines_before, after_cr = 0, False
    with open(path, "rb") as handle:
        # Blocks cut after each line end, so that a bad byte is found in the piece of its own
        # line; a line a block cuts in two is counted once, at its end.
        blocks = iter(partial(handle.read, _BLOCK_BYTES), b"")
        pieces = (piece for block in blocks for piece in block.splitlines(keepends=True))
        for raw in itertools.chain(pieces, [b""]):
            try:
                text = decoder.decode(raw, final=not raw)
            except UnicodeDecodeError:
                return lines_before + 1
            lines_before += text.count("\n") + text.count("\r") - text.count("\r\n")
            # A \r\n that two reads cut apart is one line end.
            lines_before -= after_cr and text.startswith("\n")
            after_cr = text.endswith("\r") if text else after_cr
    return None


def _one_line_error(parser: CommandParser, message: str):
    """A bad argument on the command line: the reason on one line and exit status 2, as
    argparse does it, without argparse's usage block in front (`--help` still shows it)."""
    if parser.called_from_command_line:
        parser.exit(2, f"{parser.prog}: error: {message}\n")
    CommandParser.error(parser, message)  # from call_command: a CommandError


class ProductCommand(BaseCommand):
    """INTERCHANGE.md: every command exits non-zero with a one-line reason on bad arguments
    or unreadable input. CommandError already gives the second; this gives the first."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.error = lambda message: _one_line_error(parser, message)
        return parser
