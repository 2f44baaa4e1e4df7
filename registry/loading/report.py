"""What a load reports: its counts, its rejected rows, and the failures that stop it."""

from __future__ import annotations

from dataclasses import dataclass, field

from registry.feeds.specs import RowRejected

# Rejections kept per file, in the report and on the batch row. A file of garbage would
# otherwise hold one entry per line in memory; the count stays exact past the cap.
MAX_LISTED_REJECTIONS = 100_000

# A finding is about repetition: fewer rows than this are listed as they are, each on its
# own line, unless no row of the file loaded.
DIAGNOSIS_MIN_ROWS = 3

# Lines a diagnosis shows as examples of its finding: enough to find them in the file.
DIAGNOSIS_SAMPLES = 5

# A shape longer than this is cut: it shows what kind of value a column holds, not the value.
SHAPE_CHARS = 24


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
    # Every rejection counted by (code, field), exactly, past the listing cap too: the
    # findings a diagnosis is drawn from.
    findings: dict[tuple[str, str], Finding] = field(default_factory=dict)
    diagnosis: Diagnosis | None = None

    @property
    def unchanged(self) -> int:
        # A refused file left nothing unchanged: its one rejection is the file's, not a row's.
        if self.failed:
            return 0
        return self.rows_read - self.rejected - self.inserted - self.updated

    @property
    def loaded(self) -> int:
        """Rows the file holds that the registry now holds: inserted, updated or unchanged."""
        return self.inserted + self.updated + self.unchanged

    @property
    def nothing_loaded(self) -> bool:
        """No row of the file could be taken (every row rejected, or no row at all): the file
        is refused as a whole rather than reported as a load of nothing."""
        return self.loaded == 0

    def reject(
        self,
        line: int,
        reason: str,
        *,
        code: str = "",
        params: dict | None = None,
        value: str | None = None,
    ) -> None:
        """One rejected line; `value` is the rejected field's text, of which only its shape
        (value_shape) is kept, and only for the first few lines of each finding."""
        self.rejected += 1
        params = dict(params or {})
        if len(self.rejections) < MAX_LISTED_REJECTIONS:
            self.rejections.append((line, reason))
            self.rejection_codes[line] = (code, params)
        key = (code, str(params.get("field", "")))
        finding = self.findings.get(key)
        if finding is None:
            finding = self.findings[key] = Finding(
                code=code, field=key[1], reason=reason, params=params
            )
        finding.count += 1
        if len(finding.samples) < DIAGNOSIS_SAMPLES:
            finding.samples.append((line, None if value is None else value_shape(value)))


@dataclass
class Finding:
    """The rejections of one check on one column: how many, and the first of them."""

    code: str
    field: str
    reason: str
    params: dict
    count: int = 0
    samples: list[tuple[int, str | None]] = field(default_factory=list)


# Checks whose reason and parameters name one row's particulars (its value, the line it
# repeats, how many fields it has): a finding about many rows states the problem in general.
_PER_ROW_PROBLEMS = {
    RowRejected.IMPOSSIBLE_DATE: "impossible date",
    RowRejected.IMPOSSIBLE_MONTH: "impossible month",
    RowRejected.DUPLICATE_KEY: "the same key as an earlier line",
    RowRejected.WRONG_FIELD_COUNT: "expected {expected} fields",
}
_PER_ROW_PARAMS = ("value", "first_line", "found")

# A file the header of which is refused: its one finding is the file's, not a row's.
FILE_CODES = (RowRejected.MISSING_COLUMNS, RowRejected.REPEATED_COLUMNS)

# The diagnosis of a file with a header and no data row.
NO_ROWS = "no_rows"


