"""Every scoping question asked through the API and through the pages gets one answer.

Two districts, each with its own published run, re-check, schools and applications, and two
city-wide runs that place both districts' children. Each officer asks which runs, which of a
run's results, which re-checks, which schools' demand and which applications they see, once
through the API and once through the staff pages: the same objects, by id or reference, and
none of the other district's. Then a run under embargo: hidden from the family's pages, the
family's API, the school's admitted list and the family's data download alike, and shown by all
of them once the embargo is over.
"""

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from django.utils import timezone

from enrollment.models import (
    AllocationRun,
    Application,
    Community,
    Offer,
    Recheck,
    Role,
    School,
    User,
)
from enrollment.services.allocation import (
    allocation_publish,
    allocation_run_create,
    allocation_run_execute,
)
from enrollment.services.policies import policy_install_default
from enrollment.services.rechecks import recheck_request
from registry import idnumber
from tests.conftest import HOME, PARENT_ID_NUMBER, YEAR, client_for
from tests.enrollment.allocation_helpers import decided_application
from tests.enrollment.factories import SchoolFactory, UserFactory
from tests.enrollment.portal.staff.conftest import login
from tests.security.conftest import stored_rows

pytestmark = pytest.mark.django_db

NANHAI_HOME = "440605001001"


@dataclass
class District:
    code: str
    officer: User
    parent: User
    schools: list[str]
    refs: list[str]
    run: AllocationRun
    recheck: Recheck


@dataclass
class City:
    chancheng: District
    nanhai: District
    citywide: list[AllocationRun]

    def districts(self):
        return [(self.chancheng, self.nanhai), (self.nanhai, self.chancheng)]


def _run(*, officer: User | None, district_code: str, seed: int) -> AllocationRun:
    run = allocation_run_create(
        admission_year=YEAR, seed=seed, actor=officer, district_code=district_code, enqueue=False
    )
    return allocation_run_execute(run_id=run.pk)


@pytest.fixture
def city(district) -> City:
    """禅城 (440604) and 南海 (440605), three eligible families each, one seat at each
    district's first school and one at its second; each district's own round 1 published, a
    re-check asked in each, and two city-wide runs: one before and one after the first
    schools grew to two seats."""
    policy = district["policy"]
    first = district["school"]
    first.capacity = 1
    first.save()
    SchoolFactory(code="S440604002", catchment_communities=[HOME], capacity=1)
    nanhai_policy = policy_install_default(admission_year=YEAR, district_code="440605")
    Community.objects.create(code=NANHAI_HOME, district_code="440605", name="南海社区")
    for code in ("S440605001", "S440605002"):
        SchoolFactory(
            code=code, district_code="440605", catchment_communities=[NANHAI_HOME], capacity=1
        )

    built = {}
    for code, home, prefix, district_policy in (
        ("440604", HOME, "C", policy),
        ("440605", NANHAI_HOME, "N", nanhai_policy),
    ):
        officer = UserFactory(role=Role.OFFICER, username=f"officer-{code}", district_code=code)
        parent = UserFactory(
            role=Role.PARENT,
            username=f"parent-{code}",
            identity=idnumber.make(code, date(1990, 7, 1), 301),
        )
        schools = [f"S{code}001", f"S{code}002"]
        applications = [
            decided_application(
                policy=district_policy,
                prefs=[schools[0]],
                home=home,
                points=points,
                ref=f"{prefix}0{n}",
                parent=parent if n == 1 else None,
            )
            for n, points in ((1, "120"), (2, "110"), (3, "100"))
        ]
        run = _run(officer=officer, district_code=code, seed=7)
        built[code] = (officer, parent, schools, [a.ref for a in applications], run)
    first_city = _run(officer=None, district_code="", seed=11)
    for code, (officer, _parent, _schools, _refs, run) in built.items():
        built[code] = (*built[code][:4], allocation_publish(run=run, actor=officer, reason="r1"))
    School.objects.filter(code__in=["S440604001", "S440605001"]).update(capacity=2)
    second_city = _run(officer=None, district_code="", seed=11)

    districts = {}
    for code, (officer, parent, schools, refs, run) in built.items():
        mine = Application.objects.get(ref=refs[0])
        recheck = recheck_request(application=mine, actor=parent, reason="请复核积分")
        districts[code] = District(code, officer, parent, schools, refs, run, recheck)
    return City(districts["440604"], districts["440605"], [first_city, second_city])


def _api(user, url: str, **params):
    response = client_for(user).get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


def _page(user, url: str, **params):
    response = login(user).get(url, params)
    assert response.status_code == 200
    return response


