"""Binding a parent's account to their real-name identity (实名认证), before they may apply.

Two steps, as government-service apps do it:
1. `identity_verify_start`: the parent gives their name and ID number and consents; the
   registry answers whether the name matches that ID number's hukou record (二要素核验: yes
   or no, never the record; consented and audited like every lookup). On yes, a six-digit
   code goes to the account's phone.
2. `identity_code_confirm`: the parent types the code, and the account is bound.

`identity_bind` is the one place an account gets its identity. A provincial single sign-on
(OIDC) that asserts a person's name and ID number would call it in place of both steps
(docs/operations.md, "Real-name identity").

Limits, each a setting: IDENTITY_CHECKS_PER_DAY registry checks per account in any 24 hours,
a code valid IDENTITY_CODE_SECONDS, IDENTITY_CODE_ATTEMPTS wrong tries per code (then the
attempt is closed and the parent starts again, which is another check),
IDENTITY_CODE_RESEND_SECONDS between two sends and IDENTITY_CODE_SENDS sends per attempt.
A code is kept only as an HMAC keyed with SECRET_KEY, so a copy of the database alone does
not give the million candidates away; it is erased once used.
"""

import logging
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from enrollment.consent_tokens import identity_consent_token_sign
from enrollment.errors import ApplicationError, ErrorCode, ValidationErrors
from enrollment.gateway import LookupRefused, RegistryUnavailable, get_gateway
from enrollment.models import AuditAction, IdentityVerification, User
from enrollment.services.audit import audit_log
from enrollment.sms import SmsFailed, sms_send
from registry import idnumber
from registry.contract import PURPOSE_ACCOUNT_IDENTITY, IdentityQuestion, LookupContext

logger = logging.getLogger(__name__)

Status = IdentityVerification.Status

# Why a step was refused: `extra["why"]` of the IDENTITY_REFUSED error, which pages word.
WHY_MISMATCH = "mismatch"
WHY_TOO_MANY_CHECKS = "too_many_checks"
WHY_TAKEN = "taken"
WHY_ALREADY_VERIFIED = "already_verified"
WHY_NO_PHONE = "no_phone"
WHY_NO_CODE = "no_code"
WHY_CODE_WRONG = "code_wrong"
WHY_CODE_EXPIRED = "code_expired"
WHY_CODE_ATTEMPTS = "code_attempts"
WHY_RESEND_TOO_SOON = "resend_too_soon"
WHY_RESEND_LIMIT = "resend_limit"
WHY_SMS_FAILED = "sms_failed"

MESSAGES = {
    # The same words whether the ID number has no hukou record or the name differs: the
    # refusal must not tell who is registered.
    WHY_MISMATCH: "the name and ID number do not match",
    WHY_TOO_MANY_CHECKS: "too many identity checks for this account today; try again tomorrow",
    WHY_TAKEN: "id_number: this identity is bound to another account",
    WHY_ALREADY_VERIFIED: "this account's identity is verified already",
    WHY_NO_PHONE: "the account has no mobile number to send the code to",
    WHY_NO_CODE: "code: no code is waiting; start the verification again",
    WHY_CODE_WRONG: "code: the code is not right",
    WHY_CODE_EXPIRED: "code: the code has expired; send a new one",
    WHY_CODE_ATTEMPTS: "code: too many wrong codes; start the verification again",
    WHY_RESEND_TOO_SOON: "wait a minute before sending another code",
    WHY_RESEND_LIMIT: "no more codes for this attempt; start the verification again",
    WHY_SMS_FAILED: "the code could not be sent; send it again in a minute",
}
REGISTRY_DOWN = "the household registry cannot be asked just now; try again in a few minutes"
CODE_SHAPE = "code: the code is six digits"
NAME_REQUIRED = "name: the name is required"
CONSENT_REQUIRED = "consent: agree to the check against the household registry"


IDENTITY_UNVERIFIED = (
    "verify your identity (name, ID number and a code sent to your phone) before applying"
)
APPLICANT_NOT_GUARDIAN = (
    "guardians: name yourself as one of the guardians, with the ID number your account is "
    "verified with"
)


def identity_required_to_apply(applicant: User | None) -> None:
    """A parent applies only once their account is bound to their real-name identity;
    counter-entered applications have no applicant."""
    if applicant is not None and not applicant.is_identity_verified:
        raise ApplicationError(ErrorCode.IDENTITY_UNVERIFIED, IDENTITY_UNVERIFIED)


def applicant_not_guardian() -> ApplicationError:
    return ApplicationError(
        ErrorCode.APPLICANT_NOT_GUARDIAN, APPLICANT_NOT_GUARDIAN, field="guardians"
    )


