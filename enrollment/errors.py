"""Errors the enrollment side raises on purpose, each with a stable code.

Messages are constants so that tests and translations reuse them; a field name says where the
problem is, and ID numbers are never repeated in a message.
"""

from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID = "invalid"
    ID_NUMBER_INVALID = "id_number_invalid"
    AGE_OUT_OF_RANGE = "AGE_OUT_OF_RANGE"
    GUARDIAN_IS_CHILD = "guardian_is_child"
    GUARDIANS_REPEATED = "guardians_repeated"
    DUPLICATE_APPLICATION = "duplicate_application"
    UNKNOWN_SCHOOL = "unknown_school"
    UNKNOWN_COMMUNITY = "unknown_community"
    CONSENT_MISSING = "consent_missing"
    NO_POLICY = "no_policy"
    ILLEGAL_TRANSITION = "illegal_transition"
    STALE_DECISION = "stale_decision"
    REASON_REQUIRED = "reason_required"
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    # Applying needs a verified real-name identity, and the applicant among the guardians.
    IDENTITY_UNVERIFIED = "identity_unverified"
    APPLICANT_NOT_GUARDIAN = "applicant_not_guardian"
    # Verifying one's identity (enrollment.services.identity): `extra["why"]` says which.
    IDENTITY_REFUSED = "identity_refused"
    REGISTRY_UNAVAILABLE = "registry_unavailable"


class ApplicationError(Exception):
    """A refusal the user can act on: `code`, a message, and the field it concerns.

    Where one code and field cover several refusals, `extra["why"]` names which, in a word
    that stays when the English message is reworded: the pages word refusals by it.
    """

    def __init__(self, code: ErrorCode, message: str, *, field: str = "", extra=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.extra = extra or {}

    @property
    def why(self) -> str:
        return self.extra.get("why", "")

    def as_dict(self) -> dict:
        extra = dict(self.extra)
        if self.field:
            extra.setdefault("field", self.field)
        return {"message": self.message, "code": str(self.code), "extra": extra}


class ValidationErrors(ApplicationError):
    """Several problems with one input, each naming its field."""

    def __init__(self, errors: list[ApplicationError]):
        first = errors[0]
        super().__init__(
            first.code,
            first.message if len(errors) == 1 else f"{len(errors)} problems with the input",
            field=first.field,
            extra={
                "errors": [
                    {"field": e.field, "code": str(e.code), "message": e.message} for e in errors
                ]
            },
        )
        self.errors = errors
