"""Reading the text files departments and counters send: where a file stops being its encoding.

Both the registry's feed import and enrollment's applications import name the line of the
first byte that is not the file's encoding, counting lines alike.
"""

import codecs
import itertools
from functools import partial
from pathlib import Path

_BLOCK_BYTES = 1 << 16


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
