"""Every form a department writes a value in, read as the one form the registry stores."""

import pytest

from registry.feeds import values
from registry.feeds.specs import RowRejected, check_record
from tests.registry.feeds.test_feed_rejection_codes import CHILD, GOOD


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("M", "M"),
        ("F", "F"),
        ("男", "M"),
        ("女", "F"),
        ("1", "M"),
        ("2", "F"),
        (" 女\u3000", "F"),
        ("Ｍ", "M"),
    ],
)
def test_sex_in_every_form(written, stored):
    assert values.sex(written) == stored


@pytest.mark.parametrize(("written", "meaning"), [("0", "unknown"), ("9", "unstated")])
def test_sex_unknown_or_unstated_is_refused_with_its_own_code(written, meaning):
    with pytest.raises(values.ValueRefused) as refused:
        values.sex(written)

    assert (refused.value.code, refused.value.params) == ("sex_not_stated", {"value": written})
    assert refused.value.reason == (
        f"sex is {meaning} (GB/T 2261.1 code {written}); the household register holds M or F"
    )


@pytest.mark.parametrize("written", ["X", "", "男性", "3"])
def test_sex_that_is_none_of_the_forms_is_refused(written):
    with pytest.raises(values.ValueRefused) as refused:
        values.sex(written)

    assert refused.value.code == "not_m_or_f"


@pytest.mark.parametrize(
    "written",
    [
        "2020-03-09",
        "20200309",
        "2020/3/9",
        "2020/03/09",
        "2020.3.9",
        "2020.03.09",
        "2020年3月9日",
        "2020年03月09日",
        " 2020-03-09 ",
        "２０２０－０３－０９",
        "2020-3-9",
    ],
)
def test_dates_in_every_form(written):
    assert values.date_text(written) == "2020-03-09"


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("09/03/2020", "not_a_date"),
        ("2020/3", "not_a_date"),
        ("2020-03-09T10:00", "not_a_date"),
        ("2020.3/9", "not_a_date"),
        ("2020W101", "not_a_date"),
        ("20200230", "impossible_date"),
        ("2021年2月29日", "impossible_date"),
        ("0000-01-01", "impossible_date"),
    ],
)
def test_dates_in_no_form_or_impossible_are_refused(written, code):
    with pytest.raises(values.ValueRefused) as refused:
        values.date_text(written)

    assert refused.value.code == code


@pytest.mark.parametrize(
    "written", ["2025-01", "202501", "2025/1", "2025/01", "2025年1月", "2025年01月", " 202501"]
)
def test_months_in_every_form(written):
    assert values.month_first_day(written) == "2025-01-01"


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("2025-13", "impossible_month"),
        ("202500", "impossible_month"),
        ("01/2025", "not_a_month"),
        ("2025.1", "not_a_month"),
        ("2025-01-01", "not_a_month"),
    ],
)
def test_months_in_no_form_or_impossible_are_refused(written, code):
    with pytest.raises(values.ValueRefused) as refused:
        values.month_first_day(written)

    assert refused.value.code == code


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("1", True),
        ("0", False),
        ("是", True),
        ("否", False),
        ("Y", True),
        ("N", False),
        ("y", True),
        ("n", False),
        ("true", True),
        ("false", False),
        ("TRUE", True),
        ("False", False),
        ("已缴", True),
        ("未缴", False),
        (" 是 ", True),
        ("１", True),
    ],
)
def test_flags_in_every_form(written, stored):
    assert values.flag(written) is stored


@pytest.mark.parametrize("written", ["2", "", "yes", "缴", "T"])
def test_flags_in_no_form_are_refused(written):
    with pytest.raises(values.ValueRefused) as refused:
        values.flag(written)

    assert refused.value.code == "not_a_flag"


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("50", "50"),
        ("50.00", "50.00"),
        ("50%", "50"),
        (" 33.33% ", "33.33"),
        ("１００％", "100"),
        ("0.5", "0.5"),
    ],
)
def test_shares_in_every_form(written, stored):
    assert values.share(written) == stored


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("0%", "share_out_of_range"),
        ("100.01", "share_out_of_range"),
        ("%", "not_a_number"),
        ("50%%", "not_a_number"),
        ("33.333%", "too_many_decimals"),
        ("half", "not_a_number"),
    ],
)
def test_shares_in_no_form_are_refused(written, code):
    with pytest.raises(values.ValueRefused) as refused:
        values.share(written)

    assert refused.value.code == code


def test_codes_and_id_numbers_read_full_width_digits_and_surrounding_spaces():
    assert values.code(" ４４０６０４ ", 6) == "440604"
    fifteen = CHILD[:6] + CHILD[8:17]  # a first-generation number of a person born in 19xx
    assert values.id_number(f" {fifteen} ") == fifteen[:6] + "19" + fifteen[6:] + (
        values.idnumber.check_character(fifteen[:6] + "19" + fifteen[6:])
    )
    full_width = CHILD.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    assert values.id_number(full_width) == CHILD


def test_a_hukou_row_in_department_forms_is_stored_as_the_canonical_row():
    department = {
        **GOOD["hukou"],
        "sex": "男",
        "birth_date": "20200315",
        "registered_on": "2020年4月1日",
        "community_code": "４４０６０４０１０００３",
        "id_number": CHILD.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    }

    assert check_record("hukou", department) == check_record("hukou", GOOD["hukou"])


def test_a_social_insurance_row_in_department_forms_is_stored_as_the_canonical_row():
    canonical = {
        "id_number": CHILD,
        "month": "2025-01",
        "pension": "1",
        "medical": "0",
        "employer_name": "某公司",
    }
    department = {**canonical, "month": "202501", "pension": "已缴", "medical": "否"}

    assert check_record("social_insurance", department) == (
        CHILD,
        "2025-01-01",
        True,
        False,
        "某公司",
    )
    assert check_record("social_insurance", canonical) == check_record(
        "social_insurance", department
    )


def test_a_hukou_row_with_sex_unstated_names_the_column_and_the_code():
    with pytest.raises(RowRejected) as rejected:
        check_record("hukou", {**GOOD["hukou"], "sex": "9"})

    assert (rejected.value.field, rejected.value.code) == ("sex", "sex_not_stated")
    assert rejected.value.reason == (
        "sex: sex is unstated (GB/T 2261.1 code 9); the household register holds M or F"
    )
