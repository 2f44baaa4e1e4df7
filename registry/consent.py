"""Consent tokens: the asking department's signed word that a family consented to a lookup.

A question names a consent reference; on its own that is a string anyone can invent. So each
question also carries a token that the asking department signs with its Ed25519 key and the
registry checks with the public key it registered for that department: an asymmetric key,
so that the registry can check a department's consents but cannot make one up itself.

    ct1.<payload>.<signature>          (both parts base64url, unpadded)

The payload is compact JSON:

    {"consent": "C-A000123-1a2b3c4d",  the consent id, as the question's consent_reference
     "child": "<digest>",              the child the family consented for (for an identity
                                       question: the one person it asks about)
     "guardians": ["<digest>", ...],   the guardians named in the consent
     "purpose": "primary-enrollment-eligibility",
     "client": "edu-440604",           the department client that may use it
     "iat": 1807500000, "exp": 1807500900}   issued and expiry, Unix seconds

and the signature covers the ASCII text `ct1.<payload>`. People appear as digests, not ID
numbers: HMAC-SHA256 keyed with the consent id, first 16 bytes. The registry digests the
numbers in the question the same way and compares, which is all that checking coverage
needs; a token copied into a log or a ticket then shows no ID number. The digests are
pseudonyms, not secrets: ID numbers are few enough (an address code, a birth date, three
digits) that someone holding a token could find them by trying every candidate, so a token
stays personal data.

A planning question (counts of children, about nobody) carries a token of its own kind,
`pt1`, that names the area and cohorts asked instead of people: see "planning tokens" below.

Plain Python and `cryptography`, no database: both sides import this module (the registry to
check, enrollment to build what it signs), as they share `registry.contract`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from registry import idnumber
from registry.contract import (
    CohortQuestion,
    FamilyQuestion,
    IdentityQuestion,
    LookupContext,
    LookupRefused,
    RefusalCode,
)

TOKEN_PREFIX = "ct1"  # noqa: S105 - the format's name and version, not a secret
# A token for a child and four guardians with long ids is under 900 characters; anything
# much longer is not one, and is refused before it is decoded.
TOKEN_MAX_LENGTH = 2048
_DIGEST_BYTES = 16
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")

# What each refusal says, after "question <key>: ". No ID number, no consent id (the audit
# entry holds the consent reference in its own column).
CONSENT_REFUSALS = {
    RefusalCode.CONSENT_TOKEN_MISSING: "the consent carries no token signed by the asking "
    "department",
    RefusalCode.CONSENT_TOKEN_MALFORMED: "the consent token cannot be read",
    RefusalCode.CONSENT_CLIENT_MISMATCH: "the consent token was issued to another client",
    RefusalCode.CONSENT_KEY_UNKNOWN: "the registry holds no consent key for this client",
    RefusalCode.CONSENT_SIGNATURE_INVALID: "the consent token is not signed with this "
    "client's registered key",
    RefusalCode.CONSENT_EXPIRED: "the consent token has expired",
    RefusalCode.CONSENT_REFERENCE_MISMATCH: "the consent token names another consent",
    RefusalCode.CONSENT_PURPOSE_MISMATCH: "the consent token is for another purpose",
    RefusalCode.CONSENT_SUBJECT_NOT_COVERED: "the consent does not cover every person in "
    "the question",
    RefusalCode.CONSENT_AREA_NOT_COVERED: "the consent token names other communities or "
    "other cohorts than the question",
}


class ConsentKeyInvalid(ValueError):
    """A public key as text is not an Ed25519 public key; the message says what it is not."""


@dataclass(frozen=True)
class ConsentClaims:
    """What a token says. `child` and `guardians` are `subject_digest`s, never ID numbers."""

    consent_reference: str
    child: str
    guardians: tuple[str, ...]
    purpose: str
    client_id: str
    issued_at: int
    expires_at: int


def subject_digest(consent_reference: str, id_number: str) -> str:
    keyed = hmac.new(
        consent_reference.encode(), idnumber.normalise(id_number).encode(), hashlib.sha256
    )
    return _b64encode(keyed.digest()[:_DIGEST_BYTES])


def consent_claims(
    *,
    consent_reference: str,
    child_id_number: str,
    guardian_id_numbers: Sequence[str],
    purpose: str,
    client_id: str,
    issued_at: int,
    expires_at: int,
) -> ConsentClaims:
    return ConsentClaims(
        consent_reference=consent_reference,
        child=subject_digest(consent_reference, child_id_number),
        guardians=tuple(subject_digest(consent_reference, g) for g in guardian_id_numbers),
        purpose=purpose,
        client_id=client_id,
        issued_at=int(issued_at),
        expires_at=int(expires_at),
    )


def token_signing_input(claims: ConsentClaims) -> bytes:
    """The bytes the department signs: `ct1.<payload>`."""
    payload = {
        "consent": claims.consent_reference,
        "child": claims.child,
        "guardians": list(claims.guardians),
        "purpose": claims.purpose,
        "client": claims.client_id,
        "iat": claims.issued_at,
        "exp": claims.expires_at,
    }
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return f"{TOKEN_PREFIX}.{_b64encode(text.encode())}".encode("ascii")


def token_assemble(signing_input: bytes, signature: bytes) -> str:
    return f"{signing_input.decode('ascii')}.{_b64encode(signature)}"


class _Malformed(ValueError):
    pass


def _token_decode(token: str, prefix: str) -> tuple[dict, bytes, bytes]:
    """A `<prefix>.<payload>.<signature>` token's payload, signed bytes and signature,
    unchecked; _Malformed when it is not one."""
    if len(token) > TOKEN_MAX_LENGTH:
        raise _Malformed("too long")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != prefix:
        raise _Malformed(f"not {prefix}.<payload>.<signature>")
    payload_text, signature_text = parts[1], parts[2]
    if not (_BASE64URL.match(payload_text) and _BASE64URL.match(signature_text)):
        raise _Malformed("not base64url")
    try:
        payload = json.loads(_b64decode(payload_text))
        signature = _b64decode(signature_text)
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError):
        raise _Malformed("undecodable") from None
    if not isinstance(payload, dict) or len(signature) != 64:
        raise _Malformed("wrong shape")
    return payload, f"{prefix}.{payload_text}".encode("ascii"), signature


def token_read(token: str) -> tuple[ConsentClaims, bytes, bytes]:
    """The claims, the signed bytes and the signature, unchecked; _Malformed when unreadable."""
    payload, signed, signature = _token_decode(token, TOKEN_PREFIX)
    strings = ("consent", "child", "purpose", "client")
    if not all(isinstance(payload.get(name), str) for name in strings):
        raise _Malformed("missing text claim")
    guardians = payload.get("guardians")
    if not isinstance(guardians, list) or not all(isinstance(g, str) for g in guardians):
        raise _Malformed("guardians")
    times = (payload.get("iat"), payload.get("exp"))
    if not all(isinstance(t, int) and not isinstance(t, bool) for t in times):
        raise _Malformed("times")
    claims = ConsentClaims(
        consent_reference=payload["consent"],
        child=payload["child"],
        guardians=tuple(guardians),
        purpose=payload["purpose"],
        client_id=payload["client"],
        issued_at=times[0],
        expires_at=times[1],
    )
    return claims, signed, signature


def _people(question: FamilyQuestion | IdentityQuestion) -> tuple[str, Sequence[str]]:
    """Whom the question asks about: the person the token's `child` claim must name, and the
    others it must cover. An identity question asks about one person, its own subject."""
    if isinstance(question, IdentityQuestion):
        return question.id_number, ()
    return question.child_id_number, question.guardian_id_numbers


def consent_token_check(
    *,
    question: FamilyQuestion | IdentityQuestion,
    context: LookupContext,
    public_keys: Sequence[Ed25519PublicKey],
    now: float,
) -> ConsentClaims:
    """The token's claims when it is this client's, signed, current and covers the question;
    otherwise LookupRefused with the first reason found.

    The claimed client is compared before the signature is checked only to name the more
    useful reason: every path that fails refuses. Costs one Ed25519 verification (about
    0.12 ms of CPU; one more for a token signed with an older key while a department
    rotates, the newest being tried first) and one HMAC per person.
    """

    def refuse(code: RefusalCode):
        return LookupRefused(code, f"question {question.key}: {CONSENT_REFUSALS[code]}")

    token = question.consent_token.strip()
    if not token:
        raise refuse(RefusalCode.CONSENT_TOKEN_MISSING)
    try:
        claims, signed, signature = token_read(token)
    except _Malformed:
        raise refuse(RefusalCode.CONSENT_TOKEN_MALFORMED) from None
    if claims.client_id != context.client_id:
        raise refuse(RefusalCode.CONSENT_CLIENT_MISMATCH)
    if not public_keys:
        raise refuse(RefusalCode.CONSENT_KEY_UNKNOWN)
    if not any(_verifies(key, signature, signed) for key in public_keys):
        raise refuse(RefusalCode.CONSENT_SIGNATURE_INVALID)
    if claims.expires_at <= now:
        raise refuse(RefusalCode.CONSENT_EXPIRED)
    if claims.consent_reference != question.consent_reference:
        raise refuse(RefusalCode.CONSENT_REFERENCE_MISMATCH)
    if claims.purpose != context.purpose:
        raise refuse(RefusalCode.CONSENT_PURPOSE_MISMATCH)
    reference = question.consent_reference
    covered = set(claims.guardians)
    subject, others = _people(question)
    if subject_digest(reference, subject) != claims.child or any(
        subject_digest(reference, g) not in covered for g in others
    ):
        raise refuse(RefusalCode.CONSENT_SUBJECT_NOT_COVERED)
    return claims


def _verifies(key: Ed25519PublicKey, signature: bytes, signed: bytes) -> bool:
    try:
        key.verify(signature, signed)
    except InvalidSignature:
        return False
    return True


# --- planning tokens ------------------------------------------------------------------------
# A planning question (contract.CohortQuestion) is about no person, so its token cannot name
# the people it covers. It names what is asked instead: the area, its communities and the
# entry cohorts, as one keyed digest, so that a token signed for one question covers exactly
# that question and no wider one (a city's question names thousands of communities; the
# digest keeps the token short). Its own prefix, so that neither kind of token can ever be
# read as the other:
#
#     pt1.<payload>.<signature>
#     {"consent": "PLAN-440604-2027-1a2b3c4d", "area": "<digest>", "purpose": "planning",
#      "client": "edu-440604", "iat": 1807500000, "exp": 1807500900}

PLANNING_TOKEN_PREFIX = "pt1"  # noqa: S105 - the format's name and version, not a secret


@dataclass(frozen=True)
class PlanningClaims:
    consent_reference: str
    area: str
    purpose: str
    client_id: str
    issued_at: int
    expires_at: int


def area_digest(
    consent_reference: str,
    area_code: str,
    community_codes: Sequence[str],
    admission_years: Sequence[int],
) -> str:
    """What a planning token says it covers: HMAC-SHA256, keyed with the consent id, of the
    area code, the sorted communities and the sorted admission years."""
    text = "|".join(
        (
            area_code,
            ",".join(sorted(set(community_codes))),
            ",".join(str(year) for year in sorted(set(admission_years))),
        )
    )
    keyed = hmac.new(consent_reference.encode(), text.encode(), hashlib.sha256)
    return _b64encode(keyed.digest())


def planning_token_signing_input(claims: PlanningClaims) -> bytes:
    """The bytes the department signs: `pt1.<payload>`."""
    payload = {
        "consent": claims.consent_reference,
        "area": claims.area,
        "purpose": claims.purpose,
        "client": claims.client_id,
        "iat": claims.issued_at,
        "exp": claims.expires_at,
    }
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return f"{PLANNING_TOKEN_PREFIX}.{_b64encode(text.encode())}".encode("ascii")


def planning_token_read(token: str) -> tuple[PlanningClaims, bytes, bytes]:
    """A planning token's claims, signed bytes and signature, unchecked."""
    payload, signed, signature = _token_decode(token, PLANNING_TOKEN_PREFIX)
    strings = ("consent", "area", "purpose", "client")
    if not all(isinstance(payload.get(name), str) for name in strings):
        raise _Malformed("missing text claim")
    times = (payload.get("iat"), payload.get("exp"))
    if not all(isinstance(t, int) and not isinstance(t, bool) for t in times):
        raise _Malformed("times")
    claims = PlanningClaims(
        consent_reference=payload["consent"],
        area=payload["area"],
        purpose=payload["purpose"],
        client_id=payload["client"],
        issued_at=times[0],
        expires_at=times[1],
    )
    return claims, signed, signature


