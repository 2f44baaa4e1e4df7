"""Consent tokens: the registry answers only a question whose consent the asking department
signed, for that client, that purpose, those people, and not past its expiry. Each refusal is
audited with its code, in-process and over HTTP alike."""

import base64
import dataclasses
import io
import json
import logging
import time
from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from enrollment.consent_tokens import consent_public_key
from enrollment.gateway import HttpRegistryGateway
from registry import idnumber
from registry.consent import CONSENT_REFUSALS, TOKEN_MAX_LENGTH, public_key_text, subject_digest
from registry.contract import FamilyQuestion, LookupContext, LookupRefused, to_json
from registry.models import AuditEntry, AuditSubject, DepartmentClient
from registry.services.audit import audit_chain_verify
from registry.services.audit import subject_digest as audit_digest
from registry.services.clients import (
    department_client_consent_key_add,
    department_client_consent_key_retire,
    department_client_create,
)
from registry.services.verification import verify_families
from tests.registry.factories import (
    DepartmentClientFactory,
    HukouRecordFactory,
    PropertyRecordFactory,
    related_family,
    signed,
)

pytestmark = pytest.mark.django_db

CHILD = idnumber.make("440604", date(2020, 3, 15), 123)
MOTHER = idnumber.make("440604", date(1990, 7, 1), 222)
FATHER = idnumber.make("445202", date(1988, 1, 1), 111)
STRANGER = idnumber.make("440604", date(1985, 2, 2), 333)
PURPOSE = "primary-enrollment-eligibility"
CONTEXT = LookupContext(client_id="edu-440604", purpose=PURPOSE)
VERIFY_URL = "/registry/api/v1/verify/families/"
OTHER_KEY = Ed25519PrivateKey.generate()


def unsigned(key="A1", consent="C-A1-0001", guardians=(MOTHER, FATHER)) -> FamilyQuestion:
    return FamilyQuestion(
        key=key,
        consent_reference=consent,
        end_user="user:7",
        child_id_number=CHILD,
        guardian_id_numbers=tuple(guardians),
        home_community_code="440604010003",
        cutoff=date(2027, 3, 31),
        district_code="440604",
        city_code="4406",
    )


def question(**signing) -> FamilyQuestion:
    """A1 with the education bureau's token, changed as `signing` says."""
    return signed(unsigned(), **{"purpose": PURPOSE, **signing})


def hr_client() -> DepartmentClient:
    """Another department, with a consent key of its own."""
    return DepartmentClientFactory(
        client_id="hr-440604",
        name="禅城区人力资源和社会保障局",
        consent_public_keys=[public_key_text(OTHER_KEY.public_key())],
    )


def _fake() -> FamilyQuestion:
    return unsigned(consent="C-FAKE-0001")


def _malformed() -> FamilyQuestion:
    return dataclasses.replace(question(), consent_token="ct1.eyJjb25zZW50IjoxfQ.AAAA")


def _other_key() -> FamilyQuestion:
    return question(key=OTHER_KEY)


def _expired() -> FamilyQuestion:
    return question(now=time.time() - 15 * 60 - 1)


def _other_purpose() -> FamilyQuestion:
    return question(purpose="resident-services-check")


def _person_not_covered() -> FamilyQuestion:
    # The family consented for the child and the mother; the question also names a stranger.
    return signed(
        unsigned(guardians=(MOTHER, STRANGER)), purpose=PURPOSE, people=(CHILD, MOTHER, FATHER)
    )


def _another_child() -> FamilyQuestion:
    return question(people=(STRANGER, MOTHER, FATHER))


def _another_clients_token() -> FamilyQuestion:
    hr_client()
    return question(client_id="hr-440604", key=OTHER_KEY)


def _another_consent() -> FamilyQuestion:
    return question(consent="C-A2-0002")


