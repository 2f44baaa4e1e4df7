"""`manage.py import_applications FILE` (INTERCHANGE.md "Applications (assisted channel)")."""

import codecs
import json
from collections.abc import Iterator
from datetime import datetime

from django.core.management.base import CommandError
from django.db import DatabaseError

from enrollment.errors import ErrorCode
from enrollment.models import Application, Consent
from enrollment.services.applications import (
    ApplicationInput,
    PersonInput,
    application_submit_many,
)
from registry.idnumber import mask_in_text
from registry.interchange import ProductCommand, undecodable_line

# Lines stored per transaction: a chunk is all or nothing, so an interrupted import leaves
# whole chunks behind and a rerun (same refs change nothing) completes it. 1,000 applications
# are about 6,000 rows, a few seconds at most.
CHUNK = 1000


class LineError(ValueError):
    pass


def _text(value, name: str) -> str:
    if not isinstance(value, str):
        raise LineError(f"{name}: must be text")
    return value


def _person(value, name: str) -> PersonInput:
    if not isinstance(value, dict):
        raise LineError(f"{name}: must be an object with name and id_number")
    return PersonInput(
        name=_text(value.get("name", ""), f"{name}.name"),
        id_number=_text(value.get("id_number", ""), f"{name}.id_number"),
        relation=_text(value.get("relation", ""), f"{name}.relation"),
    )


def application_input_from_record(record) -> ApplicationInput:
    """One line of applications.jsonl as the service's input; LineError names the field."""
    if not isinstance(record, dict):
        raise LineError("a line must be one JSON object")
    for key in ("ref", "admission_year", "child", "guardians", "home_community_code",
                "preferences", "consent"):  # fmt: skip
        if key not in record:
            raise LineError(f"{key}: missing")
    ref = _text(record["ref"], "ref").strip()
    if not ref or len(ref) > 32:
        raise LineError("ref: must be 1 to 32 characters")
    year = record["admission_year"]
    if not isinstance(year, int) or isinstance(year, bool):
        raise LineError("admission_year: must be a whole number")
    guardians = record["guardians"]
    if not isinstance(guardians, list):
        raise LineError("guardians: must be a list")
    preferences = record["preferences"]
    if not isinstance(preferences, list) or not all(isinstance(p, str) for p in preferences):
        raise LineError("preferences: must be a list of school codes")
    consent = record["consent"]
    if not isinstance(consent, dict):
        raise LineError("consent: must be an object with given_by and given_at")
    given_at = None
    if consent.get("given_at"):
        try:
            given_at = datetime.fromisoformat(_text(consent["given_at"], "consent.given_at"))
        except ValueError:
            raise LineError("consent.given_at: must be an ISO date-time") from None
        if given_at.tzinfo is None:
            raise LineError("consent.given_at: must carry a UTC offset (+08:00)")
    lookups = consent.get("lookups", list(Consent.Lookup.values))
    if not isinstance(lookups, list):
        raise LineError("consent.lookups: must be a list")
    return ApplicationInput(
        ref=ref,
        admission_year=year,
        grade=_text(record.get("grade", "primary1"), "grade"),
        child=_person(record["child"], "child"),
        guardians=[_person(g, f"guardians[{i}]") for i, g in enumerate(guardians)],
        home_community_code=_text(record["home_community_code"], "home_community_code"),
        home_address=_text(record.get("home_address", ""), "home_address"),
        preferences=preferences,
        consent_given_by=_text(consent.get("given_by", ""), "consent.given_by"),
        consent_given_at=given_at,
        consent_lookups=lookups,
    )


def _check_decodes(file: str, decoding: str, encoding: str) -> None:
    """Refuse, before anything is stored, a file that is not `encoding` text, naming the line
    of the first bad byte (counted as `_lines` counts them)."""
    try:
        line = undecodable_line(file, decoding)
    except OSError as error:
        raise CommandError(f"cannot read {file}: {error.strerror or error}") from None
    if line is not None:
        raise CommandError(f"{file} is not valid {encoding} text (line {line}; try --encoding)")


