from django.db import transaction

from enrollment.errors import ApplicationError, ErrorCode
from enrollment.models import PolicyDocument
from enrollment.policy import Policy, default_policy_document


@transaction.atomic
def policy_install_default(*, admission_year: int, district_code: str = "440604") -> PolicyDocument:
    """Install and activate DOMAIN.md's default policy for a year, once (idempotent)."""
    document = default_policy_document(admission_year=admission_year, district_code=district_code)
    policy, _ = PolicyDocument.objects.get_or_create(
        district_code=district_code,
        admission_year=admission_year,
        grade=document["grade"],
        version=document["version"],
        defaults={"document": document},
    )
    if not PolicyDocument.objects.filter(
        district_code=district_code,
        admission_year=admission_year,
        grade=document["grade"],
        is_active=True,
    ).exists():
        policy.is_active = True
        policy.save(update_fields=["is_active"])
    return policy


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


def as_policy(document: PolicyDocument) -> Policy:
    return Policy(document.document)
