"""Resident ID numbers (GB 11643): validation and masking. Plain Python, no database.

An ID number is 18 characters: a 6-digit address code, the birth date as YYYYMMDD, a 3-digit
sequence (odd for men) and a check character computed with ISO 7064 MOD 11-2, where `X`
stands for 10.
"""

import logging
import re
from datetime import date
from operator import mul

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")
# Eighteen characters that look like an ID number inside free text (logs, messages).
_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3})([\dXx])(?![0-9A-Za-z])")


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


def normalise(id_number: str) -> str:
    return (id_number or "").strip().upper()


def validate(id_number: str) -> str:
    """Return the normalised number, or raise InvalidIdNumber saying exactly what is wrong."""
    value = normalise(id_number)
    if not _SHAPE.match(value):
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


def mask_in_text(text: str) -> str:
    return _IN_TEXT.sub(lambda m: f"{m.group(1)}{'*' * 8}{m.group(3)}{m.group(4)}", text)


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