@dataclass(frozen=True)
class Diagnosis:
    """What a report leads with: the one check most rejected rows failed (or why the file
    failed as a whole), with exact counts and a few example lines, so that ten thousand
    identical rejections read as one finding. Stored on the batch (`as_json`), so that the
    command and the stewards' pages say the same; pages word it from `code` and `params`.
    """

    code: str
    field: str
    params: dict
    # Rows that failed this check; rows read and rejected in all; rows the registry took.
    count: int
    rows_read: int
    rejected: int
    loaded: int
    # (line, shape of the rejected value or None where the check is not about one value)
    samples: tuple[tuple[int, str | None], ...]
    # The problem in English, general where each row's reason names its own particulars.
    problem: str

    def sentence(self) -> str:
        """The finding in one English line, e.g. `column sex: 1,694 of 1,694 rows — must be
        M or F`."""
        if self.code == NO_ROWS:
            return "the file has no data rows, only a header (or nothing)"
        if self.code in FILE_CODES:
            return self.problem
        where = f"column {self.field}: " if self.field else ""
        return f"{where}{self.count:,} of {self.rows_read:,} rows — {self.problem}"

    def examples(self) -> str:
        """The sample lines, e.g. `line 2 (value like "□"), line 3 (value like "")`."""
        return ", ".join(
            f"line {line}" if shape is None else f"line {line} (value like {shape!r})"
            for line, shape in self.samples
        )

    def as_json(self) -> dict:
        return {
            "code": self.code,
            "field": self.field,
            "params": self.params,
            "count": self.count,
            "rows_read": self.rows_read,
            "rejected": self.rejected,
            "loaded": self.loaded,
            "samples": [{"line": line, "shape": shape} for line, shape in self.samples],
            "problem": self.problem,
        }


def diagnose(report: ImportReport) -> Diagnosis | None:
    """The report's one finding: the check failed by more than half of the rejected rows (and
    by DIAGNOSIS_MIN_ROWS at least), or,
    when no row was loaded, the check failed most (or the lack of any row); None when the
    rejections have no common cause and the rest of the file loaded."""
    findings = sorted(
        report.findings.values(), key=lambda finding: (-finding.count, finding.samples[0][0])
    )
    loaded = report.loaded
    top_count = findings[0].count if findings else 0
    dominant = top_count >= DIAGNOSIS_MIN_ROWS and 2 * top_count > report.rejected
    if findings and (dominant or loaded == 0):
        top = findings[0]
        return Diagnosis(
            code=top.code,
            field=top.field,
            params={k: v for k, v in top.params.items() if k not in _PER_ROW_PARAMS},
            count=top.count,
            rows_read=report.rows_read,
            rejected=report.rejected,
            loaded=loaded,
            # The header's line says nothing a file-level finding does not.
            samples=() if top.code in FILE_CODES else tuple(sorted(top.samples)),
            problem=_problem(top),
        )
    if report.rows_read == 0 and not findings:
        return Diagnosis(
            code=NO_ROWS,
            field="",
            params={},
            count=0,
            rows_read=0,
            rejected=0,
            loaded=0,
            samples=(),
            problem="no data rows",
        )
    return None


def _problem(finding: Finding) -> str:
    general = _PER_ROW_PROBLEMS.get(finding.code)
    if general is not None:
        try:
            return general.format(**finding.params)
        except (KeyError, IndexError):
            return general
    prefix = f"{finding.field}: "
    return finding.reason.removeprefix(prefix) if finding.field else finding.reason


def value_shape(value: str) -> str:
    """What a value looks like, never what it is: digits as 9, Latin letters as A or a,
    Chinese characters as □ (a sign, not a character, so that pages in any language show it),
    other characters as they are; cut after SHAPE_CHARS. An ID number becomes
    99999999999999999A, which says what was wrong with it and nothing else."""
    shape = []
    for character in value[:SHAPE_CHARS]:
        if character.isdigit():
            shape.append("9")
        elif character.isascii() and character.isalpha():
            shape.append("A" if character.isupper() else "a")
        elif "\u4e00" <= character <= "\u9fff" or "\u3400" <= character <= "\u4dbf":
            shape.append("□")
        elif character.isalpha():
            shape.append("a")
        else:
            shape.append(character)
    return "".join(shape) + ("…" if len(value) > SHAPE_CHARS else "")


def failure_sentence(report: ImportReport) -> str:
    """Why a file of which no row loaded was not loaded, in one English sentence."""
    diagnosis = report.diagnosis
    if diagnosis is None:
        return "not loaded: no row of it could be taken"
    if diagnosis.code in FILE_CODES:
        return diagnosis.sentence()  # already says the file was refused, and why
    if diagnosis.code == NO_ROWS:
        return f"not loaded: {diagnosis.sentence()}"
    return f"not loaded, no row could be taken: {diagnosis.sentence()}"