def _refused(why: str, **extra) -> ApplicationError:
    field = MESSAGES[why].split(":", 1)[0] if ":" in MESSAGES[why] else ""
    return ApplicationError(
        ErrorCode.IDENTITY_REFUSED, MESSAGES[why], field=field, extra={"why": why, **extra}
    )


def _parent(actor: User) -> None:
    if not (actor and actor.is_authenticated and actor.is_parent):
        raise ApplicationError(
            ErrorCode.PERMISSION_DENIED, "only a parent's account is verified this way"
        )
    if actor.is_identity_verified:
        raise _refused(WHY_ALREADY_VERIFIED)


def _code_hash(row: IdentityVerification, code: str) -> str:
    # Salted with the attempt's consent reference, unique per attempt.
    return salted_hmac(
        "enrollment.identity.code", f"{row.consent_reference}:{code}", algorithm="sha256"
    ).hexdigest()


def _new_code(row: IdentityVerification, now) -> str:
    code = f"{secrets.randbelow(10**6):06d}"
    row.code_hash = _code_hash(row, code)
    row.code_expires_at = now + timedelta(seconds=settings.IDENTITY_CODE_SECONDS)
    row.code_attempts = 0
    row.codes_sent += 1
    row.code_sent_at = now
    return code


def _send(row: IdentityVerification, code: str) -> None:
    minutes = max(settings.IDENTITY_CODE_SECONDS // 60, 1)
    text = _(
        "【入学申请】您的实名认证验证码是 %(code)s，%(minutes)s 分钟内有效。如非本人操作，请忽略。"
    ) % {
        "code": code,
        "minutes": minutes,
    }
    try:
        sms_send(phone=row.phone, text=text)
    except SmsFailed:
        logger.warning("identity: the code for user %s could not be sent", row.user_id)
        raise _refused(WHY_SMS_FAILED) from None


def identity_verify_start(
    *, actor: User, name: str, id_number: str, consented: bool
) -> IdentityVerification:
    """Ask the registry whether `name` matches `id_number`'s hukou record and, when it does,
    send a code to the account's phone. Refused in plain words otherwise; a mismatch says
    only that the two do not match."""
    _parent(actor)
    name = " ".join((name or "").split())
    errors = []
    if not name:
        errors.append(ApplicationError(ErrorCode.INVALID, NAME_REQUIRED, field="name"))
    number = ""
    try:
        number = idnumber.validate(id_number)
    except idnumber.InvalidIdNumber as error:
        errors.append(
            ApplicationError(
                ErrorCode.ID_NUMBER_INVALID,
                f"id_number: {error}",
                field="id_number",
                extra={"check": error.code},
            )
        )
    if not consented:
        errors.append(
            ApplicationError(ErrorCode.CONSENT_MISSING, CONSENT_REQUIRED, field="consent")
        )
    if errors:
        raise ValidationErrors(errors)
    if not actor.phone:
        raise _refused(WHY_NO_PHONE)
    now = timezone.now()
    checks = IdentityVerification.objects.filter(
        user=actor, created_at__gte=now - timedelta(days=1)
    ).count()
    if checks >= settings.IDENTITY_CHECKS_PER_DAY:
        raise _refused(WHY_TOO_MANY_CHECKS)

    reference = f"I-{actor.pk}-{uuid.uuid4().hex[:12]}"
    question = IdentityQuestion(
        key=reference,
        consent_reference=reference,
        end_user=f"user:{actor.pk}",
        id_number=number,
        name=name,
        consent_token=identity_consent_token_sign(consent_reference=reference, id_number=number),
    )
    context = LookupContext(client_id=settings.REGISTRY_CLIENT_ID, purpose=PURPOSE_ACCOUNT_IDENTITY)
    try:
        (answer,) = get_gateway().verify_identities(questions=[question], context=context)
    except RegistryUnavailable as error:
        logger.warning("identity: registry unavailable: %s", error)
        raise ApplicationError(ErrorCode.REGISTRY_UNAVAILABLE, REGISTRY_DOWN) from None
    except LookupRefused as refusal:
        # Not the parent's doing (a key, a clock, a registration): the operators must act.
        logger.error("identity: the registry refused the check: %s", refusal.code)
        raise ApplicationError(ErrorCode.REGISTRY_UNAVAILABLE, REGISTRY_DOWN) from None

    if not answer.matches:
        # Counts towards the daily limit; keeps neither the name nor the number tried.
        IdentityVerification.objects.create(
            user=actor, status=Status.MISMATCH, consent_reference=reference, created_at=now
        )
        raise _refused(WHY_MISMATCH)
    with transaction.atomic():
        IdentityVerification.objects.filter(user=actor, status=Status.PENDING).update(
            status=Status.CLOSED, code_hash=""
        )
        row = IdentityVerification(
            user=actor,
            method=IdentityVerification.Method.SMS_OTP,
            status=Status.PENDING,
            name=name,
            id_number=number,
            consent_reference=reference,
            phone=actor.phone,
            created_at=now,
        )
        taken = User.objects.filter(verified_id_number=number).exclude(pk=actor.pk).exists()
        if taken:
            # Counted like any check, without the name and number tried.
            row.status, row.name, row.id_number = Status.CLOSED, "", ""
        else:
            code = _new_code(row, now)
        row.save()
    if taken:
        # Said only to someone who knew the matching name and number. The person whose
        # identity it is goes to the counter with their ID card.
        raise _refused(WHY_TAKEN)
    _send(row, code)
    return row


def _pending(actor: User) -> IdentityVerification | None:
    return (
        IdentityVerification.objects.select_for_update()
        .filter(user=actor, status=Status.PENDING)
        .order_by("-created_at", "-id")
        .first()
    )


def identity_code_resend(*, actor: User) -> IdentityVerification:
    """A new code for the waiting attempt (the old one stops working), at most one a minute
    and IDENTITY_CODE_SENDS in all."""
    _parent(actor)
    now = timezone.now()
    with transaction.atomic():
        row = _pending(actor)
        if row is None:
            raise _refused(WHY_NO_CODE)
        wait = timedelta(seconds=settings.IDENTITY_CODE_RESEND_SECONDS)
        if row.code_sent_at and now < row.code_sent_at + wait:
            seconds = int((row.code_sent_at + wait - now).total_seconds()) + 1
            raise _refused(WHY_RESEND_TOO_SOON, seconds=seconds)
        if row.codes_sent >= settings.IDENTITY_CODE_SENDS:
            raise _refused(WHY_RESEND_LIMIT)
        code = _new_code(row, now)
        row.save()
    _send(row, code)
    return row


def identity_code_confirm(*, actor: User, code: str) -> User:
    """Bind the account when `code` is the waiting attempt's current code, in time and within
    the attempts allowed; a wrong code counts, and is refused after it is counted."""
    _parent(actor)
    code = (code or "").strip()
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        raise ValidationErrors([ApplicationError(ErrorCode.INVALID, CODE_SHAPE, field="code")])
    now = timezone.now()
    refusal = None
    with transaction.atomic():
        row = _pending(actor)
        if row is None:
            refusal = _refused(WHY_NO_CODE)
        elif row.code_expires_at is None or now >= row.code_expires_at:
            refusal = _refused(WHY_CODE_EXPIRED)
        elif not constant_time_compare(_code_hash(row, code), row.code_hash):
            row.code_attempts += 1
            left = settings.IDENTITY_CODE_ATTEMPTS - row.code_attempts
            if left <= 0:
                row.status, row.code_hash = Status.CLOSED, ""
                refusal = _refused(WHY_CODE_ATTEMPTS)
            else:
                refusal = _refused(WHY_CODE_WRONG, attempts_left=left)
            row.save(update_fields=["code_attempts", "status", "code_hash"])
        else:
            row.status, row.code_hash, row.verified_at = Status.VERIFIED, "", now
            row.save(update_fields=["status", "code_hash", "verified_at"])
            identity_bind(
                actor=actor,
                id_number=row.id_number,
                name=row.name,
                method=row.method,
                verification=row,
            )
    # Raised after the block, so that a wrong code's count is stored.
    if refusal is not None:
        raise refusal
    return actor


@transaction.atomic
def identity_bind(
    *,
    actor: User,
    id_number: str,
    name: str,
    method: str,
    verification: IdentityVerification | None = None,
) -> User:
    """Bind the account of `actor` to the identity `id_number` (whose hukou name is `name`),
    established by `method`: the last step of the SMS check, or what an OIDC sign-on calls
    once the provider asserted both. Refused when another account holds the identity."""
    number = idnumber.validate(id_number)
    now = timezone.now()
    if verification is None:
        IdentityVerification.objects.create(
            user=actor,
            method=method,
            status=Status.VERIFIED,
            name=name,
            id_number=number,
            created_at=now,
            verified_at=now,
        )
    try:
        with transaction.atomic():
            User.objects.filter(pk=actor.pk).update(verified_id_number=number)
    except IntegrityError:
        raise _refused(WHY_TAKEN) from None
    actor.verified_id_number = number
    audit_log(
        actor=actor,
        action=AuditAction.IDENTITY_VERIFY,
        target=actor,
        reason=method,
        data={"method": method, "new": {"verified_id_number": idnumber.mask(number)}},
    )
    return actor
