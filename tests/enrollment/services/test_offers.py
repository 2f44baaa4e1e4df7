"""Families answer offers (idempotently, with receipts) and see their waiting-list places."""

from datetime import timedelta

import pytest
from django.utils import timezone

from enrollment.errors import ApplicationError, ErrorCode
from enrollment.models import Application, AuditLog, Community, Offer, Role
from enrollment.portal.parents.forms import offer_message
from enrollment.services.allocation import (
    allocation_publish,
    allocation_run_create,
    allocation_run_execute,
)
from enrollment.services.offers import offer_answer, offer_mark_enrolment
from tests.conftest import YEAR
from tests.enrollment.allocation_helpers import decided_application
from tests.enrollment.factories import SchoolFactory, UserFactory

pytestmark = pytest.mark.django_db

OTHER = "440604010009"


@pytest.fixture
def published(district, officer, parent):
    """S440604001 (2 seats, catchment HOME) and S440604002 (1 seat). The parent's child lives
    far away, ranks S440604001 then S440604002, and gets S440604002; two home families fill
    S440604001; a far family with fewer points waits too."""
    Community.objects.create(code=OTHER, district_code="440604")
    SchoolFactory(code="S440604002", capacity=1, catchment_communities=[])
    policy = district["policy"]
    for ref, points in (("H001", "70"), ("H002", "75")):
        decided_application(policy=policy, prefs=["S440604001"], points=points, ref=ref)
    mine = decided_application(
        policy=policy,
        prefs=["S440604001", "S440604002"],
        points="100",
        home=OTHER,
        ref="P001",
        parent=parent,
    )
    decided_application(
        policy=policy, prefs=["S440604001", "S440604002"], points="90", home=OTHER, ref="F001"
    )
    run = allocation_run_create(
        admission_year=YEAR, seed=3, actor=officer, district_code="440604", enqueue=False
    )
    run = allocation_run_execute(run_id=run.pk)
    run = allocation_publish(run=run, actor=officer, reason="round 1")
    return {"run": run, "application": mine, "offer": Offer.objects.get(application=mine)}


def test_accepting_twice_counts_once_with_one_receipt(published, parent):
    offer = published["offer"]

    first = offer_answer(offer=offer, actor=parent, answer="accept")
    again = offer_answer(offer=offer, actor=parent, answer="accept")

    assert first.status == again.status == "accepted"
    assert first.receipt_no == again.receipt_no
    assert first.receipt_no.startswith(f"R{YEAR}-{offer.pk:07d}-")
    audit = AuditLog.objects.get(action="offer.accept", actor=parent)
    assert (audit.data["old"], audit.data["new"]) == ({"status": "offered"}, {"status": "accepted"})


def test_a_different_second_answer_is_refused(published, parent):
    offer = offer_answer(offer=published["offer"], actor=parent, answer="decline")

    with pytest.raises(ApplicationError) as refused:
        offer_answer(offer=offer, actor=parent, answer="accept")

    assert refused.value.code == ErrorCode.ILLEGAL_TRANSITION
    offer.refresh_from_db()
    assert offer.status == "declined"
    assert AuditLog.objects.filter(action__startswith="offer.").count() == 1


def test_an_answer_after_the_deadline_is_refused(published, parent):
    offer = published["offer"]
    Offer.objects.filter(pk=offer.pk).update(respond_by=timezone.now() - timedelta(seconds=1))

    with pytest.raises(ApplicationError, match="deadline") as refused:
        offer_answer(offer=offer, actor=parent, answer="accept")

    assert offer_message(refused.value) == "答复期限已过，不能再接受或放弃这个学位。"
    offer.refresh_from_db()
    assert (offer.status, offer.receipt_no) == ("offered", None)


def test_another_parent_cannot_answer(published):
    stranger = UserFactory(role=Role.PARENT, username="stranger")

    with pytest.raises(ApplicationError) as refused:
        offer_answer(offer=published["offer"], actor=stranger, answer="decline")

    assert refused.value.code == ErrorCode.NOT_FOUND
    published["offer"].refresh_from_db()
    assert published["offer"].status == "offered"