REFUSALS = [
    pytest.param(_fake, "CONSENT_TOKEN_MISSING", id="invented-C-FAKE-0001-unsigned"),
    pytest.param(_malformed, "CONSENT_TOKEN_MALFORMED", id="malformed"),
    pytest.param(_other_key, "CONSENT_SIGNATURE_INVALID", id="signed-by-another-key"),
    pytest.param(_expired, "CONSENT_EXPIRED", id="expired"),
    pytest.param(_other_purpose, "CONSENT_PURPOSE_MISMATCH", id="another-purpose"),
    pytest.param(_person_not_covered, "CONSENT_SUBJECT_NOT_COVERED", id="guardian-not-covered"),
    pytest.param(_another_child, "CONSENT_SUBJECT_NOT_COVERED", id="child-not-covered"),
    pytest.param(_another_clients_token, "CONSENT_CLIENT_MISMATCH", id="another-clients-token"),
    pytest.param(_another_consent, "CONSENT_REFERENCE_MISMATCH", id="another-consent-id"),
]


@pytest.fixture
def facts(db):
    """Registry facts an answer would disclose, were the lookup answered."""
    related_family(CHILD, MOTHER, hukou_district_code="440604")
    PropertyRecordFactory(owner_id_number=MOTHER, community_code="440604010003")


def assert_refusal_audited(asked: FamilyQuestion, code: str) -> None:
    """One refused entry with the code and the reason, about the question's people; nothing
    answered; the chain intact."""
    entry = AuditEntry.objects.get()
    assert (entry.outcome, entry.client_id, entry.purpose, entry.consent_reference) == (
        "refused",
        CONTEXT.client_id,
        CONTEXT.purpose,
        asked.consent_reference,
    )
    assert entry.refusal_reason == f"{code}: question A1: {CONSENT_REFUSALS[code]}"
    people = (asked.child_id_number, *asked.guardian_id_numbers)
    assert sorted(AuditSubject.objects.values_list("digest", flat=True)) == sorted(
        audit_digest(number) for number in people
    )
    report = audit_chain_verify()
    assert (report.intact, report.entries) == (True, 1)


# --- in-process -----------------------------------------------------------------------------


@pytest.mark.parametrize(("make", "code"), REFUSALS)
def test_an_invented_forged_expired_or_mismatched_consent_is_refused_and_audited(
    facts, make, code, django_capture_on_commit_callbacks
):
    asked = make()

    # Committed, so that the audit log's anchor is written as outside a test's transaction.
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(LookupRefused) as refused:
        verify_families(questions=[asked], context=CONTEXT)

    assert refused.value.code == code
    assert str(refused.value) == f"question A1: {CONSENT_REFUSALS[code]}"
    assert_refusal_audited(asked, code)


def test_a_client_with_no_registered_key_has_every_question_refused(
    facts, education_bureau, django_capture_on_commit_callbacks
):
    DepartmentClient.objects.filter(pk=education_bureau.client.pk).update(consent_public_keys=[])
    asked = question()

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(LookupRefused) as refused:
        verify_families(questions=[asked], context=CONTEXT)

    assert refused.value.code == "CONSENT_KEY_UNKNOWN"
    assert_refusal_audited(asked, "CONSENT_KEY_UNKNOWN")


def test_an_inactive_client_has_no_key(facts, education_bureau):
    DepartmentClient.objects.filter(pk=education_bureau.client.pk).update(is_active=False)

    with pytest.raises(LookupRefused) as refused:
        verify_families(questions=[question()], context=CONTEXT)

    assert refused.value.code == "CONSENT_KEY_UNKNOWN"


def test_a_valid_token_is_answered_and_audited_as_answered(facts):
    (answer,) = verify_families(questions=[question()], context=CONTEXT)

    assert (answer.key, answer.child_hukou.hukou_class) == ("A1", "D")
    assert answer.housing.owned_share_percent == 100
    entry = AuditEntry.objects.get()
    assert (entry.outcome, entry.refusal_reason, entry.consent_reference) == (
        "answered",
        "",
        "C-A1-0001",
    )


def test_a_question_may_ask_about_fewer_guardians_than_the_consent_covers(facts):
    asked = signed(unsigned(guardians=(MOTHER,)), purpose=PURPOSE, people=(CHILD, MOTHER, FATHER))

    (answer,) = verify_families(questions=[asked], context=CONTEXT)

    assert answer.housing.owned_share_percent == 100


