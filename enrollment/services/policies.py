"""Points policies: versioned documents per district, admission year and grade.

A policy is data: installing one stores a validated document under its version; activating it
makes it the one new decisions use. Decisions keep a reference to the exact version they used,
so an old decision can always be explained by the document it was scored with.
"""

from django.db import transaction

from enrollment.errors import ApplicationError, ErrorCode
from enrollment.models import AuditAction, PolicyDocument, User
from enrollment.policy import PolicyInvalid, default_policy_document, policy_validate
from enrollment.services.audit import audit_log


def _invalid(error: PolicyInvalid) -> ApplicationError:
    return ApplicationError(ErrorCode.INVALID, f"document.{error}", field=f"document.{error.key}")


def _rules(document: dict) -> dict:
    return {key: value for key, value in document.items() if key != "name"}


@transaction.atomic
def policy_install(
    *, document: dict, actor: User | None = None, activate: bool = True, reason: str = ""
) -> PolicyDocument:
    """Store a policy document under its version; with `activate`, make it the active one.

    Installing the same version with the same document again changes nothing; the same version
    with a different document is refused (a version, once used, means one set of rules).
    """
    try:
        policy_validate(document)
    except PolicyInvalid as error:
        raise _invalid(error) from None
    key = {
        "district_code": document["district_code"],
        "admission_year": int(document["admission_year"]),
        "grade": document["grade"],
    }
    policy, created = PolicyDocument.objects.get_or_create(
        **key, version=document["version"], defaults={"document": document, "created_by": actor}
    )
    # The name is no rule: a document renamed with the same rules is the version installed.
    if not created and _rules(policy.document) != _rules(document):
        raise ApplicationError(
            ErrorCode.INVALID,
            f"document.version: version {document['version']} already holds other rules; "
            "give the changed policy a new version",
            field="document.version",
        )
    changed = created
    if activate and not policy.is_active:
        PolicyDocument.objects.filter(**key, is_active=True).update(is_active=False)
        policy.is_active = True
        policy.save(update_fields=["is_active"])
        changed = True
    if changed and actor is not None:
        audit_log(
            actor=actor,
            action=AuditAction.POLICY_INSTALL,
            target=policy,
            reason=reason,
            data={"version": policy.version, "active": policy.is_active},
        )
    return policy


@transaction.atomic
def policy_install_default(*, admission_year: int, district_code: str = "440604") -> PolicyDocument:
    """Install DOMAIN.md's default policy for a year, activating it unless another is active.

    Idempotent: running it again changes nothing.
    """
    document = default_policy_document(admission_year=admission_year, district_code=district_code)
    has_active = PolicyDocument.objects.filter(
        district_code=district_code,
        admission_year=admission_year,
        grade=document["grade"],
        is_active=True,
    ).exists()
    return policy_install(document=document, activate=not has_active)


def policy_active(
    *, district_code: str, admission_year: int, grade: str = "primary1"
) -> PolicyDocument:
    policy = PolicyDocument.objects.filter(
        district_code=district_code, admission_year=admission_year, grade=grade, is_active=True
    ).first()
    if policy is None:
        raise ApplicationError(
            ErrorCode.NO_POLICY,
            f"No points policy is active for district {district_code}, year {admission_year}.",
            field="admission_year",
        )
    return policy
