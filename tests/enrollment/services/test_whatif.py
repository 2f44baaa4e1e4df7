"""What-if: a changed policy tried on every current application, changing nothing."""

import pytest

from enrollment.errors import ApplicationError, ErrorCode
from enrollment.models import Decision
from enrollment.policy import default_policy_document
from enrollment.services.findings import decision_override
from enrollment.services.whatif import SchoolDemand, policy_what_if
from tests.conftest import YEAR
from tests.enrollment.factories import UserFactory
from tests.enrollment.pipeline_support import verify_all, worked_example

pytestmark = pytest.mark.django_db


@pytest.fixture
def examples(district):
    applications = {n: worked_example(n, seq=n) for n in (1, 2, 3, 4, 5, 7)}
    verify_all()
    return applications


def _tried() -> dict:
    document = default_policy_document(admission_year=YEAR)
    document["version"] = "2027.2-draft"
    document["base_points"][0]["points"] = "105"  # D + OWN
    document["si_min_months"] = 50  # example 4 has 40 months
    return document


def _snapshot():
    return list(
        Decision.objects.order_by("id").values_list("id", "is_current", "outcome", "total_points")
    )


def test_what_if_counts_changes_and_touches_nothing(examples, officer):
    before = _snapshot()

    result = policy_what_if(officer=officer, document=_tried())

    assert _snapshot() == before
    assert (result.active_version, result.tried_version) == ("2027.1", "2027.2-draft")
    assert (result.applications, result.not_rescorable) == (6, 0)
    assert (result.changed_outcome, result.changed_total) == (1, 1)
    assert result.outcomes_before == {"eligible": 4, "ineligible": 1, "needs_review": 1}
    assert result.outcomes_after == {"eligible": 3, "ineligible": 2, "needs_review": 1}
    assert result.transitions["eligible"] == {"eligible": 3, "ineligible": 1, "needs_review": 0}
    assert (result.delta_min, result.delta_max, result.delta_mean) == (0.0, 5.0, 0.83)
    assert result.delta_histogram == [{"delta": 0, "count": 5}, {"delta": 5, "count": 1}]
    assert result.total_histogram[-1] == {"from": 110, "to": 120, "before": 0, "after": 1}
    assert result.schools == [
        SchoolDemand(
            code="S440604001",
            name=result.schools[0].name,
            capacity=2,
            first_choice_before=4,
            first_choice_after=3,
        )
    ]
    assert result.seconds["total"] >= result.seconds["score"] >= 0


def test_the_active_policy_itself_changes_nothing(examples, officer):
    result = policy_what_if(officer=officer, document=default_policy_document(admission_year=YEAR))

    assert (result.changed_outcome, result.changed_total) == (0, 0)
    assert result.delta_histogram == [{"delta": 0, "count": 6}]


def test_an_overridden_outcome_stands_under_the_tried_policy(examples, officer):
    # Example 4 is the one the tried policy (50 insured months at least) makes ineligible;
    # example 1, decided not eligible by hand, stays so although the tried policy scores it.
    decision_override(
        actor=officer, application=examples[1], outcome="ineligible", reason="forged deed"
    )

    result = policy_what_if(officer=officer, document=_tried())

    assert result.changed_outcome == 1
    assert result.outcomes_before == {"eligible": 3, "ineligible": 2, "needs_review": 1}
    assert result.outcomes_after == {"eligible": 2, "ineligible": 3, "needs_review": 1}


def test_another_districts_policy_is_refused(examples, officer):
    document = default_policy_document(admission_year=YEAR, district_code="440605")

    with pytest.raises(ApplicationError) as refused:
        policy_what_if(officer=officer, document=document)

    assert refused.value.code == ErrorCode.PERMISSION_DENIED


def test_an_invalid_document_names_its_key(examples, officer):
    document = _tried()
    document["bonus"]["D"]["points"] = "0.05"

    with pytest.raises(ApplicationError) as refused:
        policy_what_if(officer=officer, document=document)

    assert refused.value.field == "document.bonus.D.points"


def test_what_if_api_for_officers_only(examples, officer, api):
    parent = UserFactory(role="parent")

    response = api(officer).post(
        "/api/v1/officer/policy/what-if/", {"document": _tried()}, format="json"
    )
    refused = api(parent).post(
        "/api/v1/officer/policy/what-if/", {"document": _tried()}, format="json"
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["changed_outcome"], body["changed_total"]) == (1, 1)
    assert body["schools"][0]["first_choice_after"] == 3
    assert refused.status_code == 403