def planning_token_check(
    *,
    question: CohortQuestion,
    context: LookupContext,
    public_keys: Sequence[Ed25519PublicKey],
    now: float,
) -> PlanningClaims:
    """The token's claims when it is this client's, signed, current, for planning and for
    exactly the question's area and cohorts; otherwise LookupRefused with the first reason,
    in the order and words of `consent_token_check`."""

    def refuse(code: RefusalCode):
        return LookupRefused(code, f"question {question.key}: {CONSENT_REFUSALS[code]}")

    token = question.consent_token.strip()
    if not token:
        raise refuse(RefusalCode.CONSENT_TOKEN_MISSING)
    try:
        claims, signed, signature = planning_token_read(token)
    except _Malformed:
        raise refuse(RefusalCode.CONSENT_TOKEN_MALFORMED) from None
    if claims.client_id != context.client_id:
        raise refuse(RefusalCode.CONSENT_CLIENT_MISMATCH)
    if not public_keys:
        raise refuse(RefusalCode.CONSENT_KEY_UNKNOWN)
    if not any(_verifies(key, signature, signed) for key in public_keys):
        raise refuse(RefusalCode.CONSENT_SIGNATURE_INVALID)
    if claims.expires_at <= now:
        raise refuse(RefusalCode.CONSENT_EXPIRED)
    if claims.consent_reference != question.consent_reference:
        raise refuse(RefusalCode.CONSENT_REFERENCE_MISMATCH)
    if claims.purpose != context.purpose:
        raise refuse(RefusalCode.CONSENT_PURPOSE_MISMATCH)
    covered = area_digest(
        question.consent_reference,
        question.area_code,
        question.community_codes,
        question.admission_years,
    )
    if not hmac.compare_digest(covered, claims.area):
        raise refuse(RefusalCode.CONSENT_AREA_NOT_COVERED)
    return claims


# --- keys as text ---------------------------------------------------------------------------
# A key travels as the standard base64 of its 32 raw bytes (44 characters): short enough for
# a command line and an environment variable.


@lru_cache(maxsize=64)
def public_key_load(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from its text; cached, as every batch loads its client's keys."""
    raw = key_bytes(text)
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise ConsentKeyInvalid("not an Ed25519 public key") from None


def key_bytes(text: str) -> bytes:
    """The 32 raw bytes of a key written as base64, or ConsentKeyInvalid saying why not."""
    try:
        raw = base64.b64decode((text or "").strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConsentKeyInvalid("a consent key is 32 bytes written in base64") from None
    if len(raw) != 32:
        raise ConsentKeyInvalid(
            f"a consent key is 32 bytes written in base64; this one is {len(raw)} bytes"
        )
    return raw


def public_key_text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
