"""The education bureau's side of consent tokens: signing what its registry questions carry.

The registry checks each question's token with the public key it registered for this
department (registry/consent.py has the format and the checks). The private key is
CONSENT_SIGNING_KEY; only this department holds it, so the registry cannot make up a
consent in the bureau's name, and a consent reference nobody signed is refused.
"""

import base64
import time
from collections.abc import Sequence
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings

from registry.consent import (
    PlanningClaims,
    area_digest,
    consent_claims,
    key_bytes,
    planning_token_signing_input,
    public_key_text,
    token_assemble,
    token_signing_input,
)
from registry.contract import PURPOSE_ACCOUNT_IDENTITY, PURPOSE_PLANNING


@lru_cache(maxsize=4)
def _private_key(text: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(key_bytes(text))


def signing_key() -> Ed25519PrivateKey:
    """The configured key (CONSENT_SIGNING_KEY), loaded once per process."""
    return _private_key(settings.CONSENT_SIGNING_KEY)


def consent_public_key() -> str:
    """The public half of the configured key, as the registry registers it."""
    return public_key_text(signing_key().public_key())


def consent_key_pair_new() -> tuple[str, str]:
    """A fresh (private, public) pair as text: the private one for CONSENT_SIGNING_KEY, the
    public one for the registry."""
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(raw).decode("ascii"), public_key_text(key.public_key())


def consent_token_sign(
    *,
    consent_reference: str,
    child_id_number: str,
    guardian_id_numbers: Sequence[str],
    purpose: str,
    client_id: str | None = None,
    now: float | None = None,
    key: Ed25519PrivateKey | None = None,
) -> str:
    """A token for one consent: the people it covers, its purpose and the asking client
    (REGISTRY_CLIENT_ID unless named), valid for CONSENT_TOKEN_SECONDS from `now`.

    Signed when a verification batch builds its questions, once per consent per batch: one
    Ed25519 signature and an HMAC per person, 0.08 ms of CPU on the 2-core benchmark
    machine (bench/verification.py `consent_sign`: 0.8 s for 9,927), some 16 s of the
    workers' time for a city's 200,000 applications. Signing then rather than at submission
    keeps each token short-lived and needs no stored copy that a re-check would find
    expired.
    """
    issued_at = int(time.time() if now is None else now)
    claims = consent_claims(
        consent_reference=consent_reference,
        child_id_number=child_id_number,
        guardian_id_numbers=guardian_id_numbers,
        purpose=purpose,
        client_id=settings.REGISTRY_CLIENT_ID if client_id is None else client_id,
        issued_at=issued_at,
        expires_at=issued_at + settings.CONSENT_TOKEN_SECONDS,
    )
    signed = token_signing_input(claims)
    return token_assemble(signed, (key or signing_key()).sign(signed))


def identity_consent_token_sign(
    *, consent_reference: str, id_number: str, now: float | None = None
) -> str:
    """The token for an identity question: the person's own consent to have their name
    checked against their hukou record. The token names that one person (in the place of
    the child a family question names) and no others."""
    return consent_token_sign(
        consent_reference=consent_reference,
        child_id_number=id_number,
        guardian_id_numbers=(),
        purpose=PURPOSE_ACCOUNT_IDENTITY,
        now=now,
    )


def planning_token_sign(
    *,
    consent_reference: str,
    area_code: str,
    community_codes: Sequence[str],
    admission_years: Sequence[int],
    client_id: str | None = None,
    now: float | None = None,
    key: Ed25519PrivateKey | None = None,
) -> str:
    """A token for one planning question: the bureau's signed word that it asks, for
    planning, about exactly these communities of this area and these entry cohorts
    (registry/consent.py, planning tokens). Valid for CONSENT_TOKEN_SECONDS from `now`.

    No family consents to a planning question, and none is needed: it names no person, and
    the registry answers it with counts only, withholding counts small enough to point at a
    family. The consent reference names the planning request instead, so that the registry's
    audit entry and the bureau's own record of the request can be matched.
    """
    issued_at = int(time.time() if now is None else now)
    claims = PlanningClaims(
        consent_reference=consent_reference,
        area=area_digest(consent_reference, area_code, community_codes, admission_years),
        purpose=PURPOSE_PLANNING,
        client_id=settings.REGISTRY_CLIENT_ID if client_id is None else client_id,
        issued_at=issued_at,
        expires_at=issued_at + settings.CONSENT_TOKEN_SECONDS,
    )
    signed = planning_token_signing_input(claims)
    return token_assemble(signed, (key or signing_key()).sign(signed))
