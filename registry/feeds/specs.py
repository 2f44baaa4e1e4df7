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

from collections.abc import Callable
from dataclasses import dataclass

from registry import idnumber
from registry.feeds import values


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
    SEX_NOT_STATED = "sex_not_stated"
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
# Each reads the value in any form a department writes it (registry.feeds.values) and says
# what is wrong naming the column.


def _refused(refusal: values.ValueRefused, field: str) -> RowRejected:
    return RowRejected(
        f"{field}: {refusal.reason}", field=field, code=refusal.code, params=refusal.params
    )


def _id_number(value: str, field: str) -> str:
    try:
        return idnumber.validate(value)
    except idnumber.InvalidIdNumber as error:
        raise RowRejected(f"{field}: {error}", field=field, code=f"id_{error.code}") from None


# The values' caches, read here first: most values of a big file are found there, and a
# dictionary lookup costs less than the call that would find them.
_GOOD_DATES = values.GOOD_DATES
_GOOD_MONTHS = values.GOOD_MONTHS


def _date(value: str, field: str) -> str:
    """The date as `YYYY-MM-DD` (the database parses it again)."""
    stored = _GOOD_DATES.get(value)
    if stored is not None:
        return stored
    try:
        return values.date_text(value)
    except values.ValueRefused as refusal:
        raise _refused(refusal, field) from None


def _month(value: str, field: str) -> str:
    try:
        return values.month_first_day(value)
    except values.ValueRefused as refusal:
        raise _refused(refusal, field) from None


def _code(value: str, length: int, field: str) -> str:
    try:
        return values.code(value, length)
    except values.ValueRefused as refusal:
        raise _refused(refusal, field) from None


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


_FLAGS = values.FLAGS


def _flag(value: str, field: str) -> bool:
    try:
        return values.flag(value)
    except values.ValueRefused as refusal:
        raise _refused(refusal, field) from None


def _share(value: str, field: str) -> str:
    try:
        return values.share(value)
    except values.ValueRefused as refusal:
        raise _refused(refusal, field) from None


def _sex(value: str) -> str:
    try:
        return values.sex(value)
    except values.ValueRefused as refusal:
        raise _refused(refusal, "sex") from None


# --- one check per feed --------------------------------------------------------------------


def check_hukou(row: tuple[str, ...]) -> tuple:
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
    ) = row
    id_number = _id_number(id_number, "id_number")
    sex = _sex(sex)
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


def check_property(row: tuple[str, ...]) -> tuple:
    certificate_no, owner, share, community_code, address, registered_on = row
    return (
        _text(certificate_no, 64, "certificate_no"),
        _id_number(owner, "owner_id_number"),
        _share(share, "share_percent"),
        _code(community_code, 12, "community_code"),
        _text(address, 255, "address", required=False),
        _date(registered_on, "registered_on"),
    )


def check_rental(row: tuple[str, ...]) -> tuple:
    registration_no, tenant, community_code, address, start_date, end_date = row
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
# the last number that passed (as written, and as stored), so each person's number is checked
# once per run of rows.
_last_si_id = ["", ""]


def check_social_insurance(row: tuple[str, ...]) -> tuple:
    id_number, month, pension, medical, employer_name = row
    if id_number == _last_si_id[0]:
        id_number = _last_si_id[1]
    else:
        written = id_number
        id_number = _id_number(id_number, "id_number")
        _last_si_id[:] = [written, id_number]
    first_day = _GOOD_MONTHS.get(month) or _month(month, "month")
    paid_pension = _FLAGS.get(pension)
    if paid_pension is None:
        paid_pension = _flag(pension, "pension")
    paid_medical = _FLAGS.get(medical)
    if paid_medical is None:
        paid_medical = _flag(medical, "medical")
    if len(employer_name) > 255 or "\x00" in employer_name:
        _text(employer_name, 255, "employer_name", required=False)
    return (id_number, first_day, paid_pension, paid_medical, employer_name)


def check_residence_permit(row: tuple[str, ...]) -> tuple:
    permit_no, id_number, district_code, issued_on, expires_on = row
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
    """One record given as a mapping (the counter's push): the same checks as a feed row,
    so the same forms of a date, a flag or a sex are accepted."""
    spec = FEEDS[source]
    row = []
    for column in spec.columns:
        value = record.get(column, "")
        if isinstance(value, bool):
            value = "1" if value else "0"
        row.append("" if value is None else str(value))
    return spec.check(tuple(row))