def test_the_runs_an_officer_sees_are_the_same_through_the_api_and_the_pages(city):
    for own, other in city.districts():
        expected = {own.run.id, *(run.id for run in city.citywide)}

        api_runs = _api(own.officer, "/api/v1/officer/allocation/runs/", year=YEAR)
        page = _page(own.officer, "/staff/officer/allocation/", year=YEAR)

        assert {run["id"] for run in api_runs} == expected
        assert {run.id for run in page.context["runs"]} == expected
        assert other.run.id not in {run["id"] for run in api_runs}
        assert (
            client_for(own.officer).get(f"/api/v1/officer/allocation/runs/{other.run.id}/")
        ).status_code == 404
        assert login(own.officer).get(f"/staff/officer/allocation/{other.run.id}/").status_code == (
            404
        )


def test_of_a_citywide_run_both_show_only_the_districts_schools_and_applicants(city):
    first_city, _ = city.citywide
    for own, other in city.districts():
        detail = _api(own.officer, f"/api/v1/officer/allocation/runs/{first_city.id}/")
        listed = next(
            run
            for run in _api(own.officer, "/api/v1/officer/allocation/runs/", year=YEAR)
            if run["id"] == first_city.id
        )
        page = _page(own.officer, f"/staff/officer/allocation/{first_city.id}/")

        page_counts = {row["code"]: row["placed"] for row in page.context["rows"]}
        api_counts = {code: counts["placed"] for code, counts in detail["counts"].items()}
        # One seat at each school: the district's two best placed, its third not.
        assert api_counts == page_counts == {own.schools[0]: 1, own.schools[1]: 0}
        assert listed["counts"] == detail["counts"]
        assert detail["unplaced"] == own.refs[1:]
        assert (
            detail["applicants_count"],
            detail["placed_count"],
            detail["unplaced_count"],
        ) == (3, 1, 2)
        assert page.context["district_placed"] == 1
        text = json.dumps(detail) + page.content.decode()
        for leaked in [*other.schools, *other.refs]:
            assert leaked not in text


def test_comparing_citywide_runs_shows_the_same_changes_of_the_district_only(city):
    first_city, second_city = city.citywide
    for own, _other in city.districts():
        api_changes = _api(
            own.officer,
            f"/api/v1/officer/allocation/runs/{first_city.id}/compare/{second_city.id}/",
        )
        page = _page(
            own.officer, "/staff/officer/allocation/compare/", a=first_city.id, b=second_city.id
        )

        # The first school grew to two seats: the district's second family moved there.
        expected = [(own.refs[1], None, own.schools[0])]
        assert [(c["ref"], c["first_school"], c["second_school"]) for c in api_changes] == expected
        assert [
            (c.ref, c.first_school, c.second_school) for c in page.context["changes"]
        ] == expected


def test_the_rechecks_an_officer_sees_are_the_same_through_the_api_and_the_pages(city):
    for own, other in city.districts():
        api_rechecks = _api(own.officer, "/api/v1/officer/rechecks/", year=YEAR, status="open")
        page = _page(own.officer, "/staff/officer/rechecks/")

        assert [r["id"] for r in api_rechecks] == [own.recheck.id]
        assert [r.id for r in page.context["page"].object_list] == [own.recheck.id]
        assert [r["ref"] for r in api_rechecks] == [own.refs[0]]
        assert login(own.officer).get(f"/staff/officer/rechecks/{own.recheck.id}/").status_code == (
            200
        )
        assert (
            login(own.officer).get(f"/staff/officer/rechecks/{other.recheck.id}/").status_code
            == 404
        )

    before = stored_rows()
    refused = client_for(city.chancheng.officer).post(
        f"/api/v1/officer/rechecks/{city.nanhai.recheck.id}/resolve/",
        {"result": "upheld", "reason": "维持"},
        format="json",
    )
    assert refused.status_code == 404
    assert stored_rows() == before


def test_the_demand_an_officer_sees_is_the_same_through_the_api_and_the_pages(city):
    for own, other in city.districts():
        api_rows = _api(own.officer, "/api/v1/officer/schools/demand/", year=YEAR)
        page = _page(own.officer, "/staff/officer/schools/", year=YEAR)
        dashboard = _page(own.officer, "/staff/officer/", year=YEAR)

        api_demand = [
            (r["code"], r["seats"], r["first_preference"], r["any_preference"], r["placed"])
            for r in api_rows
        ]
        page_demand = [
            (r.code, r.seats, r.first_preference, r.any_preference, r.placed)
            for r in page.context["demand"]
        ]
        # Seats as they are now; placed by the district's published round (one seat each).
        assert (
            api_demand
            == page_demand
            == [(own.schools[0], 2, 3, 3, 1), (own.schools[1], 1, 0, 0, 0)]
        )
        assert [name for name, _, _ in dashboard.context["demand_chart"].rows] == [
            School.objects.get(code=code).name for code in own.schools
        ]
        for code in other.schools:
            assert code not in json.dumps(api_rows)
            assert code not in page.content.decode()