def test_offers_stay_hidden_until_the_embargo(district, officer, parent, api):
    SchoolFactory(code="S440604002", capacity=1, catchment_communities=[])
    mine = decided_application(
        policy=district["policy"], prefs=["S440604001"], ref="P002", parent=parent
    )
    run = allocation_run_create(
        admission_year=YEAR, seed=3, actor=officer, district_code="440604", enqueue=False
    )
    run = allocation_run_execute(run_id=run.pk)
    allocation_publish(
        run=run, actor=officer, reason="r1", visible_from=timezone.now() + timedelta(hours=1)
    )
    offer = Offer.objects.get(application=mine)

    listed = api(parent).get("/api/v1/offers/", {"year": YEAR})
    answered = api(parent).post(
        f"/api/v1/offers/{offer.pk}/answer/", {"answer": "accept"}, format="json"
    )

    assert listed.json() == []
    assert answered.status_code == 404
    offer.refresh_from_db()
    assert offer.status == "offered"


def test_the_family_sees_its_place_on_each_waiting_list_above_its_offer(published, parent, api):
    response = api(parent).get("/api/v1/offers/", {"year": YEAR})

    assert response.status_code == 200
    [row] = response.json()
    assert row["ref"] == "P001"
    assert row["school_code"] == "S440604002"
    assert row["status"] == "offered"
    assert row["receipt_no"] is None
    # S440604001 waits: P001 (100 points) before F001 (90)
    assert row["waiting_lists"] == [
        {
            "school_code": "S440604001",
            "school_name": row["waiting_lists"][0]["school_name"],
            "position": 1,
            "length": 2,
        }
    ]


def test_answer_api_is_idempotent_and_returns_the_receipt(published, parent, api):
    url = f"/api/v1/offers/{published['offer'].pk}/answer/"

    first = api(parent).post(url, {"answer": "accept"}, format="json")
    second = api(parent).post(url, {"answer": "accept"}, format="json")
    other = api(parent).post(url, {"answer": "decline"}, format="json")

    assert first.status_code == second.status_code == 200
    assert first.json()["receipt_no"] == second.json()["receipt_no"] is not None
    assert other.status_code == 409
    assert Offer.objects.get(pk=published["offer"].pk).status == "accepted"


def _accepted_by_family(ref: str) -> Offer:
    """The family of a counter application answers online: it accepts its offer."""
    family = UserFactory(role=Role.PARENT, username=f"family-{ref}")
    Application.objects.filter(ref=ref).update(applicant=family)
    return offer_answer(
        offer=Offer.objects.get(application__ref=ref), actor=family, answer="accept"
    )


def test_the_school_marks_enrolment_and_a_no_show_frees_the_place(published, officer):
    staff = UserFactory(role=Role.SCHOOL, username="s1staff", school_code="S440604001")
    school = published["offer"].run.offers.get(application__ref="H001").school
    _accepted_by_family("H001")
    _accepted_by_family("H002")

    offer = offer_mark_enrolment(school=school, actor=staff, ref="H001", enrolment="no_show")
    offer_mark_enrolment(school=school, actor=staff, ref="H002", enrolment="enrolled")

    assert offer.enrolment == "no_show"
    assert AuditLog.objects.filter(action="offer.enrolment", actor=staff).count() == 2
    run = allocation_run_create(
        admission_year=YEAR, seed=4, actor=officer, district_code="440604", enqueue=False
    )
    run = allocation_run_execute(run_id=run.pk)
    placements = dict(run.placements.values_list("application__ref", "school__code"))
    # H001 dropped out; H002 keeps its place; P001 rises to its first choice
    assert placements == {"H002": "S440604001", "P001": "S440604001", "F001": "S440604002"}


