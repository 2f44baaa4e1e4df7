"""generate_district --forms department: the same facts, written as departments write them."""

import csv
import io
from datetime import date

import pytest
from django.core.management import call_command
from django.db import transaction
from openpyxl import load_workbook

from enrollment.policy import Policy, default_policy_document, score
from enrollment.services.facts import facts_from_answer
from registry import idnumber
from registry.contract import LookupContext
from registry.demo.department_forms import (
    CHINESE_HEADERS,
    date_form,
    flag_form,
    id_form,
    month_form,
    sex_form,
    share_form,
)
from registry.services.verification import verify_families
from tests.registry.demo.support import district_questions

ID = "44060419850307018X"


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ("iso", "2020-03-09"),
        ("compact", "20200309"),
        ("slash", "2020/3/9"),
        ("dot", "2020.3.9"),
        ("chinese", "2020年3月9日"),
    ],
)
def test_date_forms(form, expected):
    assert date_form("2020-03-09", form) == expected


@pytest.mark.parametrize(
    ("form", "expected"),
    [("iso", "2025-04"), ("compact", "202504"), ("slash", "2025/4"), ("chinese", "2025年4月")],
)
def test_month_forms(form, expected):
    assert month_form("2025-04", form) == expected


def test_sex_flag_and_share_forms():
    assert [sex_form(v, f) for v in "MF" for f in ("MF", "男女", "code")] == [
        "M",
        "男",
        "1",
        "F",
        "女",
        "2",
    ]
    assert [flag_form("1", f) for f in ("10", "是否", "YN", "truefalse", "已缴未缴")] == [
        "1",
        "是",
        "Y",
        "true",
        "已缴",
    ]
    assert flag_form("0", "已缴未缴") == "未缴"
    assert [share_form("50", f) for f in ("plain", "decimals", "percent")] == [
        "50",
        "50.00",
        "50%",
    ]


@pytest.mark.parametrize(
    ("form", "written"),
    [
        ("ascii", ID),
        ("full_width", "４４０６０４１９８５０３０７０１８Ｘ"),
        ("first_generation", "440604850307018"),
        ("lower_x", "44060419850307018x"),
        ("padded", f" {ID}\u3000"),
    ],
)
def test_every_id_form_reads_back_as_the_number(form, written):
    assert id_form(ID, form) == written
    assert idnumber.validate(written) == ID


def test_a_number_born_outside_the_1900s_has_no_first_generation_form():
    child = idnumber.make("440604", date(2020, 3, 15), 123)
    assert id_form(child, "first_generation") == child


def _csv_rows(path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("gb18030"), newline="")))


def test_the_department_folder_has_chinese_headers_gb18030_and_a_spreadsheet(tmp_path):
    for folder in ("a", "b"):
        call_command(
            "generate_district",
            "--households",
            "40",
            "--seed",
            "5",
            "--year",
            "2027",
            "--out",
            str(tmp_path / folder),
            "--forms",
            "department",
            stdout=io.StringIO(),
        )
    a, b = tmp_path / "a", tmp_path / "b"
    # The same seed gives the same bytes, spreadsheets aside (they carry a timestamp).
    for name in ("hukou.csv", "property.csv", "rental.csv", "social_insurance.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
        assert b"\r\n" in (a / name).read_bytes()
    assert not (a / "residence_permit.csv").exists()
    for source in ("hukou", "property", "rental", "social_insurance"):
        header = _csv_rows(a / f"{source}.csv")[0]
        assert header == list(CHINESE_HEADERS[source].values())
    sheet = load_workbook(a / "residence_permit.xlsx", read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == list(CHINESE_HEADERS["residence_permit"].values())
    assert type(rows[1][3]).__name__ == "datetime"  # a date cell, as spreadsheets hold dates
    # No column keeps its canonical form: sex is never M/F, no date is YYYY-MM-DD.
    hukou = _csv_rows(a / "hukou.csv")[1:]
    assert {row[2] for row in hukou} <= {"男", "女", "1", "2"}
    assert not any(len(row[3]) == 10 and row[3][4] == "-" for row in hukou)


def _decisions(folder) -> dict[str, tuple]:
    """Every application of the folder's district: loaded as `make demo` loads it, asked of
    the registry and scored by the default policy; everything written rolled back."""
    with transaction.atomic():
        call_command("import_registry", str(folder), stdout=io.StringIO())
        questions = district_questions(folder)
        answers = verify_families(
            questions=questions, context=LookupContext(client_id="edu-440604", purpose="demo")
        )
        transaction.set_rollback(True)
    policy = Policy(default_policy_document(admission_year=2027))
    decided = {}
    for answer in answers:
        result = score(facts_from_answer(answer), policy)
        decided[answer.key] = (result.outcome, tuple(result.reasons), result.total_points)
    return decided


@pytest.mark.django_db
def test_a_department_form_district_is_decided_exactly_as_the_canonical_one(tmp_path):
    for forms in ("canonical", "department"):
        call_command(
            "generate_district", "--households", "150", "--seed", "7", "--year", "2027",
            "--out", str(tmp_path / forms), "--forms", forms, stdout=io.StringIO(),
        )  # fmt: skip

    canonical = _decisions(tmp_path / "canonical")
    department = _decisions(tmp_path / "department")

    applications = (tmp_path / "canonical" / "applications.jsonl").read_text().splitlines()
    assert len(canonical) == len(applications)
    assert department == canonical
    # Every kind of decision is among them, so the comparison covers each path.
    assert {outcome for outcome, _, _ in canonical.values()} == {
        "eligible",
        "ineligible",
        "needs_review",
    }
