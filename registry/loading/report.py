"""What a load reports: its counts, its rejected rows, and the failures that stop it."""

from __future__ import annotations

from dataclasses import dataclass, field

# Rejections kept per file, in the report and on the batch row. A file of garbage would
# otherwise hold one entry per line in memory; the count stays exact past the cap.
MAX_LISTED_REJECTIONS = 100_000


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
