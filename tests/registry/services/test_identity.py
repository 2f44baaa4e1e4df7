"""The registry's identity question (二要素核验): yes or no, consented, audited, no oracle."""

import logging
from datetime import date

import pytest
from rest_framework.test import APIClient

from enrollment.consent_tokens import identity_consent_token_sign
from enrollment.gateway import HttpRegistryGateway
from registry import idnumber
from registry.contract import (
    PURPOSE_ACCOUNT_IDENTITY,
    IdentityAnswer,
    IdentityQuestion,
    LookupContext,
    LookupRefused,
    to_json,
)
from registry.models import AuditEntry
from registry.selectors import lookups_about
from registry.services.clients import department_client_create
from registry.services.identity import name_key, verify_identities
from tests.registry.factories import HukouRecordFactory

pytestmark = pytest.mark.django_db

MOTHER = idnumber.make("440604", date(1990, 7, 1), 222)
UNKNOWN = idnumber.make("440604", date(1985, 2, 3), 456)
CONTEXT = LookupContext(client_id="edu-440604", purpose=PURPOSE_ACCOUNT_IDENTITY)


def question(id_number=MOTHER, name="李美玲", key="I-1", token_for=None) -> IdentityQuestion:
    return IdentityQuestion(
        key=key,
        consent_reference=key,
        end_user="user:7",
        id_number=id_number,
        name=name,
        consent_token=identity_consent_token_sign(
            consent_reference=key, id_number=token_for or id_number
        ),
    )


@pytest.fixture
def mother_on_record():
    return HukouRecordFactory(id_number=MOTHER, name="李美玲")


def test_a_matching_name_is_yes_and_the_answer_is_audited_about_the_person(mother_on_record):
    (answer,) = verify_identities(questions=[question()], context=CONTEXT)

    entry = AuditEntry.objects.get()
    assert answer == IdentityAnswer(key="I-1", matches=True, audit_entry_id=entry.id)
    assert (entry.outcome, entry.purpose, entry.consent_reference, entry.end_user) == (
        "answered",
        "account-identity-verification",
        "I-1",
        "user:7",
    )
    assert [(r.purpose, r.outcome) for r in lookups_about(id_numbers=[MOTHER])] == [
        ("account-identity-verification", "answered")
    ]


def test_a_wrong_name_and_a_number_with_no_record_get_the_same_no(mother_on_record):
    wrong_name, unknown = verify_identities(
        questions=[question(name="李美丽", key="I-1"), question(UNKNOWN, key="I-2")],
        context=CONTEXT,
    )

    assert (wrong_name.matches, unknown.matches) == (False, False)
    assert (
        to_json(wrong_name).keys()
        == to_json(unknown).keys()
        == {
            "key",
            "matches",
            "audit_entry_id",
        }
    )
    assert AuditEntry.objects.filter(outcome="answered").count() == 2


def test_names_compare_without_spaces_width_or_the_kind_of_middle_dot():
    assert name_key(" 李 美玲 ") == name_key("李美玲")
    assert name_key("艾力·买买提") == name_key("艾力•买买提") == name_key("艾力．买买提")
    assert name_key("ＡＢＣ") == name_key("abc")
    assert name_key("李美玲") != name_key("李美丽")


def test_a_token_for_another_person_is_refused_audited_and_unanswered(mother_on_record):
    with pytest.raises(LookupRefused) as refused:
        verify_identities(questions=[question(token_for=UNKNOWN)], context=CONTEXT)

    assert refused.value.code == "CONSENT_SUBJECT_NOT_COVERED"
    entry = AuditEntry.objects.get()
    assert entry.outcome == "refused"
    assert entry.refusal_reason.startswith("CONSENT_SUBJECT_NOT_COVERED: ")
    assert entry.answer_hash == ""


def test_a_token_for_the_enrollment_purpose_does_not_check_an_identity(mother_on_record):
    with pytest.raises(LookupRefused) as refused:
        verify_identities(
            questions=[question()],
            context=LookupContext(client_id="edu-440604", purpose="primary-enrollment-eligibility"),
        )

    assert refused.value.code == "CONSENT_PURPOSE_MISMATCH"
    assert list(AuditEntry.objects.values_list("outcome", flat=True)) == ["refused"]


def test_over_http_the_question_needs_the_identity_scope(education_bureau, caplog):
    HukouRecordFactory(id_number=MOTHER, name="李美玲")
    _, without = department_client_create(client_id="hr-440604", name="人社", scopes=["verify"])
    caplog.set_level(logging.DEBUG)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {without}")

    response = api.post(
        "/registry/api/v1/verify/identities/",
        {"questions": [to_json(question())]},
        format="json",
        HTTP_X_ROAD_PURPOSE=PURPOSE_ACCOUNT_IDENTITY,
    )

    assert response.status_code == 403
    assert AuditEntry.objects.count() == 0
    assert MOTHER not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_the_http_gateway_gets_the_in_process_answers(live_server, education_bureau):
    HukouRecordFactory(id_number=MOTHER, name="李美玲")
    gateway = HttpRegistryGateway(live_server.url + "/registry/api/v1", education_bureau.api_key)
    questions = [
        question(key="I-1"),
        question(name="李美丽", key="I-2"),
        question(UNKNOWN, key="I-3"),
    ]

    over_http = gateway.verify_identities(questions=questions, context=CONTEXT)
    in_process = verify_identities(questions=questions, context=CONTEXT)

    assert (
        [(a.key, a.matches) for a in over_http]
        == [(a.key, a.matches) for a in in_process]
        == [("I-1", True), ("I-2", False), ("I-3", False)]
    )
    assert all(a.audit_entry_id for a in over_http)
    with pytest.raises(LookupRefused) as refused:
        gateway.verify_identities(
            questions=questions, context=LookupContext(client_id="edu-440604", purpose="")
        )
    assert refused.value.code == "PURPOSE_MISSING"
    assert AuditEntry.objects.filter(outcome="refused").count() == 3


def test_the_openapi_schema_describes_the_identity_question():
    paths = APIClient().get("/api/schema/", {"format": "json"}).json()["paths"]

    assert {"/registry/api/v1/verify/identities/", "/api/v1/me/identity/"} <= set(paths)
