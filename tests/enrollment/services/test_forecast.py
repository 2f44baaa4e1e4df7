"""The demand forecast against cohorts counted by hand (tests/enrollment/forecast_support.py),
and `manage.py forecast_demand`'s file byte for byte."""

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from enrollment.errors import ApplicationError
from enrollment.services.forecast import (
    demand_forecast,
    forecast_rows,
    forecast_seats,
    take_up_rate,
)
from registry.models import AuditEntry, DepartmentClient
from tests.enrollment.forecast_support import EXPECTED_CSV, YEAR, A, B, C, D, E, small_district

pytestmark = pytest.mark.django_db


@pytest.fixture
def district(db):
    return small_district()


def _figures(area):
    return [(f.admission_year, f.children, f.withheld, f.forecast, f.shortfall) for f in area.years]


def test_each_school_against_its_hand_counted_cohorts(district):
    forecast = demand_forecast(admission_year=YEAR, horizon=2, end_user="user:1")

    s1, s2, s3 = forecast.schools
    assert forecast.years == (2028, 2029)
    assert (s1.code, s1.communities, s1.applications, s1.children_now, s1.take_up) == (
        "S440604001",
        (A, B, E),
        8,
        7,
        Decimal("1.1429"),
    )
    # E's count for 2027 is withheld: its 4 applications are out of the take-up as well.
    assert (s1.withheld_now, s1.applications_left_out) == (1, 4)
    assert _figures(s1) == [(2028, 12, 0, 14, 9), (2029, 5, 1, 6, 1)]
    assert (s2.applications, s2.children_now, s2.take_up) == (5, 3, Decimal("1.6667"))
    assert _figures(s2) == [(2028, 10, 0, 17, 13), (2029, 3, 1, 5, 1)]
    # C's 2027 cohort is empty: take-up 1, whatever the applications.
    assert (s3.applications, s3.children_now, s3.take_up) == (2, 0, Decimal("1.0000"))
    assert _figures(s3) == [(2028, 4, 0, 4, -6), (2029, 3, 0, 3, -7)]


def test_each_community_and_the_one_in_no_catchment(district):
    forecast = demand_forecast(admission_year=YEAR, horizon=2, end_user="user:1")

    rows = {
        c.code: (c.name, c.applications, c.children_now, c.take_up, _figures(c))
        for c in forecast.communities
    }
    assert rows == {
        A: ("祖庙街道岭南社区", 5, 4, Decimal("1.2500"), [(2028, 3, 0, 4, None), (2029, 5, 0, 6, None)]),
        B: ("祖庙街道同济社区", 3, 3, Decimal("1.0000"), [(2028, 6, 0, 6, None), (2029, 0, 1, None, None)]),
        C: ("石湾街道东风社区", 2, 0, Decimal("1.0000"), [(2028, 4, 0, 4, None), (2029, 3, 0, 3, None)]),
        D: ("张槎街道大富社区", 6, 4, Decimal("1.5000"), [(2028, 3, 0, 5, None), (2029, 0, 0, 0, None)]),
        E: ("张槎街道华远社区", 0, 0, Decimal("1.0000"), [(2028, 3, 0, 3, None), (2029, 0, 0, 0, None)]),
    }  # fmt: skip


def test_the_forecast_rounds_half_up_on_the_printed_take_up():
    assert take_up_rate(6, 4) == Decimal("1.5000")
    assert forecast_seats(3, Decimal("1.5000")) == 5
    assert forecast_seats(5, Decimal("0.5000")) == 3
    assert take_up_rate(8, 7) == Decimal("1.1429")
    assert take_up_rate(2, 0) == Decimal("1.0000")


def test_the_integer_arithmetic_is_decimal_rounding_half_up():
    from decimal import ROUND_HALF_UP

    for applications in range(0, 90):
        for children in range(1, 90):
            exact = (Decimal(applications) / Decimal(children)).quantize(
                Decimal("0.0001"), ROUND_HALF_UP
            )
            assert take_up_rate(applications, children) == exact
            assert str(take_up_rate(applications, children)) == str(exact)
            assert forecast_seats(children, exact) == int(
                (children * exact).quantize(Decimal(1), ROUND_HALF_UP)
            )


def test_the_forecast_is_one_audited_planning_question(district):
    forecast = demand_forecast(admission_year=YEAR, horizon=6, end_user="user:1")

    entry = AuditEntry.objects.get()
    assert (entry.id, entry.purpose, entry.outcome, entry.end_user) == (
        forecast.audit_entry_id,
        "planning",
        "answered",
        "user:1",
    )
    assert entry.consent_reference == forecast.consent_reference
    assert forecast.consent_reference.startswith("PLAN-4406-2027-")
    assert forecast.years == (2028, 2029, 2030, 2031, 2032, 2033)
    assert len(forecast_rows(forecast)) == 18


def test_the_command_writes_the_hand_counted_file_byte_for_byte(district, tmp_path):
    out = tmp_path / "forecast.csv"
    stdout = io.StringIO()

    call_command(
        "forecast_demand", "--year", "2027", "--horizon", "2", "--out", str(out), stdout=stdout
    )

    assert out.read_bytes() == EXPECTED_CSV.encode()
    assert stdout.getvalue().startswith(
        f"{out}: 3 schools, 2028-2029, 6 rows (registry audit entry"
    )


def test_the_command_for_one_district_asks_about_that_district_only(district, tmp_path):
    out = tmp_path / "forecast.csv"

    call_command(
        "forecast_demand", "--year=2027", "--horizon=2", "--district=440604", f"--out={out}",
        stdout=io.StringIO(),
    )  # fmt: skip

    assert out.read_bytes() == EXPECTED_CSV.encode()
    assert AuditEntry.objects.get().consent_reference.startswith("PLAN-440604-2027-")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--year", "1999"], "--year 1999 is not an admission year"),
        (["--year", "2027", "--horizon", "0"], "--horizon must be between 1 and 10"),
        (["--year", "2027", "--horizon", "11"], "--horizon must be between 1 and 10"),
        (["--year", "2027", "--district", "4406"], "--district 4406 is not a six-digit"),
        (["--year", "2031"], "no schools published for 2031 in 4406"),
    ],
)
def test_the_command_refuses_bad_arguments_in_one_line_and_writes_nothing(
    district, tmp_path, arguments, message
):
    out = tmp_path / "forecast.csv"

    with pytest.raises(CommandError, match=message):
        call_command("forecast_demand", *arguments, "--out", str(out), stdout=io.StringIO())

    assert list(tmp_path.iterdir()) == []
    assert AuditEntry.objects.count() == 0


def test_a_refused_planning_question_stops_the_command_and_writes_no_file(district, tmp_path):
    # The registry holds no consent key for the bureau: its token cannot be checked.
    DepartmentClient.objects.update(consent_public_keys=[])
    out = tmp_path / "forecast.csv"

    with pytest.raises(
        CommandError, match="the registry refused the planning question: CONSENT_KEY_UNKNOWN"
    ):
        call_command("forecast_demand", "--year", "2027", "--out", str(out), stdout=io.StringIO())

    assert list(tmp_path.iterdir()) == []
    assert list(AuditEntry.objects.values_list("outcome", "purpose")) == [("refused", "planning")]


def test_the_service_refuses_a_horizon_beyond_what_the_registry_answers(district):
    with pytest.raises(ApplicationError, match="the horizon is 1 to 10 years"):
        demand_forecast(admission_year=YEAR, horizon=11, end_user="user:1")
    assert AuditEntry.objects.count() == 0
