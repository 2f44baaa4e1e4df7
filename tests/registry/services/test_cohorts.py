"""The planning question: counts of children per community and entry cohort, answered only
for planning, on a token for exactly the area asked, withheld when small, always audited."""

import time
from datetime import date

import pytest
from rest_framework.test import APIClient

from enrollment.consent_tokens import consent_public_key, consent_token_sign, planning_token_sign
from enrollment.gateway import HttpRegistryGateway
from registry import idnumber
from registry.contract import (
    CohortQuestion,
    LookupContext,
    LookupRefused,
    entry_cohort_of,
    entry_cohort_window,
    to_json,
)
from registry.models import AuditEntry, AuditSubject, DepartmentClient
from registry.services.audit import content_hash
from registry.services.clients import department_client_create
from registry.services.cohorts import cohort_counts
from tests.registry.factories import HukouRecordFactory

pytestmark = pytest.mark.django_db

NORTH = "440604010001"
SOUTH = "440604010002"
EMPTY = "440604010003"
PLANNING = LookupContext(client_id="edu-440604", purpose="planning")


def child(community: str, birth: date, sequence: int, as_of=date(2027, 3, 1)):
    return HukouRecordFactory(
        id_number=idnumber.make("440604", birth, sequence),
        community_code=community,
        as_of=as_of,
    )


@pytest.fixture
def children():
    """North: 2027's cohort of 3 (both its boundary birthdays), 2026's of 3 (its last day),
    2028's of 4 (its first day). South: 2027's cohort of 2, withheld."""
    born = {
        NORTH: [
            date(2020, 9, 1),  # first day of 2027's window
            date(2021, 8, 31),  # last day of 2027's window
            date(2021, 1, 15),
            date(2020, 8, 31),  # last day of 2026's window
            date(2019, 9, 1),
            date(2020, 2, 29),
            date(2021, 9, 1),  # first day of 2028's window
            date(2021, 12, 24),
            date(2022, 3, 3),
            date(2022, 8, 31),
        ],
        SOUTH: [date(2020, 10, 10), date(2021, 5, 5)],
    }
    for community, births in born.items():
        for sequence, birth in enumerate(births, start=1):
            child(community, birth, sequence * 2 + 1)
    # An adult of the community and a child of another district are not in any count.
    child(NORTH, date(1990, 1, 1), 11)
    HukouRecordFactory(
        id_number=idnumber.make("440605", date(2021, 1, 1), 13),
        community_code="440605010001",
    )


def planning_question(
    communities=(NORTH, SOUTH, EMPTY),
    years=(2026, 2027, 2028),
    area="440604",
    *,
    signed_communities=None,
    signed_years=None,
    client_id=None,
    now=None,
) -> CohortQuestion:
    """The question with the bureau's planning token, signed by default for what it asks."""
    reference = "PLAN-440604-2027-test"
    token = planning_token_sign(
        consent_reference=reference,
        area_code=area,
        community_codes=communities if signed_communities is None else signed_communities,
        admission_years=years if signed_years is None else signed_years,
        client_id=client_id,
        now=now,
    )
    return CohortQuestion(
        key=reference,
        consent_reference=reference,
        end_user="user:7",
        area_code=area,
        community_codes=tuple(communities),
        admission_years=tuple(years),
        consent_token=token,
    )


def test_entry_cohorts_turn_on_the_first_of_september():
    assert entry_cohort_window(2027) == (date(2020, 9, 1), date(2021, 8, 31))
    assert [
        entry_cohort_of(d)
        for d in (date(2020, 8, 31), date(2020, 9, 1), date(2021, 8, 31), date(2021, 9, 1))
    ] == [2026, 2027, 2027, 2028]


