"""The forms in which departments write a value, and the one form the registry stores.

Plain Python, no database: one function per concept (sex, date, month, flag, share, code, ID
number), used by the feeds' row checks, the counter's push (`specs.check_record`) and
whatever else brings such a value into the registry, so that `20200309`, `2020/3/9` and
`2020年3月9日` are one date everywhere (INTERCHANGE.md, "Department exports as they really
come"). Each returns the stored form as text, or raises `ValueRefused` with a code that the
feed checks turn into a `RowRejected` naming the column.

Surrounding whitespace (the ideographic space included) is trimmed and text that is not
ASCII is NFKC-normalised first, so full-width digits and letters read as ASCII ones.

Sex: the household register (`HukouRecord.sex`) holds `M` or `F` and nothing else; the
registry answers from it whether a parent's sex fits a relation. GB/T 2261.1's `0`
(unknown) and `9` (unstated) are refused with their own code rather than stored or guessed
from the ID number: a hukou record without a sex is an error in the department's register
that the department must correct, and a guess would put a fact in the registry that no
department stated.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

from registry import idnumber


class ValueRefused(ValueError):
    """The text is not the concept in any accepted form; `code` says which check failed
    (one of RowRejected's codes), `params` the specifics (never an ID number)."""

    def __init__(self, reason: str, *, code: str, params: dict | None = None):
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.params = params or {}


NOT_A_DATE = "not_a_date"
IMPOSSIBLE_DATE = "impossible_date"
NOT_A_MONTH = "not_a_month"
IMPOSSIBLE_MONTH = "impossible_month"
NOT_A_FLAG = "not_a_flag"
NOT_A_NUMBER = "not_a_number"
SHARE_OUT_OF_RANGE = "share_out_of_range"
TOO_MANY_DECIMALS = "too_many_decimals"
NOT_M_OR_F = "not_m_or_f"
SEX_NOT_STATED = "sex_not_stated"
NOT_DIGITS = "not_digits"


def plain(value: str) -> str:
    """Trimmed, and NFKC-normalised when it is not ASCII (ASCII is its own NFKC form)."""
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value)
    return value.strip()


# --- sex -----------------------------------------------------------------------------------

_SEXES = {"M": "M", "F": "F", "男": "M", "女": "F", "1": "M", "2": "F", "m": "M", "f": "F"}
_UNSTATED = {"0": "unknown", "9": "unstated"}


def sex(value: str) -> str:
    """`M` or `F` from `M`/`F`, `男`/`女` or GB/T 2261.1's `1`/`2`."""
    stored = _SEXES.get(value)
    if stored is not None:
        return stored
    value = plain(value)
    stored = _SEXES.get(value)
    if stored is not None:
        return stored
    if value in _UNSTATED:
        raise ValueRefused(
            f"sex is {_UNSTATED[value]} (GB/T 2261.1 code {value}); the household register "
            "holds M or F",
            code=SEX_NOT_STATED,
            params={"value": value},
        )
    raise ValueRefused("must be M or F", code=NOT_M_OR_F)


# --- dates and months ----------------------------------------------------------------------

# Dates and months that passed, by the text as it came: a feed of a million rows holds a few
# thousand distinct dates, so each is parsed once. Bounded: a century of days in five forms
# is under 200,000 keys.
GOOD_DATES: dict[str, str] = {}
GOOD_MONTHS: dict[str, str] = {}
_CACHE_LIMIT = 200_000

# YYYY/M/D, YYYY.M.D, YYYY年M月D日 (and YYYY-M-D): one or two digits for month and day.
_DATE_PARTS = re.compile(
    r"([0-9]{4})([-/.])([0-9]{1,2})\2([0-9]{1,2})|([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日",
    re.ASCII,
)
_MONTH_PARTS = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})|([0-9]{4})年([0-9]{1,2})月", re.ASCII)


def _date_fields(value: str) -> tuple[str, str, str] | None:
    if len(value) == 8 and value.isdigit() and value.isascii():
        return value[:4], value[4:6], value[6:]
    match = _DATE_PARTS.fullmatch(value)
    if match is None:
        return None
    year, _, month, day, cn_year, cn_month, cn_day = match.groups()
    if year is None:
        year, month, day = cn_year, cn_month, cn_day
    return year, month.zfill(2), day.zfill(2)


