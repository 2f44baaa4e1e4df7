"""The five department feeds: their columns, keys and row checks (INTERCHANGE.md).

Plain Python, no database: a row of strings goes in, a tuple ready for the database comes
out, or `RowRejected` says what is wrong with it. The checks are written one function per feed
rather than as a generic loop over column rules because they run once per row of files with
millions of rows, and the straight-line code is several times faster.

Reasons never repeat an ID number (they end up in reports, logs and API errors). Each
rejection also carries a code and its parameters (the field, a limit, a value), so that a page
can say it in its own language while reports keep the English reason as INTERCHANGE.md has it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from registry import idnumber


class RowRejected(ValueError):
    """One row cannot be taken; the message names the column and the problem.

    `code` is one of the constants below (ID_SHAPE, ID_BIRTH_DATE and ID_CHECK_CHARACTER
    follow idnumber.InvalidIdNumber's codes); `params` holds the specifics the reason states,
    always with the field when there is one, never an ID number.
    """

    ID_SHAPE = "id_shape"
    ID_BIRTH_DATE = "id_birth_date"
    ID_CHECK_CHARACTER = "id_check_character"
    NOT_A_DATE = "not_a_date"
    IMPOSSIBLE_DATE = "impossible_date"
    NOT_A_MONTH = "not_a_month"
    IMPOSSIBLE_MONTH = "impossible_month"
    NOT_DIGITS = "not_digits"
    REQUIRED = "required"
    TOO_LONG = "too_long"
    NUL_CHARACTER = "nul_character"
    NOT_A_FLAG = "not_a_flag"
    NOT_A_NUMBER = "not_a_number"
    SHARE_OUT_OF_RANGE = "share_out_of_range"
    TOO_MANY_DECIMALS = "too_many_decimals"
    NOT_M_OR_F = "not_m_or_f"
    BIRTH_DATE_MISMATCH = "birth_date_mismatch"
    END_BEFORE_START = "end_before_start"
    # Rejected by the import around the row checks (registry.loading.imports).
    WRONG_FIELD_COUNT = "wrong_field_count"
    DUPLICATE_KEY = "duplicate_key"
    MISSING_COLUMNS = "missing_columns"
    REPEATED_COLUMNS = "repeated_columns"

    def __init__(self, reason: str, *, field: str = "", code: str = "", params: dict | None = None):
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.code = code
        self.params = {"field": field, **(params or {})} if field else dict(params or {})


@dataclass(frozen=True)
class FeedSpec:
    source: str
    file_name: str
    # The feed's columns in the order `check` takes them and returns them (the database's).
    columns: tuple[str, ...]
    key: tuple[str, ...]
    check: Callable[[tuple[str, ...]], tuple]
    # Columns a file may leave out (read as empty); any other missing column rejects the file.
    optional: tuple[str, ...] = ()

    def key_of(self, values: tuple) -> tuple:
        return tuple(values[self.columns.index(name)] for name in self.key)


# --- field checks --------------------------------------------------------------------------


def _id_number(value: str, field: str) -> str:
    try:
        return idnumber.validate(value)
    except idnumber.InvalidIdNumber as error:
        raise RowRejected(f"{field}: {error}", field=field, code=f"id_{error.code}") from None


# Dates and months that passed, kept to skip parsing them again: a feed of a million rows
# holds a few thousand distinct dates. Bounded: a century of days is 36,525 keys.
_GOOD_DATES: dict[str, str] = {}
_GOOD_MONTHS: dict[str, str] = {}
_CACHE_LIMIT = 100_000


def _date(value: str, field: str) -> str:
    """The value itself when it is a real `YYYY-MM-DD` date (the database parses it again)."""
    if value in _GOOD_DATES:
        return value
    if len(value) != 10 or value[4] != "-" or value[7] != "-" or not value.isascii():
        raise RowRejected(
            f"{field}: not a date (YYYY-MM-DD)", field=field, code=RowRejected.NOT_A_DATE
        )
    try:
        date.fromisoformat(value)
    except ValueError:
        raise RowRejected(
            f"{field}: impossible date {value}",
            field=field,
            code=RowRejected.IMPOSSIBLE_DATE,
            params={"value": value},
        ) from None
    if len(_GOOD_DATES) < _CACHE_LIMIT:
        _GOOD_DATES[value] = value
    return value


def _month(value: str, field: str) -> str:
    first_day = _GOOD_MONTHS.get(value)
    if first_day is not None:
        return first_day
    if len(value) != 7 or value[4] != "-" or not value.isascii():
        raise RowRejected(
            f"{field}: not a month (YYYY-MM)", field=field, code=RowRejected.NOT_A_MONTH
        )
    first_day = value + "-01"
    try:
        date.fromisoformat(first_day)
    except ValueError:
        raise RowRejected(
            f"{field}: impossible month {value}",
            field=field,
            code=RowRejected.IMPOSSIBLE_MONTH,
            params={"value": value},
        ) from None
    if len(_GOOD_MONTHS) < _CACHE_LIMIT:
        _GOOD_MONTHS[value] = first_day
    return first_day


def _code(value: str, length: int, field: str) -> str:
    if len(value) != length or not value.isdigit() or not value.isascii():
        raise RowRejected(
            f"{field}: must be {length} digits",
            field=field,
            code=RowRejected.NOT_DIGITS,
            params={"length": length},
        )
    return value


def _text(value: str, max_length: int, field: str, *, required: bool = True) -> str:
    if required and not value:
        raise RowRejected(f"{field}: required", field=field, code=RowRejected.REQUIRED)
    if len(value) > max_length:
        raise RowRejected(
            f"{field}: longer than {max_length} characters",
            field=field,
            code=RowRejected.TOO_LONG,
            params={"max_length": max_length},
        )
    if "\x00" in value:
        raise RowRejected(
            f"{field}: contains a NUL character", field=field, code=RowRejected.NUL_CHARACTER
        )
    return value


_FLAGS = {"1": True, "0": False}


def _flag(value: str, field: str) -> bool:
    flag = _FLAGS.get(value)
    if flag is None:
        raise RowRejected(f"{field}: must be 1 or 0", field=field, code=RowRejected.NOT_A_FLAG)
    return flag


_HUNDRED = Decimal(100)


def _share(value: str, field: str) -> str:
    # Decimal() reads every script's digits, the database only ASCII ones: full-width digits
    # become ASCII, any other digits are not a number here.
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value)
    try:
        if not value.isascii():
            raise InvalidOperation
        share = Decimal(value)
    except InvalidOperation:
        raise RowRejected(
            f"{field}: not a number", field=field, code=RowRejected.NOT_A_NUMBER
        ) from None
    if not share.is_finite() or not (0 < share <= _HUNDRED):
        raise RowRejected(
            f"{field}: must be more than 0 and at most 100",
            field=field,
            code=RowRejected.SHARE_OUT_OF_RANGE,
        )
    if share.as_tuple().exponent < -2:
        raise RowRejected(
            f"{field}: at most two decimal places",
            field=field,
            code=RowRejected.TOO_MANY_DECIMALS,
            params={"places": 2},
        )
    return value


# --- one check per feed --------------------------------------------------------------------


def check_hukou(values: tuple[str, ...]) -> tuple:
    (
        id_number,
        name,
        sex,
        birth_date,
        district_code,
        community_code,
        address,
        registered_on,
        household_no,
    ) = values
    id_number = _id_number(id_number, "id_number")
    if sex not in ("M", "F"):
        raise RowRejected("sex: must be M or F", field="sex", code=RowRejected.NOT_M_OR_F)
    birth_date = _date(birth_date, "birth_date")
    if birth_date.replace("-", "") != id_number[6:14]:
        raise RowRejected(
            "birth_date: differs from the ID number's",
            field="birth_date",
            code=RowRejected.BIRTH_DATE_MISMATCH,
        )
    registered_on = _date(registered_on, "registered_on")
    return (
        id_number,
        _text(name, 64, "name"),
        sex,
        birth_date,
        _code(district_code, 6, "hukou_district_code"),
        _code(community_code, 12, "community_code"),
        _text(address, 255, "address", required=False),
        registered_on,
        _text(household_no, 32, "household_no", required=False),
    )


def check_property(values: tuple[str, ...]) -> tuple:
    certificate_no, owner, share, community_code, address, registered_on = values
    return (
        _text(certificate_no, 64, "certificate_no"),
        _id_number(owner, "owner_id_number"),
        _share(share, "share_percent"),
        _code(community_code, 12, "community_code"),
        _text(address, 255, "address", required=False),
        _date(registered_on, "registered_on"),
    )


def check_rental(values: tuple[str, ...]) -> tuple:
    registration_no, tenant, community_code, address, start_date, end_date = values
    row = (
        _text(registration_no, 64, "registration_no"),
        _id_number(tenant, "tenant_id_number"),
        _code(community_code, 12, "community_code"),
        _text(address, 255, "address", required=False),
        _date(start_date, "start_date"),
        _date(end_date, "end_date"),
    )
    # ISO dates of equal length compare as dates do.
    if row[5] < row[4]:
        raise RowRejected(
            "end_date: before start_date",
            field="end_date",
            code=RowRejected.END_BEFORE_START,
            params={"start": "start_date"},
        )
    return row


# Social-insurance files repeat one person's number on up to 120 consecutive rows: remember
# the last number that passed, so each person's number is checked once per run of rows.
_last_si_id = [""]


def check_social_insurance(values: tuple[str, ...]) -> tuple:
    id_number, month, pension, medical, employer_name = values
    if id_number != _last_si_id[0]:
        id_number = _id_number(id_number, "id_number")
        _last_si_id[0] = id_number
    first_day = _GOOD_MONTHS.get(month) or _month(month, "month")
    paid_pension = _FLAGS.get(pension)
    if paid_pension is None:
        _flag(pension, "pension")
    paid_medical = _FLAGS.get(medical)
    if paid_medical is None:
        _flag(medical, "medical")
    if len(employer_name) > 255 or "\x00" in employer_name:
        _text(employer_name, 255, "employer_name", required=False)
    return (id_number, first_day, paid_pension, paid_medical, employer_name)


def check_residence_permit(values: tuple[str, ...]) -> tuple:
    permit_no, id_number, district_code, issued_on, expires_on = values
    row = (
        _text(permit_no, 64, "permit_no"),
        _id_number(id_number, "id_number"),
        _code(district_code, 6, "district_code"),
        _date(issued_on, "issued_on"),
        _date(expires_on, "expires_on"),
    )
    if row[4] < row[3]:
        raise RowRejected(
            "expires_on: before issued_on",
            field="expires_on",
            code=RowRejected.END_BEFORE_START,
            params={"start": "issued_on"},
        )
    return row


FEEDS: dict[str, FeedSpec] = {
    spec.source: spec
    for spec in (
        FeedSpec(
            source="hukou",
            file_name="hukou.csv",
            columns=(
                "id_number",
                "name",
                "sex",
                "birth_date",
                "hukou_district_code",
                "community_code",
                "address",
                "registered_on",
                "household_no",
            ),
            key=("id_number",),
            check=check_hukou,
            optional=("address", "household_no"),
        ),
        FeedSpec(
            source="property",
            file_name="property.csv",
            columns=(
                "certificate_no",
                "owner_id_number",
                "share_percent",
                "community_code",
                "address",
                "registered_on",
            ),
            key=("certificate_no", "owner_id_number"),
            check=check_property,
            optional=("address",),
        ),
        FeedSpec(
            source="rental",
            file_name="rental.csv",
            columns=(
                "registration_no",
                "tenant_id_number",
                "community_code",
                "address",
                "start_date",
                "end_date",
            ),
            key=("registration_no", "tenant_id_number"),
            check=check_rental,
            optional=("address",),
        ),
        FeedSpec(
            source="social_insurance",
            file_name="social_insurance.csv",
            columns=("id_number", "month", "pension", "medical", "employer_name"),
            key=("id_number", "month"),
            check=check_social_insurance,
            optional=("employer_name",),
        ),
        FeedSpec(
            source="residence_permit",
            file_name="residence_permit.csv",
            # permit_no first: it is the key. The file may order its columns as it likes.
            columns=("permit_no", "id_number", "district_code", "issued_on", "expires_on"),
            key=("permit_no",),
            check=check_residence_permit,
        ),
    )
}


def check_record(source: str, record: dict[str, object]) -> tuple:
    """One record given as a mapping (the counter's push): the same checks as a feed row."""
    spec = FEEDS[source]
    values = []
    for column in spec.columns:
        value = record.get(column, "")
        if isinstance(value, bool):
            value = "1" if value else "0"
        values.append("" if value is None else str(value))
    return spec.check(tuple(values))
