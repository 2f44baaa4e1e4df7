"""Resident ID numbers (GB 11643): normalising, validation and masking. Plain Python, no
database: the one place both apps turn what someone typed or sent into an ID number.

An ID number is 18 characters: a 6-digit address code, the birth date as YYYYMMDD, a 3-digit
sequence (odd for men) and a check character computed with ISO 7064 MOD 11-2, where `X`
stands for 10.

Every entrance (the registry's API and feeds, the counter push, enrollment's API, the parents'
forms, import_applications) passes what it receives through `validate`, which normalises
first, so a number typed with a Chinese input method and the same number in ASCII are one
number everywhere, and anything else is refused before it reaches arithmetic that only works
on ASCII digits.
"""

import logging
import re
import unicodedata
from datetime import date
from operator import mul

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# ASCII only: `\d` alone matches every script's digits (Arabic-Indic, Devanagari, …), which
# int() reads but the check character's byte arithmetic cannot.
_SHAPE = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)
# A first-generation (15-digit) number: address code, birth date as YYMMDD, sequence.
_FIRST_GENERATION = re.compile(r"[0-9]{15}", re.ASCII)
# Longer than any ID number a person could mean, however padded: refused before normalising.
_MAX_TYPED = 64
# A run of digits that may hold an ID number, inside any text (logs, messages): no word
# boundary is assumed, since a number sits against letters, Chinese or other digits as often
# as against spaces. Any script's digits and a full-width X count.
_IN_TEXT = re.compile(r"\d{17,}[\dXxＸｘ]")


class InvalidIdNumber(ValueError):
    """The text is not a valid resident ID number; the message never repeats the number.

    `code` names the check that failed (SHAPE, BIRTH_DATE, CHECK_CHARACTER), so that a page
    can say it in its own language; the English message stays as reports and APIs know it.
    """

    SHAPE = "shape"
    BIRTH_DATE = "birth_date"
    CHECK_CHARACTER = "check_character"

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.code = code


# The digits' ASCII codes are 48 more than their values; one subtraction undoes that for all
# seventeen, so the weighted sum runs in C (bulk feeds check millions of numbers).
_ASCII_OFFSET = 48 * sum(_WEIGHTS)


def check_character(first17: str) -> str:
    """The check character for 17 digits."""
    total = sum(map(mul, first17.encode("ascii"), _WEIGHTS)) - _ASCII_OFFSET
    return _CHECK[total % 11]


def birth_date_of(id_number: str) -> date:
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def normalise(id_number: str | None) -> str:
    """The stored form of what was typed or sent: NFKC (full-width digits, `ｘ` and the
    ideographic space become ASCII), surrounding whitespace trimmed, `x` upper-cased, and a
    first-generation 15-digit number upgraded to 18 digits (`19` after the address code, the
    check character computed). It checks nothing: `validate` does.
    """
    value = id_number or ""
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value)
    value = value.strip().upper()
    if len(value) == 15 and _FIRST_GENERATION.fullmatch(value):
        first17 = f"{value[:6]}19{value[6:]}"
        value = first17 + check_character(first17)
    return value


def validate(id_number: str | None) -> str:
    """Return the normalised number, or raise InvalidIdNumber saying exactly what is wrong."""
    if len(id_number or "") > _MAX_TYPED:
        raise InvalidIdNumber("must be 17 digits followed by a digit or X", InvalidIdNumber.SHAPE)
    value = normalise(id_number)
    if not _SHAPE.fullmatch(value):
        raise InvalidIdNumber("must be 17 digits followed by a digit or X", InvalidIdNumber.SHAPE)
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidIdNumber(
            "the birth date inside the number is impossible", InvalidIdNumber.BIRTH_DATE
        ) from None
    if check_character(value[:17]) != value[17]:
        raise InvalidIdNumber(
            "the check character does not match (GB 11643)", InvalidIdNumber.CHECK_CHARACTER
        )
    return value


def is_valid(id_number: str) -> bool:
    try:
        validate(id_number)
    except InvalidIdNumber:
        return False
    return True


def make(address_code: str, birth: date, sequence: int) -> str:
    """Build a valid number, as the synthetic district and the tests need."""
    first17 = f"{address_code}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


def mask(id_number: str) -> str:
    """`440604********123X`: the address code and the last four characters stay."""
    value = normalise(id_number)
    if len(value) != 18:
        return "*" * len(value)
    return f"{value[:6]}{'*' * 8}{value[14:]}"


def _masked_run(match: re.Match) -> str:
    run = match.group()
    return f"{run[:6]}{'*' * (len(run) - 10)}{run[-4:]}"


def mask_in_text(text: str) -> str:
    """Every run of 18 or more digits (the last may be an X) masked as `mask` masks a number:
    the first six and last four characters stay. A longer run (an ID number written against a
    phone number) loses everything in between, so no birth date or sequence is left over,
    whichever end of the run the number is at."""
    return _IN_TEXT.sub(_masked_run, text)


class MaskIdNumbersFilter(logging.Filter):
    """Masks every ID number in a log record, whatever logged it, traceback included."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_in_text(message)
        if masked != message:
            record.msg = masked
            record.args = None
        # An unexpected error's text (a database key, a repr) is in the traceback, which a
        # formatter renders only when it finds no `exc_text`: render it here, masked.
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_in_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_in_text(record.stack_info)
        return True