def date_text(value: str) -> str:
    """`YYYY-MM-DD` from `YYYY-MM-DD`, `YYYYMMDD`, `YYYY/M/D`, `YYYY.M.D` or `YYYY年M月D日`,
    when it is a real date."""
    stored = GOOD_DATES.get(value)
    if stored is not None:
        return stored
    text = plain(value)
    fields = _date_fields(text)
    if fields is None:
        raise ValueRefused("not a date (YYYY-MM-DD, YYYYMMDD, YYYY/M/D)", code=NOT_A_DATE)
    stored = "-".join(fields)
    try:
        date.fromisoformat(stored)
    except ValueError:
        raise ValueRefused(
            f"impossible date {text}", code=IMPOSSIBLE_DATE, params={"value": text}
        ) from None
    if len(GOOD_DATES) < _CACHE_LIMIT:
        GOOD_DATES[value] = stored
    return stored


def month_first_day(value: str) -> str:
    """The month's first day, `YYYY-MM-01`, from `YYYY-MM`, `YYYYMM`, `YYYY/M` or `YYYY年M月`."""
    stored = GOOD_MONTHS.get(value)
    if stored is not None:
        return stored
    text = plain(value)
    if len(text) == 6 and text.isdigit() and text.isascii():
        year, month = text[:4], text[4:]
    else:
        match = _MONTH_PARTS.fullmatch(text)
        if match is None:
            raise ValueRefused("not a month (YYYY-MM, YYYYMM, YYYY/M)", code=NOT_A_MONTH)
        year, month, cn_year, cn_month = match.groups()
        if year is None:
            year, month = cn_year, cn_month
    stored = f"{year}-{month.zfill(2)}-01"
    try:
        date.fromisoformat(stored)
    except ValueError:
        raise ValueRefused(
            f"impossible month {text}", code=IMPOSSIBLE_MONTH, params={"value": text}
        ) from None
    if len(GOOD_MONTHS) < _CACHE_LIMIT:
        GOOD_MONTHS[value] = stored
    return stored


# --- flags ---------------------------------------------------------------------------------

# By the lower-cased text: `Y`, `y`, `TRUE` and `True` are one form each.
FLAGS = {
    "1": True,
    "0": False,
    "是": True,
    "否": False,
    "y": True,
    "n": False,
    "true": True,
    "false": False,
    "已缴": True,
    "未缴": False,
}


def flag(value: str) -> bool:
    """True or False from `1`/`0`, `是`/`否`, `Y`/`N`, `true`/`false` or `已缴`/`未缴`."""
    stored = FLAGS.get(value)
    if stored is None:
        stored = FLAGS.get(plain(value).lower())
        if stored is None:
            raise ValueRefused("must be 1 or 0", code=NOT_A_FLAG)
    return stored


# --- shares --------------------------------------------------------------------------------

_HUNDRED = Decimal(100)


def share(value: str) -> str:
    """A share of a property in percent as the database reads it: `50`, `50.00` or `50%`;
    more than 0, at most 100, at most two decimal places."""
    text = plain(value)
    if text.endswith("%"):
        text = text[:-1].rstrip()
    try:
        # Decimal() reads every script's digits, the database only ASCII ones.
        if not text.isascii():
            raise InvalidOperation
        number = Decimal(text)
    except InvalidOperation:
        raise ValueRefused("not a number", code=NOT_A_NUMBER) from None
    if not number.is_finite() or not (0 < number <= _HUNDRED):
        raise ValueRefused("must be more than 0 and at most 100", code=SHARE_OUT_OF_RANGE)
    if number.as_tuple().exponent < -2:
        raise ValueRefused(
            "at most two decimal places", code=TOO_MANY_DECIMALS, params={"places": 2}
        )
    return text


# --- codes and ID numbers ------------------------------------------------------------------


def code(value: str, length: int) -> str:
    """An administrative code of `length` ASCII digits (full-width digits read as ASCII)."""
    if len(value) != length or not value.isdigit() or not value.isascii():
        value = plain(value)
        if len(value) != length or not value.isdigit() or not value.isascii():
            raise ValueRefused(
                f"must be {length} digits", code=NOT_DIGITS, params={"length": length}
            )
    return value


def id_number(value: str) -> str:
    """The stored ID number (registry.idnumber.validate: NFKC, trimmed, `x` upper-cased,
    15 digits upgraded to 18); raises idnumber.InvalidIdNumber."""
    return idnumber.validate(value)
