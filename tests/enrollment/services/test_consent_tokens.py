"""The education bureau signs each question's consent token from the application's consent;
a token the registry cannot accept sends the application to an officer, audited."""

import base64
import io
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command

from enrollment.gateway import get_gateway
from enrollment.models import Consent, Decision, VerificationJob
from registry.consent import CONSENT_REFUSALS, public_key_text, subject_digest
from registry.models import AuditEntry
from tests.enrollment.pipeline_support import child_id, guardian_id, verify_all, worked_example

pytestmark = pytest.mark.django_db

DEVELOPMENT_PUBLIC_KEY = "TPj2WD1PwUepr4pSru8ousWe226rEy3RU/PjmwILoks="


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_each_question_carries_a_token_for_the_applications_own_consent(
    district, monkeypatch, settings
):
    # given: DOMAIN.md's example 2, a child and two guardians
    application = worked_example(2)
    gateway = get_gateway()
    real, asked = gateway.verify_families, []

    def recording(*, questions, context):
        asked.extend(questions)
        return real(questions=questions, context=context)

    monkeypatch.setattr(gateway, "verify_families", recording)

    # when
    result = verify_all()

    # then: the registry accepted it, and it says what the family consented to
    assert (result.decided, result.manual) == (1, 0)
    consent = application.consent
    (question,) = asked
    claims = _claims(question.consent_token)
    assert claims == {
        "consent": consent.reference,
        "child": subject_digest(consent.reference, child_id(1)),
        "guardians": [
            subject_digest(consent.reference, guardian_id(1)),
            subject_digest(consent.reference, guardian_id(501)),
        ],
        "purpose": Consent.PURPOSE_ENROLLMENT,
        "client": settings.REGISTRY_CLIENT_ID,
        "iat": claims["iat"],
        "exp": claims["iat"] + settings.CONSENT_TOKEN_SECONDS,
    }
    entry = AuditEntry.objects.get()
    assert (entry.outcome, entry.consent_reference) == ("answered", consent.reference)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        # The bureau signs with a key it never registered with the registry.
        ({"CONSENT_SIGNING_KEY": "TdDpwvLYR+mrglCKgmBZccQYA6knG+6Zk7x2kl70Tso="}, "CONSENT_SIGNATURE_INVALID"),
        # Tokens that expire as they are made: the registry's clock is past them.
        ({"CONSENT_TOKEN_SECONDS": 0}, "CONSENT_EXPIRED"),
        # The bureau asks as another client than the one its consents name.
        ({"REGISTRY_CLIENT_ID": "edu-440605"}, "CONSENT_KEY_UNKNOWN"),
    ],
)  # fmt: skip
def test_a_token_the_registry_refuses_sends_the_application_to_review_audited(
    district, settings, change, code
):
    application = worked_example(1)
    for name, value in change.items():
        setattr(settings, name, value)

    result = verify_all()

    assert (result.decided, result.manual) == (0, 1)
    job = VerificationJob.objects.get(application=application)
    assert (job.status, job.last_error) == ("manual", f"registry refused the lookup: {code}")
    application.refresh_from_db()
    assert application.state == "needs_review"
    event = application.events.last()
    assert (event.reason_code, event.reason_params) == ("lookup_refused", {"refusal": code})
    assert not Decision.objects.exists()
    entry = AuditEntry.objects.get()
    assert (entry.outcome, entry.client_id, entry.consent_reference, entry.refusal_reason) == (
        "refused",
        settings.REGISTRY_CLIENT_ID,
        application.consent.reference,
        f"{code}: question {application.ref}: {CONSENT_REFUSALS[code]}",
    )


def test_a_consent_given_for_another_purpose_does_not_cover_the_enrollment_lookup(district):
    application = worked_example(1)
    Consent.objects.filter(application=application).update(purpose="resident-services-check")

    result = verify_all()

    assert (result.decided, result.manual) == (0, 1)
    event = application.events.last()
    assert event.reason_params == {"refusal": "CONSENT_PURPOSE_MISMATCH"}
    assert AuditEntry.objects.get().refusal_reason.startswith("CONSENT_PURPOSE_MISMATCH: ")


def test_consent_signing_key_prints_the_public_key_to_register():
    out = io.StringIO()

    call_command("consent_signing_key", stdout=out)

    assert out.getvalue() == f"{DEVELOPMENT_PUBLIC_KEY}\n"


def test_consent_signing_key_new_makes_a_pair_that_belongs_together():
    out = io.StringIO()

    call_command("consent_signing_key", "--new", stdout=out)

    private_line, public_line = out.getvalue().splitlines()
    private = private_line.removeprefix("CONSENT_SIGNING_KEY=")
    public = public_line.removeprefix("public key, for the registry: ")
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(private))
    assert public_key_text(key.public_key()) == public
    assert public != DEVELOPMENT_PUBLIC_KEY
