"""The registry's HTTP API: department clients, scopes, counter pushes, verification, audit."""

import io
import logging
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from enrollment.gateway import HttpRegistryGateway
from registry import idnumber
from registry.contract import FamilyQuestion, LookupContext, LookupRefused, to_json
from registry.models import (
    AuditEntry,
    DepartmentClient,
    HukouRecord,
    ImportBatch,
    SocialInsuranceRecord,
)
from registry.services.clients import api_key_hash, department_client_create
from registry.services.verification import verify_families
from tests.registry.factories import (
    HukouRecordFactory,
    PropertyRecordFactory,
    ResidencePermitRecordFactory,
    SocialInsuranceRecordFactory,
    signed,
)

pytestmark = pytest.mark.django_db

CHILD = idnumber.make("440604", date(2020, 3, 15), 123)
MOTHER = idnumber.make("440604", date(1990, 7, 1), 222)
FATHER = idnumber.make("445202", date(1988, 1, 1), 111)
BAD_CHECK = CHILD[:17] + ("0" if CHILD[17] != "0" else "1")
HUKOU = {
    "id_number": CHILD,
    "name": "陈小明",
    "sex": "M",
    "birth_date": "2020-03-15",
    "hukou_district_code": "440604",
    "community_code": "440604010003",
    "address": "祖庙路1号",
    "registered_on": "2020-04-01",
    "household_no": "H1",
}


