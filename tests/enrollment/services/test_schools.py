"""Schools per year: import_schools, officers' edits with an audit trail, demand per school."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from enrollment.errors import ApplicationError, ErrorCode
from enrollment.models import AuditLog, Community, Role, School
from enrollment.selectors.schools import school_demand_list
from enrollment.services.allocation import allocation_run_create, allocation_run_execute
from enrollment.services.schools import school_update
from tests.conftest import YEAR
from tests.enrollment.allocation_helpers import decided_application
from tests.enrollment.factories import SchoolFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = (
    "school_code,name,district_code,kind,grade,capacity,catchment_communities,address,lat,lon\n"
)
GOOD = (
    HEADER
    + "S440604001,禅城实验小学,440604,public,primary1,90,440604010003;440604010004,禅城区祖庙路1号,23.021000,113.121000\n"
    + "S440605001,南海小学,440605,private,primary1,45,440605001001,南海区桂城,,\n"
)


def _import(tmp_path, text, encoding="utf-8", name="schools.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    out = io.StringIO()
    call_command(
        "import_schools", str(path), "--year", str(YEAR), "--encoding", encoding, stdout=out
    )
    return out.getvalue()


def test_import_creates_schools_and_their_catchment_communities(tmp_path, db):
    output = _import(tmp_path, GOOD)

    assert output.splitlines() == [
        "schools.csv: read 2, inserted 2, updated 0, unchanged 0, rejected 0, communities created 3"
    ]
    school = School.objects.get(code="S440604001", admission_year=YEAR)
    assert (school.name, school.kind, school.capacity, school.lat, school.lon) == (
        "禅城实验小学",
        "public",
        90,
        Decimal("23.021000"),
        Decimal("113.121000"),
    )
    assert school.catchment_communities == ["440604010003", "440604010004"]
    assert sorted(Community.objects.values_list("code", "district_code")) == [
        ("440604010003", "440604"),
        ("440604010004", "440604"),
        ("440605001001", "440605"),
    ]


def test_import_twice_changes_nothing_and_a_new_capacity_updates(tmp_path, db):
    _import(tmp_path, GOOD)

    again = _import(tmp_path, GOOD)
    changed = _import(tmp_path, GOOD.replace(",public,primary1,90,", ",public,primary1,95,"))

    assert "inserted 0, updated 0, unchanged 2, rejected 0, communities created 0" in again
    assert "inserted 0, updated 1, unchanged 1" in changed
    assert School.objects.count() == 2
    assert School.objects.get(code="S440604001").capacity == 95
    entry = AuditLog.objects.filter(action="school.import").order_by("-id").first()
    assert entry.data == {
        "changes": {"capacity": [90, 95]},
        "old": {"capacity": 90},
        "new": {"capacity": 95},
    }


def test_bad_rows_are_reported_by_line_and_nothing_is_written(tmp_path, db):
    text = (
        GOOD
        + "S440604009,,440604,public,primary1,40,,,,\n"
        + "S440604010,坏学校,440604,state,primary1,forty,44060401,,,\n"
        + "S440604001,重复,440604,public,primary1,10,,,,\n"
        + "S440604011,远方小学,440604,public,primary1,10,,,95,\n"
    )
    path = tmp_path / "schools.csv"
    path.write_text(text, encoding="utf-8")
    out = io.StringIO()

    with pytest.raises(CommandError, match=r"^schools.csv: 4 rows rejected; nothing was written$"):
        call_command("import_schools", str(path), "--year", str(YEAR), stdout=out)

    assert out.getvalue().splitlines()[1:] == [
        "  line 4: name is required (at most 128 characters)",
        "  line 5: kind must be one of public, private",
        "  line 6: school_code S440604001 repeats line 2",
        "  line 7: lat must be between -90 and 90",
    ]
    assert School.objects.count() == 0
    assert Community.objects.count() == 0


def test_a_catchment_outside_the_district_is_rejected(tmp_path, db):
    text = HEADER + "S440604001,小学,440604,public,primary1,9,440605001001,,,\n"
    with pytest.raises(CommandError):
        _import(tmp_path, text)
    assert School.objects.count() == 0


def test_gbk_files_import_with_encoding(tmp_path, db):
    output = _import(tmp_path, GOOD, encoding="gbk")

    assert "inserted 2" in output
    assert School.objects.get(code="S440605001").name == "南海小学"


def test_column_names_are_read_in_any_case(tmp_path, db):
    output = _import(tmp_path, GOOD.replace(HEADER, HEADER.upper()))

    assert "inserted 2" in output
    assert School.objects.get(code="S440605001").catchment_communities == ["440605001001"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("school_code,name\nS1,x\n", "missing columns: district_code, kind, capacity"),
        (
            HEADER.replace(",lat,lon", ",capacity,lat") + "S1,x,440604,public,primary1,9,,,,1,\n",
            "columns named more than once: capacity",
        ),
        (None, "is not a readable file"),
    ],
)
def test_unreadable_input_exits_with_one_line(tmp_path, db, content, reason):
    path = tmp_path / "schools.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")

    with pytest.raises(CommandError, match=reason) as failed:
        call_command("import_schools", str(path), "--year", str(YEAR), stdout=io.StringIO())

    assert "\n" not in str(failed.value)
    assert School.objects.count() == 0


def test_utf8_reading_of_a_gbk_file_fails_cleanly(tmp_path, db):
    path = tmp_path / "schools.csv"
    path.write_bytes(GOOD.encode("gbk"))

    with pytest.raises(CommandError) as failed:
        call_command("import_schools", str(path), "--year", str(YEAR), stdout=io.StringIO())
    assert str(failed.value) == f"{path}: line 2 is not utf-8 text (try --encoding)"
    assert School.objects.count() == 0


def test_a_spreadsheets_utf8_byte_order_mark_is_not_part_of_the_header(tmp_path, db):
    output = _import(tmp_path, "\ufeff" + GOOD)

    assert output.splitlines() == [
        "schools.csv: read 2, inserted 2, updated 0, unchanged 0, rejected 0, communities created 3"
    ]
    assert sorted(School.objects.values_list("code", flat=True)) == ["S440604001", "S440605001"]


def test_a_file_without_the_catchment_column_is_refused_and_keeps_stored_catchments(tmp_path, db):
    _import(tmp_path, GOOD)
    without_catchment = "\n".join(",".join(line.split(",")[:6]) for line in GOOD.splitlines())
    path = tmp_path / "schools.csv"
    path.write_text(without_catchment + "\n", encoding="utf-8")

    with pytest.raises(CommandError) as failed:
        call_command("import_schools", str(path), "--year", str(YEAR), stdout=io.StringIO())

    assert str(failed.value) == f"{path}: missing columns: catchment_communities"
    assert School.objects.get(code="S440604001").catchment_communities == [
        "440604010003",
        "440604010004",
    ]


def test_a_row_short_of_fields_is_rejected_by_line_and_nothing_is_written(tmp_path, db):
    text = GOOD + "S440604012,短行小学,440604,public,primary1,30,440604010003\n"
    path = tmp_path / "schools.csv"
    path.write_text(text, encoding="utf-8")
    out = io.StringIO()

    with pytest.raises(CommandError, match=r"^schools.csv: 1 rows rejected; nothing was written$"):
        call_command("import_schools", str(path), "--year", str(YEAR), stdout=out)

    assert out.getvalue().splitlines()[1:] == ["  line 4: expected 10 fields, found 7"]
    assert School.objects.count() == 0
    assert Community.objects.count() == 0


def test_an_officer_edits_a_school_with_an_audit_row(district, officer):
    school = district["school"]

    school_update(
        school=school,
        actor=officer,
        reason="新增两个班",
        changes={"capacity": 135, "catchment_communities": ["440604010003", "440604010007"]},
    )

    school.refresh_from_db()
    assert school.capacity == 135
    assert school.catchment_communities == ["440604010003", "440604010007"]
    assert Community.objects.filter(code="440604010007", district_code="440604").exists()
    entry = AuditLog.objects.get(action="school.update")
    assert (entry.actor, entry.reason) == (officer, "新增两个班")
    assert entry.data == {
        "changes": {
            "capacity": [2, 135],
            "catchment_communities": [["440604010003"], ["440604010003", "440604010007"]],
        },
        "old": {"capacity": 2, "catchment_communities": ["440604010003"]},
        "new": {"capacity": 135, "catchment_communities": ["440604010003", "440604010007"]},
    }


def test_edits_without_a_reason_or_by_another_district_are_refused(district, officer):
    school = district["school"]
    stranger = UserFactory(role=Role.OFFICER, username="nanhai", district_code="440605")

    with pytest.raises(ApplicationError) as no_reason:
        school_update(school=school, actor=officer, reason=" ", changes={"capacity": 5})
    with pytest.raises(ApplicationError) as other:
        school_update(school=school, actor=stranger, reason="r", changes={"capacity": 5})

    assert no_reason.value.code == ErrorCode.REASON_REQUIRED
    assert other.value.code == ErrorCode.NOT_FOUND
    school.refresh_from_db()
    assert school.capacity == 2
    assert AuditLog.objects.count() == 0


def test_officer_school_api(district, officer, api):
    response = api(officer).patch(
        "/api/v1/officer/schools/S440604001/",
        {"year": YEAR, "reason": "更正坐标", "lat": "23.050000", "lon": "113.100000"},
        format="json",
    )
    bad = api(officer).patch(
        "/api/v1/officer/schools/S440604001/",
        {"year": YEAR, "reason": "x", "catchment_communities": ["4406"]},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["lat"], response.json()["lon"]) == ("23.050000", "113.100000")
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid"
    assert School.objects.get(code="S440604001").catchment_communities == ["440604010003"]


def test_demand_per_school_counts_preferences_eligibility_seats_and_places(district, officer):
    policy = district["policy"]
    SchoolFactory(code="S440604002", capacity=1, catchment_communities=[], lat=None, lon=None)
    decided_application(policy=policy, prefs=["S440604001", "S440604002"], ref="D001")
    decided_application(policy=policy, prefs=["S440604002", "S440604001"], ref="D002")
    decided_application(policy=policy, prefs=["S440604001"], ref="D003", outcome="ineligible")
    run = allocation_run_create(
        admission_year=YEAR, seed=1, actor=officer, district_code="440604", enqueue=False
    )
    allocation_run_execute(run_id=run.pk)

    rows = school_demand_list(user=officer, admission_year=YEAR)

    assert [
        (
            r.code,
            r.seats,
            r.first_preference,
            r.any_preference,
            r.eligible_first_preference,
            r.eligible_any_preference,
            r.placed,
        )
        for r in rows
    ] == [("S440604001", 2, 2, 3, 1, 2, 1), ("S440604002", 1, 1, 2, 1, 2, 1)]
    assert rows[1].lat is None


def test_demand_api_for_officers(district, officer, api):
    response = api(officer).get("/api/v1/officer/schools/demand/", {"year": YEAR})

    assert response.status_code == 200
    [row] = response.json()
    assert (row["code"], row["seats"], row["first_preference"], row["placed"]) == (
        "S440604001",
        2,
        0,
        0,
    )
