"""Parents' accounts: a parent registers with a mobile number, which is also their username."""

import re

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from enrollment.errors import ApplicationError, ErrorCode, ValidationErrors
from enrollment.models import AuditAction, Role, User
from enrollment.services.audit import audit_log

# Mainland mobile numbers: eleven digits starting 13-19.
PHONE_PATTERN = re.compile(r"^1[3-9]\d{9}$")

PHONE_INVALID = "phone: a mainland mobile number has 11 digits and starts with 1"
PHONE_TAKEN = "phone: an account with this mobile number already exists"
PASSWORD_WEAK = "password: the password is too weak"  # noqa: S105 - a message, not a secret


def normalise_phone(phone: str) -> str:
    """Digits only, without a +86 or 0086 prefix, so that one phone is one account."""
    digits = re.sub(r"[\s\-]", "", phone or "")
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
    return digits


def parent_register_problems(*, phone: str, password: str) -> list[ApplicationError]:
    """Every reason parent_register would refuse these, without writing anything: a form
    shows them all at once, beside its own, rather than one round after another."""
    number = normalise_phone(phone)
    errors: list[ApplicationError] = []
    if not PHONE_PATTERN.match(number):
        errors.append(ApplicationError(ErrorCode.INVALID, PHONE_INVALID, field="phone"))
    elif User.objects.filter(username=number).exists():
        errors.append(ApplicationError(ErrorCode.INVALID, PHONE_TAKEN, field="phone"))
    try:
        validate_password(password, user=User(username=number, phone=number))
    except ValidationError as error:
        errors.append(
            ApplicationError(
                ErrorCode.INVALID,
                PASSWORD_WEAK,
                field="password",
                extra={"codes": [e.code for e in error.error_list]},
            )
        )
    return errors


@transaction.atomic
def parent_register(*, phone: str, password: str, display_name: str = "") -> User:
    """Create a parent's account; refuse a malformed or taken number and a weak password."""
    number = normalise_phone(phone)
    errors = parent_register_problems(phone=phone, password=password)
    if errors:
        raise ValidationErrors(errors)
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                username=number,
                password=password,
                phone=number,
                first_name=display_name.strip()[:150],
                role=Role.PARENT,
            )
    except IntegrityError:
        # Two registrations for one number raced past the check above.
        raise ValidationErrors(
            [ApplicationError(ErrorCode.INVALID, PHONE_TAKEN, field="phone")]
        ) from None
    audit_log(
        actor=user, action=AuditAction.PARENT_REGISTER, target=user, reason="self-registration"
    )
    return user


@transaction.atomic
def user_password_change(*, actor: User, new_password: str) -> User:
    """Set the account's new password (checked by the caller's form against the validators).

    Every session of the account signs out at its next request, whatever the session store
    keeps: Django stores a hash of the password in each session and signs out a session whose
    hash no longer matches. The page that called this keeps its own session
    (`update_session_auth_hash`)."""
    actor.set_password(new_password)
    actor.save(update_fields=["password"])
    audit_log(actor=actor, action=AuditAction.PASSWORD_CHANGE, target=actor, reason="own account")
    return actor