def test_one_bad_consent_refuses_the_whole_batch_and_every_question_is_audited(facts):
    good = signed(unsigned(key="A0", consent="C-A0-0000"), purpose=PURPOSE)
    bad = _expired()

    with pytest.raises(LookupRefused) as refused:
        verify_families(questions=[good, bad], context=CONTEXT)

    assert refused.value.code == "CONSENT_EXPIRED"
    reason = f"CONSENT_EXPIRED: question A1: {CONSENT_REFUSALS['CONSENT_EXPIRED']}"
    assert list(
        AuditEntry.objects.order_by("id").values_list(
            "outcome", "consent_reference", "refusal_reason"
        )
    ) == [("refused", "C-A0-0000", reason), ("refused", "C-A1-0001", reason)]


def test_the_token_names_people_by_digest_never_by_id_number():
    token = question().consent_token
    prefix, payload, _signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))

    assert prefix == "ct1"
    assert claims["consent"] == "C-A1-0001"
    assert claims["child"] == subject_digest("C-A1-0001", CHILD)
    assert claims["guardians"] == [
        subject_digest("C-A1-0001", MOTHER),
        subject_digest("C-A1-0001", FATHER),
    ]
    assert (claims["purpose"], claims["client"], claims["exp"] - claims["iat"]) == (
        PURPOSE,
        "edu-440604",
        15 * 60,
    )
    for number in (CHILD, MOTHER, FATHER):
        assert number not in token
        assert number not in json.dumps(claims)


# --- keys: registration and rotation --------------------------------------------------------


def test_a_rotation_accepts_both_keys_until_the_old_one_is_retired(facts):
    new_key = Ed25519PrivateKey.generate()
    new_public = public_key_text(new_key.public_key())
    department_client_consent_key_add(client_id="edu-440604", public_key=new_public)

    answered = verify_families(
        questions=[question(), signed(unsigned(key="A2"), purpose=PURPOSE, key=new_key)],
        context=CONTEXT,
    )
    department_client_consent_key_retire(client_id="edu-440604", public_key=consent_public_key())
    with pytest.raises(LookupRefused) as refused:
        verify_families(questions=[question()], context=CONTEXT)

    assert [a.key for a in answered] == ["A1", "A2"]
    assert refused.value.code == "CONSENT_SIGNATURE_INVALID"
    assert DepartmentClient.objects.get(client_id="edu-440604").consent_public_keys == [new_public]


def test_create_department_client_registers_the_consent_key_and_prints_what_it_always_did():
    public = public_key_text(OTHER_KEY.public_key())
    out = io.StringIO()

    call_command(
        "create_department_client",
        "--client-id",
        "hr-440604",
        "--name",
        "禅城区人力资源和社会保障局",
        "--scopes",
        "verify",
        "--consent-public-key",
        f"  {public}\n",
        stdout=out,
    )

    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0] == "client hr-440604 (verify) created; its API key, shown only now:"
    client = DepartmentClient.objects.get(client_id="hr-440604")
    assert client.consent_public_keys == [public]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("not base64!", "the consent public key is not usable: a consent key is 32 bytes "
         "written in base64"),
        (base64.b64encode(b"short").decode(), "the consent public key is not usable: a consent "
         "key is 32 bytes written in base64; this one is 5 bytes"),
    ],
)  # fmt: skip
def test_create_department_client_refuses_an_unusable_consent_key(key, message):
    with pytest.raises(CommandError) as error:
        call_command(
            "create_department_client",
            "--client-id",
            "hr-440604",
            "--name",
            "n",
            "--scopes",
            "verify",
            "--consent-public-key",
            key,
        )

    assert str(error.value) == message
    assert not DepartmentClient.objects.filter(client_id="hr-440604").exists()