def test_counts_per_community_and_cohort_with_small_counts_withheld(children):
    answer = cohort_counts(question=planning_question(), context=PLANNING)

    assert (answer.community_codes, answer.admission_years) == (
        (NORTH, SOUTH, EMPTY),
        (2026, 2027, 2028),
    )
    assert answer.children == ((3, 3, 4), (0, None, 0), (0, 0, 0))
    assert answer.counts()[(SOUTH, 2027)] is None
    assert (answer.min_count, answer.as_of) == (3, date(2027, 3, 1))


def test_an_answer_is_one_audit_entry_about_nobody(children):
    answer = cohort_counts(question=planning_question(), context=PLANNING)

    entry = AuditEntry.objects.get()
    assert answer.audit_entry_id == entry.id
    assert (entry.outcome, entry.client_id, entry.purpose, entry.end_user) == (
        "answered",
        "edu-440604",
        "planning",
        "user:7",
    )
    assert entry.consent_reference == "PLAN-440604-2027-test"
    assert entry.answer_hash == content_hash(
        to_json(answer.__class__(**{**answer.__dict__, "audit_entry_id": None}))
    )
    assert AuditSubject.objects.count() == 0


def _family_token() -> str:
    return consent_token_sign(
        consent_reference="PLAN-440604-2027-test",
        child_id_number=idnumber.make("440604", date(2020, 9, 1), 3),
        guardian_id_numbers=[],
        purpose="planning",
    )


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"context": LookupContext("edu-440604", "")}, "PURPOSE_MISSING"),
        (
            {"context": LookupContext("edu-440604", "primary-enrollment-eligibility")},
            "PURPOSE_NOT_PLANNING",
        ),
        ({"consent_reference": " "}, "CONSENT_MISSING"),
        ({"consent_token": ""}, "CONSENT_TOKEN_MISSING"),
        ({"consent_token": "pt1.e30.AAAA"}, "CONSENT_TOKEN_MALFORMED"),
        ({"family_token": True}, "CONSENT_TOKEN_MALFORMED"),
        ({"signing": {"client_id": "hr-440604"}}, "CONSENT_CLIENT_MISMATCH"),
        ({"signing": {"now": time.time() - 3600}}, "CONSENT_EXPIRED"),
        ({"signing": {"signed_communities": (NORTH,)}}, "CONSENT_AREA_NOT_COVERED"),
        ({"signing": {"signed_years": (2027,)}}, "CONSENT_AREA_NOT_COVERED"),
        ({"communities": (NORTH, "440605010001")}, "PLANNING_AREA_INVALID"),
        ({"communities": ()}, "PLANNING_AREA_INVALID"),
        ({"area": "44060"}, "PLANNING_AREA_INVALID"),
        ({"years": tuple(range(2020, 2033))}, "PLANNING_AREA_INVALID"),
    ],
)
def test_a_question_without_a_valid_planning_consent_is_refused_and_audited(children, change, code):
    signing = change.get("signing", {})
    asked = planning_question(
        communities=change.get("communities", (NORTH, SOUTH, EMPTY)),
        years=change.get("years", (2026, 2027, 2028)),
        area=change.get("area", "440604"),
        **signing,
    )
    replaced = {k: change[k] for k in ("consent_reference", "consent_token") if k in change}
    if change.get("family_token"):
        replaced["consent_token"] = _family_token()
    asked = asked.__class__(**{**asked.__dict__, **replaced})

    with pytest.raises(LookupRefused) as refused:
        cohort_counts(question=asked, context=change.get("context", PLANNING))

    assert refused.value.code == code
    entry = AuditEntry.objects.get()
    assert entry.outcome == "refused"
    assert entry.refusal_reason.startswith(f"{code}: ")
    assert entry.answer_hash == ""
    assert AuditSubject.objects.count() == 0