def api_with(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return api


def client_with(*scopes: str, client_id="hr-440604") -> APIClient:
    _, key = department_client_create(client_id=client_id, name="部门", scopes=list(scopes))
    return api_with(key)


def question(key="A1", consent="consent-1"):
    """A question with the education bureau's consent token for it."""
    return signed(
        FamilyQuestion(
            key=key,
            consent_reference=consent,
            end_user="user:7",
            child_id_number=CHILD,
            guardian_id_numbers=(MOTHER, FATHER),
            home_community_code="440604010003",
            cutoff=date(2027, 3, 31),
            district_code="440604",
            city_code="4406",
        ),
        purpose="enrollment-2027",
    )


def test_create_department_client_prints_the_key_once_and_keeps_only_its_hash():
    out = io.StringIO()
    call_command(
        "create_department_client",
        "--client-id",
        "edu-440605",
        "--name",
        "南海区教育局",
        "--scopes",
        "verify,audit",
        stdout=out,
    )

    key = out.getvalue().splitlines()[-1]
    client = DepartmentClient.objects.get(client_id="edu-440605")
    assert (client.client_id, client.scopes) == ("edu-440605", ["verify", "audit"])
    assert client.api_key_hash == api_key_hash(key)
    assert key not in client.api_key_hash


def test_push_needs_a_valid_key_and_the_push_scope_and_writes_nothing_otherwise():
    anonymous = APIClient()
    wrong_key = APIClient()
    wrong_key.credentials(HTTP_AUTHORIZATION="Api-Key not-a-key")
    verify_only = client_with("verify")
    body = {"source": "hukou", "record": HUKOU}

    responses = [
        anonymous.post("/registry/api/v1/records/", body, format="json"),
        wrong_key.post("/registry/api/v1/records/", body, format="json"),
        verify_only.post("/registry/api/v1/records/", body, format="json"),
    ]

    assert [r.status_code for r in responses] == [401, 401, 403]
    assert responses[1].json() == {
        "message": "unknown or inactive API key",
        "code": "authentication_failed",
        "extra": {},
    }
    assert responses[2].json()["message"] == "this client may not push"
    assert HukouRecord.objects.count() == 0
    assert ImportBatch.objects.count() == 0


def test_a_counter_record_is_inserted_then_unchanged_then_updated_with_counter_provenance():
    api = client_with("push")

    first = api.post(
        "/registry/api/v1/records/", {"source": "hukou", "record": HUKOU}, format="json"
    )
    again = api.post(
        "/registry/api/v1/records/", {"source": "hukou", "record": HUKOU}, format="json"
    )
    moved = api.post(
        "/registry/api/v1/records/",
        {"source": "hukou", "record": {**HUKOU, "registered_on": "2021-05-06"}},
        format="json",
    )

    assert (first.status_code, first.json()["outcome"]) == (201, "inserted")
    assert (again.status_code, again.json()["outcome"]) == (200, "unchanged")
    assert (moved.status_code, moved.json()["outcome"]) == (200, "updated")
    record = HukouRecord.objects.get()
    assert record.registered_on == date(2021, 5, 6)
    batch = ImportBatch.objects.get(pk=moved.json()["batch_id"])
    assert (batch.channel, batch.submitted_by, batch.rows_updated) == ("counter", "hr-440604", 1)
    assert ImportBatch.objects.count() == 2


@pytest.mark.parametrize(
    ("change", "message", "field"),
    [
        (
            {"id_number": BAD_CHECK},
            "id_number: the check character does not match (GB 11643)",
            "id_number",
        ),
        (
            {"registered_on": "2023-02-30"},
            "registered_on: impossible date 2023-02-30",
            "registered_on",
        ),
        ({"sex": "X"}, "sex: must be M or F", "sex"),
    ],
)
def test_a_rejected_counter_record_says_why_writes_nothing_and_never_shows_the_number(
    change, message, field, caplog
):
    api = client_with("push")
    caplog.set_level(logging.DEBUG)

    response = api.post(
        "/registry/api/v1/records/",
        {"source": "hukou", "record": {**HUKOU, **change}},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "message": message,
        "code": "record_invalid",
        "extra": {"field": field},
    }
    assert HukouRecord.objects.count() == 0
    assert ImportBatch.objects.count() == 0
    for number in (CHILD, BAD_CHECK):
        assert number not in response.content.decode()
        assert number not in caplog.text


def test_a_rejected_property_share_is_refused():
    api = client_with("push")

    response = api.post(
        "/registry/api/v1/records/",
        {
            "source": "property",
            "record": {
                "certificate_no": "C1",
                "owner_id_number": MOTHER,
                "share_percent": "0",
                "community_code": "440604010003",
                "registered_on": "2019-01-01",
            },
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["message"] == "share_percent: must be more than 0 and at most 100"


def _registry_facts():
    child = HukouRecordFactory(
        id_number=CHILD, hukou_district_code="440604", registered_on=date(2019, 6, 15)
    )
    # Both parents share the child's household: related guardians, whose facts count.
    for parent in (FATHER, MOTHER):
        HukouRecordFactory(id_number=parent, household_no=child.household_no)
    PropertyRecordFactory(owner_id_number=MOTHER, share_percent=Decimal("60"))
    ResidencePermitRecordFactory(id_number=FATHER)
    for month in range(1, 13):
        SocialInsuranceRecordFactory(id_number=FATHER, month=date(2026, month, 1))


def _without_audit_ids(answers: list[dict]) -> list[dict]:
    return [{**answer, "audit_entry_id": None} for answer in answers]


def test_http_answers_are_the_in_process_answers(education_bureau):
    _registry_facts()
    api = api_with(education_bureau.api_key)
    questions = [question("A1"), question("A2")]
    context = LookupContext(client_id="edu-440604", purpose="enrollment-2027")

    response = api.post(
        "/registry/api/v1/verify/families/",
        {"questions": [to_json(q) for q in questions]},
        format="json",
        HTTP_X_ROAD_CLIENT="edu-440604",
        HTTP_X_ROAD_PURPOSE="enrollment-2027",
    )
    in_process = verify_families(questions=questions, context=context)

    assert response.status_code == 200
    answers = response.json()["answers"]
    assert _without_audit_ids(answers) == _without_audit_ids(to_json(in_process))
    assert answers[0]["housing"]["owned_share_percent"] == "60.00"
    assert answers[0]["social_insurance"]["qualifying_months"] == 12
    assert [r["guardian_index"] for r in answers[0]["related_guardians"]] == [0, 1]
    assert AuditEntry.objects.filter(outcome="answered", client_id="edu-440604").count() == 4


@pytest.mark.django_db(transaction=True)
def test_the_enrollment_http_gateway_reads_the_live_api(live_server, education_bureau):
    _registry_facts()
    gateway = HttpRegistryGateway(live_server.url + "/registry/api/v1", education_bureau.api_key)
    context = LookupContext(client_id="edu-440604", purpose="enrollment-2027")

    over_http = gateway.verify_families(questions=[question()], context=context)
    in_process = verify_families(questions=[question()], context=context)
    lookups = gateway.lookups_about(id_numbers=[CHILD])

    assert [a.__class__(**{**a.__dict__, "audit_entry_id": None}) for a in over_http] == [
        a.__class__(**{**a.__dict__, "audit_entry_id": None}) for a in in_process
    ]
    assert [(row.client_id, row.purpose, row.outcome) for row in lookups] == [
        ("edu-440604", "enrollment-2027", "answered"),
        ("edu-440604", "enrollment-2027", "answered"),
    ]
    with pytest.raises(LookupRefused) as refused:
        gateway.verify_families(
            questions=[question()], context=LookupContext(client_id="edu-440604", purpose="")
        )
    assert refused.value.code == "PURPOSE_MISSING"


@pytest.mark.parametrize(
    ("purpose", "consent", "code"),
    [("", "consent-1", "PURPOSE_MISSING"), ("enrollment-2027", "", "CONSENT_MISSING")],
)
def test_http_lookup_without_purpose_or_consent_is_refused_audited_and_unanswered(
    purpose, consent, code, caplog, education_bureau
):
    _registry_facts()
    api = api_with(education_bureau.api_key)
    caplog.set_level(logging.DEBUG)

    response = api.post(
        "/registry/api/v1/verify/families/",
        {"questions": [to_json(question(consent=consent))]},
        format="json",
        HTTP_X_ROAD_PURPOSE=purpose,
    )

    assert response.status_code == 403
    assert response.json()["code"] == code
    assert set(response.json()) == {"message", "code", "extra"}
    assert list(AuditEntry.objects.values_list("outcome", "client_id")) == [
        ("refused", "edu-440604")
    ]
    for number in (CHILD, MOTHER, FATHER):
        assert number not in response.content.decode()
        assert number not in caplog.text


def test_verify_needs_the_verify_scope_and_a_matching_client_header(education_bureau):
    _registry_facts()
    pusher = client_with("push", client_id="hr-440604")
    verifier = api_with(education_bureau.api_key)
    body = {"questions": [to_json(question())]}

    denied = pusher.post(
        "/registry/api/v1/verify/families/", body, format="json", HTTP_X_ROAD_PURPOSE="p"
    )
    mismatch = verifier.post(
        "/registry/api/v1/verify/families/",
        body,
        format="json",
        HTTP_X_ROAD_PURPOSE="p",
        HTTP_X_ROAD_CLIENT="someone-else",
    )

    assert (denied.status_code, mismatch.status_code) == (403, 403)
    assert mismatch.json()["code"] == "CLIENT_MISMATCH"
    assert AuditEntry.objects.count() == 0


def test_audit_lookups_need_the_audit_scope(education_bureau):
    DepartmentClient.objects.filter(pk=education_bureau.client.pk).update(scopes=["verify"])
    verifier = api_with(education_bureau.api_key)
    auditor = client_with("audit", client_id="dsj-440604")
    verifier.post(
        "/registry/api/v1/verify/families/",
        {"questions": [to_json(question())]},
        format="json",
        HTTP_X_ROAD_PURPOSE="enrollment-2027",
    )

    denied = verifier.post(
        "/registry/api/v1/audit/lookups/", {"id_numbers": [CHILD]}, format="json"
    )
    allowed = auditor.post(
        "/registry/api/v1/audit/lookups/", {"id_numbers": [MOTHER]}, format="json"
    )

    assert denied.status_code == 403
    assert allowed.status_code == 200
    (lookup,) = allowed.json()["lookups"]
    assert (
        lookup["client_id"],
        lookup["client_name"],
        lookup["consent_reference"],
        lookup["outcome"],
    ) == ("edu-440604", "禅城区教育局", "consent-1", "answered")


def test_the_openapi_schema_describes_the_registry_api():
    response = APIClient().get("/api/schema/", {"format": "json"})

    paths = response.json()["paths"]
    assert {
        "/registry/api/v1/verify/families/",
        "/registry/api/v1/audit/lookups/",
        "/registry/api/v1/records/",
    } <= set(paths)
    assert "DepartmentApiKey" in response.json()["components"]["securitySchemes"]


def test_create_department_client_refuses_an_unknown_scope():
    with pytest.raises(
        CommandError, match="unknown scope admin: one of audit, identity, plan, push, verify"
    ):
        call_command(
            "create_department_client",
            "--client-id",
            "x",
            "--name",
            "n",
            "--scopes",
            "verify,admin",
        )
    assert not DepartmentClient.objects.filter(client_id="x").exists()


def test_a_social_insurance_month_pushed_with_json_booleans_is_taken():
    api = client_with("push")

    response = api.post(
        "/registry/api/v1/records/",
        {
            "source": "social_insurance",
            "record": {"id_number": FATHER, "month": "2026-05", "pension": True, "medical": 1},
        },
        format="json",
    )

    assert (response.status_code, response.json()["outcome"]) == (201, "inserted")
    assert list(SocialInsuranceRecord.objects.values_list("month", "pension", "medical")) == [
        (date(2026, 5, 1), True, True)
    ]


def test_a_relation_accepted_for_an_adult_not_asked_about_is_refused_and_nothing_looked_up(
    education_bureau,
):
    _registry_facts()
    api = api_with(education_bureau.api_key)
    body = {**to_json(question("A1")), "related_on_evidence": [2]}

    response = api.post(
        "/registry/api/v1/verify/families/",
        {"questions": [body]},
        format="json",
        HTTP_X_ROAD_CLIENT="edu-440604",
        HTTP_X_ROAD_PURPOSE="enrollment-2027",
    )

    assert response.status_code == 400
    assert "related_on_evidence" in response.json()["message"]
    assert not AuditEntry.objects.exists()