@pytest.mark.parametrize("enrolment", ["enrolled", "no_show"])
def test_enrolment_of_a_place_the_family_has_not_accepted_is_refused_and_nothing_written(
    published, enrolment
):
    staff = UserFactory(role=Role.SCHOOL, username="s1staff", school_code="S440604001")
    offer = Offer.objects.get(application__ref="H002")
    audit_rows = AuditLog.objects.count()

    with pytest.raises(ApplicationError) as refused:
        offer_mark_enrolment(school=offer.school, actor=staff, ref="H002", enrolment=enrolment)

    assert (refused.value.code, refused.value.field, refused.value.why) == (
        ErrorCode.ILLEGAL_TRANSITION,
        "enrolment",
        "not_accepted",
    )
    offer.refresh_from_db()
    assert (
        offer.status,
        offer.enrolment,
        offer.enrolment_marked_by,
        offer.enrolment_marked_at,
    ) == (
        "offered",
        "",
        None,
        None,
    )
    assert AuditLog.objects.count() == audit_rows


def test_staff_of_another_school_cannot_mark_enrolment(published):
    staff = UserFactory(role=Role.SCHOOL, username="s2staff", school_code="S440604002")
    school = Offer.objects.get(application__ref="H001").school

    with pytest.raises(ApplicationError) as refused:
        offer_mark_enrolment(school=school, actor=staff, ref="H001", enrolment="enrolled")

    assert refused.value.code == ErrorCode.NOT_FOUND
    assert Offer.objects.get(application__ref="H001").enrolment == ""


def test_enrolment_api_for_the_schools_own_staff(published, api):
    staff = UserFactory(role=Role.SCHOOL, username="s1staff", school_code="S440604001")
    url = "/api/v1/schools/S440604001/enrolments/"
    _accepted_by_family("H002")

    response = api(staff).post(
        url, {"year": YEAR, "ref": "H002", "enrolment": "enrolled"}, format="json"
    )
    unknown = api(staff).post(
        url, {"year": YEAR, "ref": "P001", "enrolment": "enrolled"}, format="json"
    )
    not_accepted = api(staff).post(
        url, {"year": YEAR, "ref": "H001", "enrolment": "enrolled"}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {
        "ref": "H002",
        "school_code": "S440604001",
        "status": "accepted",
        "enrolment": "enrolled",
    }
    assert unknown.status_code == 404
    assert not_accepted.status_code == 409
    assert not_accepted.json()["code"] == "illegal_transition"
    assert Offer.objects.get(application__ref="H001").enrolment == ""


def test_a_family_without_an_offer_sees_its_places_on_every_list(published, api):
    # F001 was offered nothing; its family signs in as this parent
    unplaced_parent = UserFactory(role=Role.PARENT, username="waiting")
    Application.objects.filter(ref="F001").update(applicant=unplaced_parent)

    response = api(unplaced_parent).get("/api/v1/waiting-lists/", {"year": YEAR})
    offers = api(unplaced_parent).get("/api/v1/offers/", {"year": YEAR})

    assert offers.json() == []
    assert [
        (row["ref"], row["school_code"], row["position"], row["length"]) for row in response.json()
    ] == [("F001", "S440604001", 2, 2), ("F001", "S440604002", 1, 1)]


def test_closing_enrolment_marks_the_rest_no_show_for_the_next_round(published, api):
    staff = UserFactory(role=Role.SCHOOL, username="s1staff", school_code="S440604001")
    url = "/api/v1/schools/S440604001/"
    _accepted_by_family("H002")
    api(staff).post(
        url + "enrolments/", {"year": YEAR, "ref": "H002", "enrolment": "enrolled"}, format="json"
    )

    closed = api(staff).post(
        url + "enrolments/close/", {"year": YEAR, "reason": "报到截止"}, format="json"
    )
    refused = api(UserFactory(role=Role.SCHOOL, username="s2", school_code="S440604002")).post(
        url + "enrolments/close/", {"year": YEAR, "reason": "x"}, format="json"
    )

    assert closed.status_code == 200
    assert closed.json() == {"no_show": 1}
    assert refused.status_code == 404
    marks = dict(
        Offer.objects.filter(school__code="S440604001").values_list("application__ref", "enrolment")
    )
    assert marks == {"H001": "no_show", "H002": "enrolled"}
    assert AuditLog.objects.get(action="offer.enrolment_closed").reason == "报到截止"