def _lines(file: str, decoding: str) -> Iterator[tuple[int, str]]:
    """(number, text) for each line, one at a time. A line ends at a newline, a carriage
    return or both; never at U+2028, U+0085 and the other breaks that JSON allows inside a
    string (str.splitlines() would split a record there and renumber every later line). A
    byte order mark (Notepad writes one) is not part of the first line."""
    with open(file, encoding=decoding, newline=None) as handle:
        for number, line in enumerate(handle, start=1):
            yield number, line.rstrip("\n")


class Command(ProductCommand):
    help = (
        "Submit applications from a JSON-lines file as the assisted (counter) channel. Bad lines "
        "are reported with their line number and reason, good ones kept; a ref already stored "
        "changes nothing. Verification is enqueued in batches after each chunk commits."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--encoding", default="utf-8")

    def handle(self, *args, file: str, encoding: str, **options):
        try:
            python_encoding = codecs.lookup(encoding).name
        except LookupError:
            raise CommandError(f"unknown encoding {encoding}") from None
        decoding = "utf-8-sig" if python_encoding == "utf-8" else python_encoding
        _check_decodes(file, decoding, encoding)

        counts = {"read": 0, "created": 0, "unchanged": 0, "rejected": 0}
        problems: list[tuple[int, str]] = []
        # A year without an active policy refuses every line of it for the same reason: the
        # reason, with the lines it refused.
        without_policy: dict[str, list[int]] = {}
        chunk: list[tuple[int, ApplicationInput]] = []

        def flush():
            if not chunk:
                return
            try:
                result = application_submit_many(
                    items=[item for _, item in chunk],
                    channel=Application.Channel.ASSISTED,
                )
            except DatabaseError as error:
                raise CommandError(
                    f"lines {chunk[0][0]}-{chunk[-1][0]} not stored: {type(error).__name__}; "
                    "rerun the import to complete it"
                ) from None
            counts["created"] += len(result.created)
            counts["unchanged"] += len(result.existing)
            for index, errors in result.rejected.items():
                counts["rejected"] += 1
                no_policy = [e for e in errors.errors if e.code == ErrorCode.NO_POLICY]
                if no_policy:
                    # Said once for the file below, not once per line; the year's other
                    # refusals (no school admits in it) follow from the same cause.
                    without_policy.setdefault(no_policy[0].message, []).append(chunk[index][0])
                    continue
                reasons = "; ".join(e.message for e in errors.errors)
                problems.append((chunk[index][0], reasons))
            chunk.clear()

        for number, line in _lines(file, decoding):
            if not line.strip():
                continue
            counts["read"] += 1
            try:
                chunk.append((number, application_input_from_record(json.loads(line))))
            except json.JSONDecodeError as error:
                counts["rejected"] += 1
                problems.append((number, f"not valid JSON ({error.msg})"))
            except LineError as error:
                counts["rejected"] += 1
                problems.append((number, str(error)))
            if len(chunk) >= CHUNK:
                flush()
        flush()

        for reason, numbers in without_policy.items():
            self.stdout.write(f"{_lines_named(numbers)}: {reason}")
        for number, reason in sorted(problems):
            self.stdout.write(f"line {number}: {mask_in_text(reason)}")
        summary = (
            f"{file}: {counts['read']} read, {counts['created']} created, "
            f"{counts['unchanged']} unchanged, {counts['rejected']} rejected"
        )
        if without_policy and not counts["created"] and not counts["unchanged"]:
            # Nothing could be taken: a failed import, said in one sentence.
            raise CommandError(f"{summary}; {next(iter(without_policy))}")
        self.stdout.write(summary)


def _lines_named(numbers: list[int]) -> str:
    """`line 3`, `lines 1 to 40` (every one of them), or `200 lines from 1 to 400`."""
    first, last = min(numbers), max(numbers)
    if len(numbers) == 1:
        return f"line {first}"
    if last - first + 1 == len(numbers):
        return f"lines {first} to {last}"
    return f"{len(numbers)} lines from {first} to {last}"
