"""Each row check's rejection: the English reason of the report contract, and beside it the code
and parameters a page words in its own language (never with an ID number in them)."""

import ast
from datetime import date
from pathlib import Path

import pytest

from registry import idnumber
from registry.feeds import specs as feeds
from registry.feeds import values
from registry.feeds.specs import RowRejected, check_record

CHILD = idnumber.make("440604", date(2020, 3, 15), 123)
MOTHER = idnumber.make("440604", date(1990, 7, 1), 222)
BAD_CHECK = CHILD[:17] + ("0" if CHILD[17] != "0" else "1")
COMMUNITY = "440604010003"

GOOD = {
    "hukou": {
        "id_number": CHILD,
        "name": "陈小明",
        "sex": "M",
        "birth_date": "2020-03-15",
        "hukou_district_code": "440604",
        "community_code": COMMUNITY,
        "address": "",
        "registered_on": "2020-04-01",
        "household_no": "H1",
    },
    "property": {
        "certificate_no": "P1",
        "owner_id_number": MOTHER,
        "share_percent": "50",
        "community_code": COMMUNITY,
        "address": "",
        "registered_on": "2019-01-01",
    },
    "rental": {
        "registration_no": "R1",
        "tenant_id_number": MOTHER,
        "community_code": COMMUNITY,
        "address": "",
        "start_date": "2026-09-01",
        "end_date": "2027-08-31",
    },
    "social_insurance": {
        "id_number": MOTHER,
        "month": "2026-01",
        "pension": "1",
        "medical": "1",
        "employer_name": "",
    },
    "residence_permit": {
        "permit_no": "RP1",
        "id_number": MOTHER,
        "district_code": "440604",
        "issued_on": "2025-01-01",
        "expires_on": "2027-01-01",
    },
}

CASES = [
    (
        "hukou",
        {"id_number": BAD_CHECK},
        "id_number: the check character does not match (GB 11643)",
        "id_check_character",
        {"field": "id_number"},
    ),
    (
        "hukou",
        {"id_number": "12345"},
        "id_number: must be 17 digits followed by a digit or X",
        "id_shape",
        {"field": "id_number"},
    ),
    (
        "property",
        {"owner_id_number": "44060420200230123X"},
        "owner_id_number: the birth date inside the number is impossible",
        "id_birth_date",
        {"field": "owner_id_number"},
    ),
    ("hukou", {"sex": "X"}, "sex: must be M or F", "not_m_or_f", {"field": "sex"}),
    (
        "hukou",
        {"birth_date": "15/03/2020"},
        "birth_date: not a date (YYYY-MM-DD, YYYYMMDD, YYYY/M/D)",
        "not_a_date",
        {"field": "birth_date"},
    ),
    (
        "hukou",
        {"registered_on": "2023-02-30"},
        "registered_on: impossible date 2023-02-30",
        "impossible_date",
        {"field": "registered_on", "value": "2023-02-30"},
    ),
    (
        "hukou",
        {"birth_date": "2020-03-16"},
        "birth_date: differs from the ID number's",
        "birth_date_mismatch",
        {"field": "birth_date"},
    ),
    (
        "hukou",
        {"community_code": "4406"},
        "community_code: must be 12 digits",
        "not_digits",
        {"field": "community_code", "length": 12},
    ),
    ("hukou", {"name": ""}, "name: required", "required", {"field": "name"}),
    (
        "hukou",
        {"name": "x" * 65},
        "name: longer than 64 characters",
        "too_long",
        {"field": "name", "max_length": 64},
    ),
    (
        "hukou",
        {"name": "a\x00b"},
        "name: contains a NUL character",
        "nul_character",
        {"field": "name"},
    ),
    (
        "social_insurance",
        {"pension": "2"},
        "pension: must be 1 or 0",
        "not_a_flag",
        {"field": "pension"},
    ),
    (
        "social_insurance",
        {"month": "01/2026"},
        "month: not a month (YYYY-MM, YYYYMM, YYYY/M)",
        "not_a_month",
        {"field": "month"},
    ),
    (
        "social_insurance",
        {"month": "2026-13"},
        "month: impossible month 2026-13",
        "impossible_month",
        {"field": "month", "value": "2026-13"},
    ),
    (
        "property",
        {"share_percent": "half"},
        "share_percent: not a number",
        "not_a_number",
        {"field": "share_percent"},
    ),
    (
        "property",
        {"share_percent": "150"},
        "share_percent: must be more than 0 and at most 100",
        "share_out_of_range",
        {"field": "share_percent"},
    ),
    (
        "property",
        {"share_percent": "33.333"},
        "share_percent: at most two decimal places",
        "too_many_decimals",
        {"field": "share_percent", "places": 2},
    ),
    (
        "rental",
        {"end_date": "2026-08-31"},
        "end_date: before start_date",
        "end_before_start",
        {"field": "end_date", "start": "start_date"},
    ),
    (
        "residence_permit",
        {"expires_on": "2024-12-31"},
        "expires_on: before issued_on",
        "end_before_start",
        {"field": "expires_on", "start": "issued_on"},
    ),
]


@pytest.mark.parametrize(("source", "change", "reason", "code", "params"), CASES)
def test_each_rejection_keeps_its_reason_and_adds_its_code_and_parameters(
    source, change, reason, code, params
):
    with pytest.raises(RowRejected) as rejected:
        check_record(source, {**GOOD[source], **change})

    assert (rejected.value.reason, rejected.value.code, rejected.value.params) == (
        reason,
        code,
        params,
    )
    assert rejected.value.field == params["field"]


@pytest.mark.parametrize("source", sorted(GOOD))
def test_the_good_records_pass(source):
    assert check_record(source, GOOD[source])


def _raised(module, exception: str) -> list:
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    return [
        node.exc
        for node in ast.walk(tree)
        if isinstance(node, ast.Raise)
        and isinstance(node.exc, ast.Call)
        and getattr(node.exc.func, "id", "") == exception
    ]


def test_every_rejection_the_row_checks_raise_names_a_code():
    """A new check without a code would reach the steward's page as a general message."""
    raises = _raised(feeds, "RowRejected") + _raised(values, "ValueRefused")

    assert len(raises) == 18
    assert [call.lineno for call in raises if "code" not in {k.arg for k in call.keywords}] == []


def test_every_code_the_value_forms_refuse_with_is_a_row_rejection_code():
    named = [getattr(values, name) for name in dir(values) if name.isupper()]
    codes = {code for code in named if isinstance(code, str)}

    assert codes <= {getattr(RowRejected, name) for name in dir(RowRejected) if name.isupper()}
