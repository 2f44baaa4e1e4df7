"""Evidence, review and overrides through the API, and evidence an officer offers for a
counter-entered application."""

import pytest

from enrollment.errors import ApplicationError, ErrorCode
from enrollment.models import Decision, Evidence, Role
from enrollment.services.review import (
    evidence_submit,
)
from tests.conftest import YEAR
from tests.enrollment.factories import UserFactory
from tests.enrollment.pipeline_support import guardian_id, verify_all, worked_example
from tests.enrollment.services.test_review import _no_hukou_case, _pdf

pytestmark = pytest.mark.django_db


@pytest.fixture
def parent(db):
    """The review tests' parent, whose identity is the guardian their cases name."""
    return UserFactory(role=Role.PARENT, username="parent-review", identity=guardian_id(7))


def test_parent_uploads_and_officer_reviews_over_the_api(
    district, parent, officer, api, django_capture_on_commit_callbacks
):
    application = _no_hukou_case(parent)

    uploaded = api(parent).post(
        f"/api/v1/applications/{application.ref}/evidence/",
        {"fact": "hukou", "kind": "upload", "file": _pdf()},
        format="multipart",
    )
    assert uploaded.status_code == 201, uploaded.json()
    evidence_id = uploaded.json()["id"]
    queue = api(officer).get("/api/v1/officer/review/", {"year": YEAR}).json()
    assert [(row["ref"], row["has_pending_evidence"]) for row in queue] == [(application.ref, True)]

    reviewed = api(officer).post(
        f"/api/v1/officer/evidence/{evidence_id}/review/",
        {
            "accept": True,
            "reason": "booklet page checked",
            "values": {"hukou_class": "C", "registered_on": "2025-01-20"},
        },
        format="json",
    )

    assert reviewed.status_code == 200, reviewed.json()
    assert reviewed.json()["accepted_values"] == {
        "hukou_class": "C",
        "registered_on": "2025-01-20",
    }
    detail = api(parent).get(f"/api/v1/applications/{application.ref}/").json()
    assert (detail["state"], detail["decision"]["reasons"]) == (
        "needs_review",
        ["GUARDIANSHIP_NOT_VERIFIED"],
    )

    # and the relation, by a birth certificate: verified again, the mother's flat scored
    relation = api(parent).post(
        f"/api/v1/applications/{application.ref}/evidence/",
        {"fact": "relation", "kind": "upload", "file": _pdf("birth.pdf")},
        format="multipart",
    )
    assert relation.status_code == 201, relation.json()
    with django_capture_on_commit_callbacks(execute=True):
        accepted = api(officer).post(
            f"/api/v1/officer/evidence/{relation.json()['id']}/review/",
            {
                "accept": True,
                "reason": "birth certificate names the mother",
                "values": {"guardian_position": 1, "document": "birth_certificate"},
            },
            format="json",
        )
    assert accepted.status_code == 200, accepted.json()
    detail = api(parent).get(f"/api/v1/applications/{application.ref}/").json()
    assert (detail["state"], detail["decision"]["total_points"], detail["decision"]["reasons"]) == (
        "decided",
        "97.6",
        [],
    )


def test_api_refuses_a_parent_reviewing_and_an_override_without_reason(
    district, parent, officer, api
):
    application = _no_hukou_case(parent)
    evidence = evidence_submit(
        application=application, actor=parent, fact="hukou", kind="upload", file=_pdf()
    )

    as_parent = api(parent).post(
        f"/api/v1/officer/evidence/{evidence.pk}/review/",
        {"accept": False, "reason": "mine"},
        format="json",
    )
    no_reason = api(officer).post(
        f"/api/v1/officer/applications/{application.ref}/override/",
        {"outcome": "eligible", "reason": ""},
        format="json",
    )

    assert as_parent.status_code == 403
    assert no_reason.status_code == 400
    assert no_reason.json()["extra"]["errors"][0]["field"] == "reason"
    assert Evidence.objects.get().review == "pending"
    assert Decision.objects.filter(application=application).count() == 1


def test_an_officer_offers_evidence_for_a_counter_entered_application(district, officer):
    application = worked_example(7)  # entered at the counter: no parent account
    verify_all()
    application.refresh_from_db()
    parent = UserFactory(role=Role.PARENT)

    with pytest.raises(ApplicationError) as refused:
        evidence_submit(
            application=application, actor=parent, fact="hukou", kind="upload", file=_pdf()
        )
    evidence = evidence_submit(
        application=application, actor=officer, fact="hukou", kind="upload", file=_pdf()
    )

    assert refused.value.code == ErrorCode.PERMISSION_DENIED
    assert (evidence.submitted_by, evidence.review) == (officer, "pending")


def test_the_api_makes_a_case_eligible_only_through_a_finding(district, officer, api):
    # given: DOMAIN.md example 9, needs_review with HOUSING_NOT_VERIFIED and PERMIT_MISSING
    application = worked_example(9)
    verify_all()
    shown = Decision.objects.get(application=application, is_current=True).pk

    bare = api(officer).post(
        f"/api/v1/officer/applications/{application.ref}/override/",
        {"outcome": "eligible", "reason": "住房已核实", "decision_id": shown},
        format="json",
    )

    # then: an outcome alone is refused, naming the way offered instead; nothing is written
    assert bare.status_code == 400
    assert (bare.json()["code"], bare.json()["extra"]["why"]) == (
        "invalid",
        "eligible_needs_fact",
    )
    assert list(Decision.objects.filter(application=application).values_list("id", flat=True)) == [
        shown
    ]

    # when: the officer accepts the housing, then the permit, each with a reason
    housing = api(officer).post(
        f"/api/v1/officer/applications/{application.ref}/findings/",
        {"fact": "housing", "reason": "窗口查验租赁合同原件", "decision_id": shown},
        format="json",
    )
    permit = api(officer).post(
        f"/api/v1/officer/applications/{application.ref}/findings/",
        {"fact": "residence_permit", "reason": "公安分局书面答复"},
        format="json",
    )

    # then: each is scored by the policy: N + RENT = 60, plus 2.8 for 40 insured months
    assert housing.status_code == 201, housing.json()
    assert (housing.json()["state"], housing.json()["decision"]) == (
        "decided",
        {
            "outcome": "ineligible",
            "basis": "reviewed",
            "total_points": "62.8",
            "reasons": ["PERMIT_MISSING"],
            "policy_version": "2027.1",
        },
    )
    assert (housing.json()["finding"]["kind"], housing.json()["finding"]["review"]) == (
        "finding",
        "accepted",
    )
    assert permit.status_code == 201, permit.json()
    assert permit.json()["decision"] == {
        "outcome": "eligible",
        "basis": "reviewed",
        "total_points": "62.8",
        "reasons": [],
        "policy_version": "2027.1",
    }
