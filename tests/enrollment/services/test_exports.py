"""Admitted lists (CSV, XLSX) for the school's own staff, and the city-wide allocation file."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from openpyxl import load_workbook

from enrollment.exports import safe_cell
from enrollment.models import DownloadLog, Offer, Role
from enrollment.services.allocation import (
    allocation_publish,
    allocation_run_create,
    allocation_run_execute,
)
from tests.conftest import YEAR
from tests.enrollment.allocation_helpers import decided_application
from tests.enrollment.factories import SchoolFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = [
    "school_code",
    "ref",
    "child_name",
    "child_id_number",
    "guardian_names",
    "home_address",
    "total_points",
    "rank",
]


@pytest.fixture
def admitted(district, officer):
    """S440604001 admits A002 (90) then A001 (85, a name that looks like a formula); A003 is
    not placed; S440604002 admits A004."""
    SchoolFactory(code="S440604002", capacity=1, catchment_communities=[])
    policy = district["policy"]
    first = decided_application(
        policy=policy,
        prefs=["S440604001"],
        points="85",
        ref="A001",
        child_name="=HYPERLINK(1)",
        guardian_name="+陈大文",
    )
    second = decided_application(policy=policy, prefs=["S440604001"], points="90", ref="A002")
    decided_application(policy=policy, prefs=["S440604001"], points="60", ref="A003")
    decided_application(policy=policy, prefs=["S440604002"], points="70", ref="A004")
    run = allocation_run_create(
        admission_year=YEAR, seed=5, actor=officer, district_code="440604", enqueue=False
    )
    run = allocation_run_execute(run_id=run.pk)
    allocation_publish(run=run, actor=officer, reason="round 1")
    return {"run": run, "first": first, "second": second}


def _expected_rows(admitted):
    first, second = admitted["first"], admitted["second"]
    return [
        HEADER,
        [
            "S440604001",
            "A002",
            "陈小明",
            second.child_id_number,
            "李美玲",
            "禅城区示范路1号",
            "90.0",
            "1",
        ],
        [
            "S440604001",
            "A001",
            "'=HYPERLINK(1)",
            first.child_id_number,
            "'+陈大文",
            "禅城区示范路1号",
            "85.0",
            "2",
        ],
    ]


def test_school_staff_download_their_admitted_list_as_csv(admitted, school_staff, api):
    response = api(school_staff).get("/api/v1/schools/S440604001/admitted.csv", {"year": YEAR})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="S440604001-admitted.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    assert rows == _expected_rows(admitted)
    log = DownloadLog.objects.get()
    assert (log.user, log.school_code, log.format, log.allowed, log.rows) == (
        school_staff,
        "S440604001",
        "csv",
        True,
        2,
    )


def test_school_staff_download_their_admitted_list_as_xlsx(admitted, school_staff, api):
    response = api(school_staff).get("/api/v1/schools/S440604001/admitted.xlsx", {"year": YEAR})

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [
        [("" if v is None else str(v)) for v in row] for row in sheet.iter_rows(values_only=True)
    ]
    assert rows == _expected_rows(admitted)
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert DownloadLog.objects.get().format == "xlsx"


@pytest.mark.parametrize("role", ["other_school", "officer", "parent"])
def test_anyone_else_gets_404_and_the_refusal_is_logged(admitted, api, role):
    users = {
        "other_school": lambda: UserFactory(
            role=Role.SCHOOL, username="s2", school_code="S440604002"
        ),
        "officer": lambda: UserFactory(role=Role.OFFICER, username="o", district_code="440604"),
        "parent": lambda: UserFactory(role=Role.PARENT, username="p"),
    }
    user = users[role]()

    response = api(user).get("/api/v1/schools/S440604001/admitted.xlsx", {"year": YEAR})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    log = DownloadLog.objects.get()
    assert (log.user, log.school_code, log.allowed, log.rows) == (user, "S440604001", False, 0)


def test_nothing_is_listed_before_the_embargo(district, officer, school_staff, api):
    decided_application(policy=district["policy"], prefs=["S440604001"], ref="A001")
    run = allocation_run_create(
        admission_year=YEAR, seed=5, actor=officer, district_code="440604", enqueue=False
    )
    run = allocation_run_execute(run_id=run.pk)
    allocation_publish(
        run=run, actor=officer, reason="r1", visible_from=timezone.now() + timedelta(hours=3)
    )

    response = api(school_staff).get("/api/v1/schools/S440604001/admitted.csv", {"year": YEAR})

    assert response.content.decode().splitlines() == [",".join(HEADER)]


def test_declined_places_leave_the_admitted_list(admitted, school_staff, api):
    Offer.objects.filter(application__ref="A002").update(status="declined")

    response = api(school_staff).get("/api/v1/schools/S440604001/admitted.csv", {"year": YEAR})

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert [(row[1], row[7]) for row in rows[1:]] == [("A001", "1")]


def test_export_admitted_command_writes_csv_and_xlsx(admitted, tmp_path):
    out_csv, out_xlsx = tmp_path / "s1.csv", tmp_path / "s1.xlsx"

    call_command(
        "export_admitted", "--year", str(YEAR), "--school", "S440604001", "--format", "csv",
        "--out", str(out_csv), stdout=io.StringIO(),
    )  # fmt: skip
    call_command(
        "export_admitted", "--year", str(YEAR), "--school", "S440604001", "--format", "xlsx",
        "--out", str(out_xlsx), stdout=io.StringIO(),
    )  # fmt: skip

    assert list(csv.reader(out_csv.open(encoding="utf-8"))) == _expected_rows(admitted)
    sheet = load_workbook(out_xlsx).active
    assert [c.value for c in next(sheet.iter_rows())] == HEADER
    assert list(DownloadLog.objects.values_list("channel", "format", "user")) == [
        ("command", "xlsx", None),
        ("command", "csv", None),
    ]


def test_export_admitted_command_refuses_an_unknown_school(admitted, tmp_path):
    with pytest.raises(CommandError, match="no school S999 admits in 2027"):
        call_command(
            "export_admitted", "--year", str(YEAR), "--school", "S999", "--format", "csv",
            "--out", str(tmp_path / "x.csv"),
        )  # fmt: skip
    assert not (tmp_path / "x.csv").exists()
    assert DownloadLog.objects.count() == 0


def test_export_admitted_to_an_unwritable_place_fails_in_one_line_and_logs_nothing(
    admitted, tmp_path
):
    target = tmp_path / "missing-folder" / "s1.csv"

    with pytest.raises(CommandError) as failed:
        call_command(
            "export_admitted", "--year", str(YEAR), "--school", "S440604001", "--format", "csv",
            "--out", str(target), stdout=io.StringIO(),
        )  # fmt: skip

    assert str(failed.value) == f"cannot write {target}: No such file or directory"
    assert not (tmp_path / "missing-folder").exists()
    assert DownloadLog.objects.count() == 0


def test_export_allocation_writes_every_placement_with_the_seed(admitted, tmp_path):
    out = tmp_path / "allocation.csv"
    run = admitted["run"]

    call_command("export_allocation", "--year", str(YEAR), "--out", str(out), stdout=io.StringIO())

    rows = list(csv.reader(out.open(encoding="utf-8")))
    lottery = dict(run.placements.values_list("application__ref", "lottery_number"))
    assert rows == [
        ["ref", "school_code", "in_catchment", "total_points", "lottery_number", "seed"],
        ["A001", "S440604001", "1", "85.0", str(lottery["A001"]), "5"],
        ["A002", "S440604001", "1", "90.0", str(lottery["A002"]), "5"],
        ["A003", "", "0", "60.0", str(lottery["A003"]), "5"],
        ["A004", "S440604002", "0", "70.0", str(lottery["A004"]), "5"],
    ]
    assert sorted(lottery.values()) == [1, 2, 3, 4]
    assert not (tmp_path / "allocation.csv.part").exists()


def test_export_allocation_without_a_run_exits_with_a_reason(db, tmp_path):
    with pytest.raises(CommandError, match="no finished allocation run for 2027"):
        call_command("export_allocation", "--year", str(YEAR), "--out", str(tmp_path / "a.csv"))
    assert not (tmp_path / "a.csv").exists()


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("-2", "'-2"),
        ("@SUM", "'@SUM"),
        ("陈", "陈"),
        (Decimal("90.0"), "90.0"),
        # full-width forms, and what a spreadsheet skips before the first character
        ("＝1+1", "'＝1+1"),
        ("＋86", "'＋86"),
        ("－2", "'－2"),
        ("＠SUM", "'＠SUM"),
        ("  =1+1", "'  =1+1"),
        ("\u3000=1", "'\u3000=1"),
        ("\ufeff=1", "'\ufeff=1"),
        ("\u200b@SUM", "'\u200b@SUM"),
        ("\u2060+1", "'\u2060+1"),
        (" 陈 ", " 陈 "),
    ],
)
def test_safe_cell_defuses_formulas(value, cell):
    assert safe_cell(value) == cell


def test_the_allocation_file_defuses_formulas_in_codes_too(admitted, tmp_path):
    from enrollment.models import School

    School.objects.filter(code="S440604002").update(code="\u200b＝S2")
    out = tmp_path / "allocation.csv"

    call_command("export_allocation", "--year", str(YEAR), "--out", str(out), stdout=io.StringIO())

    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[4][:2] == ["A004", "'\u200b＝S2"]
    assert len(rows) == 5
