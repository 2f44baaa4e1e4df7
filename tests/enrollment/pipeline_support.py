"""Families for the verification tests: DOMAIN.md's worked examples as registry rows, and
submission through the real service."""

from datetime import date
from decimal import Decimal

from enrollment.models import Application, VerificationJob
from enrollment.services.applications import ApplicationInput, PersonInput, application_submit
from enrollment.services.verification import verification_run
from registry import idnumber
from tests.conftest import HOME, YEAR
from tests.registry.factories import (
    HukouRecordFactory,
    PropertyRecordFactory,
    RentalRecordFactory,
    ResidencePermitRecordFactory,
    SocialInsuranceRecordFactory,
)

OTHER_COMMUNITY = "440604020001"  # another Chancheng community


def child_id(n: int, birth: date = date(2020, 3, 15)) -> str:
    return idnumber.make("440604", birth, n)


def guardian_id(n: int, area: str = "440604") -> str:
    return idnumber.make(area, date(1990, 7, 1), n)


def submit(
    *,
    child: str,
    guardians: list[str],
    ref: str = "",
    preferences=("S440604001",),
    community: str = HOME,
    user=None,
    enqueue: bool = False,
) -> Application:
    relations = ["mother", "father"]
    return application_submit(
        data=ApplicationInput(
            admission_year=YEAR,
            child=PersonInput(name="陈小明", id_number=child),
            guardians=[
                PersonInput(name=f"家长{i}", id_number=g, relation=relations[i])
                for i, g in enumerate(guardians)
            ],
            home_community_code=community,
            preferences=list(preferences),
            consent_given_by=guardians[0],
            ref=ref,
        ),
        actor=user,
        enqueue=enqueue,
    )


def si_months(id_number: str, first: date, count: int) -> None:
    """`count` consecutive months with pension and medical paid, from `first`."""
    index = first.year * 12 + first.month - 1
    for offset in range(count):
        month = date((index + offset) // 12, (index + offset) % 12 + 1, 1)
        SocialInsuranceRecordFactory(id_number=id_number, month=month)


def household(child, *adults: str, district: str = "440604") -> None:
    """Hukou rows for `adults` in the child's hukou household (related guardians)."""
    for adult in adults:
        HukouRecordFactory(
            id_number=adult, hukou_district_code=district, household_no=child.household_no
        )


def worked_example(number: int, seq: int = 1) -> Application:
    """DOMAIN.md's worked example `number` (1-5, 7-9) in the registry, submitted; not verified.
    In examples 1-5 and 9 every named guardian shares the child's household."""
    child, mother, father = child_id(seq), guardian_id(seq), guardian_id(seq + 500)
    ref = f"EX{number}-{seq}"
    if number in (1, 8):
        row = HukouRecordFactory(
            id_number=child, hukou_district_code="440604", registered_on=date(2019, 6, 15)
        )
        if number == 1:
            household(row, mother)
        else:
            # The mother's hukou is in another household.
            HukouRecordFactory(id_number=mother, household_no=f"OTHER-{seq}")
        PropertyRecordFactory(
            owner_id_number=mother, share_percent=Decimal("100"), community_code=HOME
        )
        return submit(child=child, guardians=[mother], ref=ref)
    if number == 2:
        row = HukouRecordFactory(
            id_number=child, hukou_district_code="440605", registered_on=date(2025, 1, 20)
        )
        household(row, mother, father, district="440605")
        PropertyRecordFactory(
            certificate_no=f"CERT-{seq}",
            owner_id_number=father,
            share_percent=Decimal("30"),
            community_code=HOME,
        )
        PropertyRecordFactory(
            certificate_no=f"CERT-{seq}",
            owner_id_number=mother,
            share_percent=Decimal("30"),
            community_code=HOME,
        )
        return submit(child=child, guardians=[mother, father], ref=ref)
    if number == 3:
        row = HukouRecordFactory(
            id_number=child, hukou_district_code="440604", registered_on=date(2020, 6, 1)
        )
        household(row, mother, father)
        RentalRecordFactory(
            tenant_id_number=mother,
            community_code=HOME,
            start_date=date(2026, 9, 1),
            end_date=date(2027, 8, 31),
        )
        PropertyRecordFactory(
            owner_id_number=father, share_percent=Decimal("100"), community_code=OTHER_COMMUNITY
        )
        return submit(child=child, guardians=[mother, father], ref=ref)
    if number in (4, 5, 9):
        row = HukouRecordFactory(
            id_number=child, hukou_district_code="445202", registered_on=date(2020, 4, 1)
        )
        household(row, mother, district="445202")
        ResidencePermitRecordFactory(
            id_number=mother,
            district_code="440604",
            issued_on=date(2024, 5, 1) if number == 4 else date(2026, 6, 1),
            expires_on=date(2028, 5, 1),
        )
        si_months(mother, date(2023, 12, 1), 40)  # 2023-12 .. 2027-03
        RentalRecordFactory(
            # Example 9: the rental was registered by nobody in the family.
            tenant_id_number=mother if number != 9 else guardian_id(seq + 900, "445202"),
            community_code=HOME,
            start_date=date(2026, 9, 1),
            end_date=date(2027, 8, 31),
        )
        return submit(child=child, guardians=[mother], ref=ref)
    if number == 7:
        PropertyRecordFactory(
            owner_id_number=mother, share_percent=Decimal("100"), community_code=HOME
        )
        return submit(child=child, guardians=[mother], ref=ref)
    raise ValueError(number)


def open_job_ids() -> list[int]:
    return list(
        VerificationJob.objects.filter(status__in=["pending", "waiting_registry"])
        .order_by("id")
        .values_list("id", flat=True)
    )


def verify_all():
    return verification_run(job_ids=open_job_ids())