def test_department_consent_key_adds_and_retires_keys():
    public = public_key_text(OTHER_KEY.public_key())
    added, retired = io.StringIO(), io.StringIO()

    call_command(
        "department_consent_key", "--client-id", "edu-440604", "--add", public, stdout=added
    )
    call_command(
        "department_consent_key",
        "--client-id",
        "edu-440604",
        "--retire",
        consent_public_key(),
        stdout=retired,
    )

    assert added.getvalue().splitlines() == [
        "client edu-440604 accepts consent tokens signed with 2 keys:",
        f"  {public}",
        f"  {consent_public_key()}",
    ]
    assert retired.getvalue().splitlines() == [
        "client edu-440604 accepts consent tokens signed with 1 key:",
        f"  {public}",
    ]
    with pytest.raises(CommandError, match="^client edu-440604 has no such consent key$"):
        call_command(
            "department_consent_key", "--client-id", "edu-440604", "--retire", consent_public_key()
        )
    with pytest.raises(CommandError, match="^there is no client nobody$"):
        call_command("department_consent_key", "--client-id", "nobody", "--add", public)


# --- over HTTP ------------------------------------------------------------------------------


def api_for(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return api


def post(api: APIClient, asked: FamilyQuestion, purpose: str = PURPOSE):
    return api.post(
        VERIFY_URL, {"questions": [to_json(asked)]}, format="json", HTTP_X_ROAD_PURPOSE=purpose
    )


@pytest.mark.parametrize(("make", "code"), REFUSALS)
def test_over_http_the_same_consents_are_refused_with_the_code_in_the_json_error(
    facts, education_bureau, make, code, caplog, django_capture_on_commit_callbacks
):
    asked = make()
    caplog.set_level(logging.DEBUG)

    with django_capture_on_commit_callbacks(execute=True):
        response = post(api_for(education_bureau.api_key), asked)

    assert response.status_code == 403
    assert response.json() == {
        "message": f"question A1: {CONSENT_REFUSALS[code]}",
        "code": code,
        "extra": {},
    }
    assert_refusal_audited(asked, code)
    for number in (CHILD, MOTHER, FATHER, STRANGER):
        assert number not in response.content.decode()
        assert number not in caplog.text


def test_over_http_a_valid_token_is_answered(facts, education_bureau):
    response = post(api_for(education_bureau.api_key), question())

    assert response.status_code == 200
    (answer,) = response.json()["answers"]
    assert (answer["key"], answer["child_hukou"]["hukou_class"]) == ("A1", "D")
    assert answer["housing"]["owned_share_percent"] == "100.00"
    assert list(AuditEntry.objects.values_list("outcome", flat=True)) == ["answered"]


def test_over_http_another_department_cannot_use_the_bureaus_token(facts):
    """The token names the education bureau; the human-resources client, with its own API key
    and its own consent key, presents it."""
    _, key = department_client_create(
        client_id="hr-440604",
        name="禅城区人力资源和社会保障局",
        scopes=["verify"],
        consent_public_key=public_key_text(OTHER_KEY.public_key()),
    )

    response = post(api_for(key), question())

    assert (response.status_code, response.json()["code"]) == (403, "CONSENT_CLIENT_MISMATCH")
    entry = AuditEntry.objects.get()
    assert (entry.outcome, entry.client_id) == ("refused", "hr-440604")
    assert entry.refusal_reason.startswith("CONSENT_CLIENT_MISMATCH: ")


def test_over_http_a_token_longer_than_any_real_one_is_invalid_input(facts, education_bureau):
    asked = dataclasses.replace(question(), consent_token="ct1." + "A" * TOKEN_MAX_LENGTH)

    response = post(api_for(education_bureau.api_key), asked)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["extra"]["errors"][0]["field"] == "questions.0.consent_token"
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_http_gateway_keeps_the_refusal_code_across_the_wire(live_server, education_bureau):
    HukouRecordFactory(id_number=CHILD, hukou_district_code="440604")
    gateway = HttpRegistryGateway(live_server.url + "/registry/api/v1", education_bureau.api_key)

    (answer,) = gateway.verify_families(questions=[question()], context=CONTEXT)
    with pytest.raises(LookupRefused) as refused:
        gateway.verify_families(questions=[_expired()], context=CONTEXT)

    assert answer.child_hukou.hukou_class == "D"
    assert refused.value.code == "CONSENT_EXPIRED"
    assert str(refused.value) == f"question A1: {CONSENT_REFUSALS['CONSENT_EXPIRED']}"
    assert list(AuditEntry.objects.order_by("id").values_list("outcome", flat=True)) == [
        "answered",
        "refused",
    ]