def test_the_applications_an_officer_sees_are_the_same_through_the_api_and_the_pages(city):
    for own, other in city.districts():
        decisions = _api(own.officer, "/api/v1/officer/decisions/", year=YEAR)
        queue = _page(own.officer, "/staff/officer/review/", year=YEAR, state="")

        assert [d["ref"] for d in decisions] == own.refs
        assert sorted(a.ref for a in queue.context["page"].object_list) == own.refs
        for ref in own.refs:
            assert login(own.officer).get(f"/staff/officer/review/{ref}/").status_code == 200
        for ref in other.refs:
            assert login(own.officer).get(f"/staff/officer/review/{ref}/").status_code == 404
            before = stored_rows()
            retry = client_for(own.officer).post(
                f"/api/v1/officer/applications/{ref}/reverify/", {"reason": "再查"}, format="json"
            )
            assert retry.status_code == 404
            assert stored_rows() == before


# --- what families see, and when ------------------------------------------------------------


@pytest.fixture
def embargoed(district):
    """Round 1 of 禅城 published with an embargo of an hour: C01 (the parent's) placed at the
    district's only school, C02 not."""
    officer = UserFactory(role=Role.OFFICER, username="officer1", district_code="440604")
    parent = UserFactory(role=Role.PARENT, username="parent1", identity=PARENT_ID_NUMBER)
    school_staff = UserFactory(role=Role.SCHOOL, username="school1", school_code="S440604001")
    district["school"].capacity = 1
    district["school"].save()
    mine = decided_application(
        policy=district["policy"], prefs=["S440604001"], ref="C01", parent=parent, points="120"
    )
    decided_application(policy=district["policy"], prefs=["S440604001"], ref="C02")
    run = _run(officer=officer, district_code="440604", seed=3)
    run = allocation_publish(
        run=run, actor=officer, reason="r1", visible_from=timezone.now() + timedelta(hours=1)
    )
    offer = Offer.objects.get(application=mine)
    return {
        "run": run,
        "parent": parent,
        "school": school_staff,
        "application": mine,
        "offer": offer,
    }


def _what_each_shows(parent: User, school: User, application: Application) -> dict:
    """The offers (by id) or admitted references each page, API and export shows now."""
    home = _page(parent, "/")
    detail = _page(parent, f"/applications/{application.ref}/")
    api_offers = _api(parent, "/api/v1/offers/", year=YEAR)
    download = json.loads(client_for(parent).get("/api/v1/me/data/").content)
    admitted_page = _page(school, "/staff/school/", year=YEAR)
    api_csv = client_for(school).get("/api/v1/schools/S440604001/admitted.csv", {"year": YEAR})
    portal_csv = login(school).get("/staff/school/admitted.csv", {"year": YEAR})
    [shown] = [a for a in home.context["applications"] if a.ref == application.ref]
    return {
        "home": [shown.live_offer.id] if shown.live_offer else [],
        "detail": [o.id for o in detail.context.get("offers", [])],
        "api": [o["id"] for o in api_offers],
        "download": [(o["round"], o["school_code"]) for o in download["applications"][0]["offers"]],
        "school_page": [row["ref"] for row in admitted_page.context["rows"]],
        "school_api_csv": [
            row[1] for row in list(csv.reader(io.StringIO(api_csv.content.decode())))[1:]
        ],
        "school_portal_csv": [
            row[1] for row in list(csv.reader(io.StringIO(portal_csv.content.decode())))[1:]
        ],
    }


def test_a_run_is_hidden_everywhere_before_its_embargo_and_shown_everywhere_after(embargoed):
    parent, school = embargoed["parent"], embargoed["school"]
    application, offer = embargoed["application"], embargoed["offer"]

    before = _what_each_shows(parent, school, application)
    answer_before = client_for(parent).post(
        f"/api/v1/offers/{offer.id}/answer/", {"answer": "accept"}, format="json"
    )
    recheck_before = client_for(parent).post(
        f"/api/v1/applications/{application.ref}/rechecks/", {"reason": "请复核"}, format="json"
    )
    AllocationRun.objects.filter(pk=embargoed["run"].pk).update(
        visible_from=timezone.now() - timedelta(seconds=1)
    )
    after = _what_each_shows(parent, school, application)

    assert before == {
        "home": [],
        "detail": [],
        "api": [],
        "download": [],
        "school_page": [],
        "school_api_csv": [],
        "school_portal_csv": [],
    }
    assert (answer_before.status_code, recheck_before.status_code) == (404, 409)
    assert Offer.objects.get(pk=offer.pk).status == Offer.Status.OFFERED
    assert Recheck.objects.count() == 0
    assert after == {
        "home": [offer.id],
        "detail": [offer.id],
        "api": [offer.id],
        "download": [(1, "S440604001")],
        "school_page": ["C01"],
        "school_api_csv": ["C01"],
        "school_portal_csv": ["C01"],
    }
