"""The retention rule: personal data of an admission year is kept for RETENTION_YEARS after it.

Once 31 December of (admission year + RETENTION_YEARS) has passed, an application keeps what
statistics and appeals of later years need (its year, district, community, channel, states,
schools chosen and the points of each decision) and loses everything that names or identifies
a person: names, ID numbers, address, the link to the parent's account, the registry answers
and traces behind the points, the evidence files and statements, what was written in
re-checks. The unique ID-number column gets a placeholder built from the row's own id, so it
can never collide or look like a number.

A parent account with no application left that names it, not used for RETENTION_YEARS whole
years, loses its name, phone, e-mail and verified identity and can no longer sign in.

Running it again changes nothing: only rows without `deidentified_at` (and active accounts)
are touched.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from enrollment.models import (
    Application,
    AuditAction,
    AuditLog,
    Consent,
    Decision,
    Evidence,
    Guardian,
    IdentityVerification,
    Recheck,
    Role,
    User,
)

logger = logging.getLogger(__name__)

# 500 applications (about 1,500 people and their decisions) is a transaction of well under a
# second on PostgreSQL, so the rule never holds locks that slow the portal.
RETENTION_CHUNK = 500
DEIDENTIFIED_NAME = ""


@dataclass(frozen=True)
class RetentionResult:
    last_expired_year: int
    deidentified: int
    evidence_files_removed: int
    accounts_removed: int = 0


def retention_last_expired_year(*, today: date | None = None, years: int | None = None) -> int:
    """The latest admission year whose retention period is over on `today`."""
    today = today or timezone.localdate()
    years = settings.RETENTION_YEARS if years is None else years
    return today.year - years - 1


def placeholder_id_number(application_id: int) -> str:
    """18 characters that keep the unique constraint and match no ID-number pattern."""
    return f"D{application_id:017d}"


@transaction.atomic
def _deidentify_chunk(ids: list[int], now) -> tuple[int, int]:
    applications = list(
        Application.objects.select_for_update()
        .filter(id__in=ids, deidentified_at__isnull=True)
        .only("id", "ref", "admission_year")
    )
    ids = [a.id for a in applications]
    if not ids:
        return 0, 0
    files_removed = 0
    for evidence in Evidence.objects.filter(application_id__in=ids).exclude(file=""):
        evidence.file.delete(save=False)
        files_removed += 1
    Evidence.objects.filter(application_id__in=ids).update(file="", statement="", review_reason="")
    Guardian.objects.filter(application_id__in=ids).update(name=DEIDENTIFIED_NAME, id_number="")
    Consent.objects.filter(application_id__in=ids).update(given_by_id_number="", given_by_user=None)
    # What a parent wrote when asking for a re-check, and the officer's answer to it, may
    # describe the family; the re-check's status and dates stay.
    Recheck.objects.filter(application_id__in=ids).update(reason="", resolution_reason="")
    Decision.objects.filter(application_id__in=ids).update(facts={}, trace=[])
    for application in applications:
        Application.objects.filter(id=application.id).update(
            child_name=DEIDENTIFIED_NAME,
            child_id_number=placeholder_id_number(application.id),
            home_address="",
            applicant=None,
            deidentified_at=now,
        )
    AuditLog.objects.bulk_create(
        AuditLog(
            at=now,
            actor=None,
            action=AuditAction.RETENTION_DEIDENTIFY,
            target_type="Application",
            target_id=str(application.id),
            reason=(
                f"retention period of {settings.RETENTION_YEARS} years after admission year "
                f"{application.admission_year} is over"
            ),
            data={"ref": application.ref, "admission_year": application.admission_year},
        )
        for application in applications
    )
    return len(applications), files_removed


@transaction.atomic
def _remove_idle_parent_accounts(*, today: date, now) -> int:
    """Parent accounts with no application left that names them, and not used for
    RETENTION_YEARS whole years: their name, phone, e-mail and verified identity go, and they
    can no longer sign in. The row stays, because events and evidence of de-identified
    applications point at it."""
    idle_since = datetime(
        today.year - settings.RETENTION_YEARS, 1, 1, tzinfo=timezone.get_current_timezone()
    )
    accounts = list(
        User.objects.select_for_update()
        .filter(role=Role.PARENT, is_active=True)
        .exclude(Exists(Application.objects.filter(applicant=OuterRef("pk"))))
        .filter(
            Q(last_login__lt=idle_since) | Q(last_login__isnull=True, date_joined__lt=idle_since)
        )
        .only("id")
    )
    for account in accounts:
        User.objects.filter(pk=account.pk).update(
            username=f"removed-{account.pk}",
            first_name="",
            last_name="",
            email="",
            phone="",
            verified_id_number="",
            password=make_password(None),
            is_active=False,
        )
        # The account's real-name checks go with it.
        IdentityVerification.objects.filter(user_id=account.pk).update(
            name="", id_number="", phone="", code_hash=""
        )
    AuditLog.objects.bulk_create(
        AuditLog(
            at=now,
            actor=None,
            action=AuditAction.RETENTION_ACCOUNT_REMOVED,
            target_type="User",
            target_id=str(account.pk),
            reason=(f"no application left and not used for {settings.RETENTION_YEARS} years"),
        )
        for account in accounts
    )
    return len(accounts)


def retention_apply(*, today: date | None = None) -> RetentionResult:
    """De-identify every application whose admission year's retention period is over."""
    today = today or timezone.localdate()
    last_year = retention_last_expired_year(today=today)
    now = timezone.now()
    pending = list(
        Application.objects.filter(admission_year__lte=last_year, deidentified_at__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)
    )
    done = files = 0
    for start in range(0, len(pending), RETENTION_CHUNK):
        count, removed = _deidentify_chunk(pending[start : start + RETENTION_CHUNK], now)
        done += count
        files += removed
    accounts = _remove_idle_parent_accounts(today=today, now=now)
    logger.info(
        "retention: %d applications of admission years up to %d de-identified, "
        "%d evidence files removed, %d idle parent accounts removed",
        done,
        last_year,
        files,
        accounts,
    )
    return RetentionResult(
        last_expired_year=last_year,
        deidentified=done,
        evidence_files_removed=files,
        accounts_removed=accounts,
    )