def test_a_token_signed_by_another_key_is_refused(children):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    reference = "PLAN-440604-2027-test"
    forged = planning_token_sign(
        consent_reference=reference,
        area_code="440604",
        community_codes=(NORTH,),
        admission_years=(2027,),
        key=Ed25519PrivateKey.generate(),
    )
    asked = CohortQuestion(reference, reference, "user:7", "440604", (NORTH,), (2027,), forged)

    with pytest.raises(LookupRefused) as refused:
        cohort_counts(question=asked, context=PLANNING)

    assert refused.value.code == "CONSENT_SIGNATURE_INVALID"
    assert list(AuditEntry.objects.values_list("outcome", flat=True)) == ["refused"]


def test_a_planning_token_cannot_pass_as_a_familys_consent():
    from registry.consent import token_read

    with pytest.raises(ValueError, match=r"not ct1"):
        token_read(planning_question().consent_token)


def _api(*scopes: str, client_id: str) -> APIClient:
    _, key = department_client_create(
        client_id=client_id,
        name="部门",
        scopes=list(scopes),
        consent_public_key=consent_public_key(),
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return api


def test_over_http_the_plan_scope_is_needed_and_the_answer_is_the_in_process_one(children):
    DepartmentClient.objects.filter(client_id="edu-440604").delete()
    planner = _api("plan", client_id="edu-440604")
    verifier = _api("verify", client_id="hr-440604")
    asked = planning_question()

    denied = verifier.post(
        "/registry/api/v1/planning/cohorts/",
        to_json(asked),
        format="json",
        HTTP_X_ROAD_PURPOSE="planning",
    )
    answered = planner.post(
        "/registry/api/v1/planning/cohorts/",
        to_json(asked),
        format="json",
        HTTP_X_ROAD_PURPOSE="planning",
    )
    refused = planner.post(
        "/registry/api/v1/planning/cohorts/",
        to_json(asked),
        format="json",
        HTTP_X_ROAD_PURPOSE="primary-enrollment-eligibility",
    )

    assert denied.status_code == 403
    assert answered.status_code == 200
    body = answered.json()
    assert body["community_codes"] == [NORTH, SOUTH, EMPTY]
    assert body["admission_years"] == [2026, 2027, 2028]
    assert body["children"] == [[3, 3, 4], [0, None, 0], [0, 0, 0]]
    assert (body["min_count"], body["as_of"]) == (3, "2027-03-01")
    assert (refused.status_code, refused.json()["code"]) == (403, "PURPOSE_NOT_PLANNING")
    assert list(AuditEntry.objects.values_list("outcome", flat=True)) == ["answered", "refused"]


def test_over_http_a_malformed_question_is_a_400_and_nothing_is_audited(children):
    DepartmentClient.objects.filter(client_id="edu-440604").delete()
    planner = _api("plan", client_id="edu-440604")

    response = planner.post(
        "/registry/api/v1/planning/cohorts/",
        {**to_json(planning_question()), "admission_years": ["next year"]},
        format="json",
        HTTP_X_ROAD_PURPOSE="planning",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert AuditEntry.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_http_gateway_asks_the_live_api(live_server, children):
    DepartmentClient.objects.filter(client_id="edu-440604").delete()
    _, key = department_client_create(
        client_id="edu-440604",
        name="禅城区教育局",
        scopes=["plan"],
        consent_public_key=consent_public_key(),
    )
    gateway = HttpRegistryGateway(live_server.url + "/registry/api/v1", key)

    over_http = gateway.cohort_counts(question=planning_question(), context=PLANNING)
    in_process = cohort_counts(question=planning_question(), context=PLANNING)

    assert over_http.children == in_process.children == ((3, 3, 4), (0, None, 0), (0, 0, 0))
    assert over_http.community_codes == in_process.community_codes
    assert (over_http.min_count, over_http.as_of) == (3, date(2027, 3, 1))
    assert over_http.audit_entry_id != in_process.audit_entry_id
    with pytest.raises(LookupRefused) as refused:
        gateway.cohort_counts(
            question=planning_question(), context=LookupContext("edu-440604", "other")
        )
    assert refused.value.code == "PURPOSE_NOT_PLANNING"
