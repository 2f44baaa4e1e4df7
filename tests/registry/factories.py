import dataclasses
from datetime import date
from decimal import Decimal

import factory
from django.conf import settings
from factory.django import DjangoModelFactory

from enrollment.consent_tokens import consent_public_key, consent_token_sign
from registry import idnumber
from registry.contract import FamilyQuestion
from registry.models import (
    DepartmentClient,
    HukouRecord,
    ImportBatch,
    PropertyRecord,
    RentalRecord,
    ResidencePermitRecord,
    SocialInsuranceRecord,
    Source,
)

AS_OF = date(2027, 3, 1)


class ImportBatchFactory(DjangoModelFactory):
    class Meta:
        model = ImportBatch

    source = Source.HUKOU
    as_of = AS_OF
    status = ImportBatch.Status.DONE


class _Record(DjangoModelFactory):
    batch = factory.SubFactory(ImportBatchFactory)
    as_of = AS_OF


class HukouRecordFactory(_Record):
    class Meta:
        model = HukouRecord

    id_number = factory.Sequence(lambda n: idnumber.make("440604", date(2020, 5, 1), n % 999 + 1))
    name = factory.Faker("name", locale="zh_CN")
    sex = "M"
    birth_date = factory.LazyAttribute(lambda o: idnumber.birth_date_of(o.id_number))
    hukou_district_code = "440604"
    community_code = "440604010003"
    registered_on = date(2020, 6, 1)
    household_no = factory.Sequence(lambda n: f"H{n:08d}")


class PropertyRecordFactory(_Record):
    class Meta:
        model = PropertyRecord

    batch = factory.SubFactory(ImportBatchFactory, source=Source.PROPERTY)
    certificate_no = factory.Sequence(lambda n: f"粤2020佛禅不动产权第{n:07d}号")
    owner_id_number = factory.Sequence(
        lambda n: idnumber.make("440604", date(1990, 1, 1), n % 999 + 1)
    )
    share_percent = Decimal("100")
    community_code = "440604010003"
    registered_on = date(2019, 1, 1)


class RentalRecordFactory(_Record):
    class Meta:
        model = RentalRecord

    batch = factory.SubFactory(ImportBatchFactory, source=Source.RENTAL)
    registration_no = factory.Sequence(lambda n: f"ZL{n:08d}")
    tenant_id_number = factory.Sequence(
        lambda n: idnumber.make("445202", date(1990, 1, 1), n % 999 + 1)
    )
    community_code = "440604010003"
    start_date = date(2026, 9, 1)
    end_date = date(2027, 8, 31)


class SocialInsuranceRecordFactory(_Record):
    class Meta:
        model = SocialInsuranceRecord

    batch = factory.SubFactory(ImportBatchFactory, source=Source.SOCIAL_INSURANCE)
    id_number = factory.Sequence(lambda n: idnumber.make("445202", date(1990, 1, 1), n % 999 + 1))
    month = date(2026, 1, 1)
    pension = True
    medical = True
    employer_name = factory.Faker("company", locale="zh_CN")


class ResidencePermitRecordFactory(_Record):
    class Meta:
        model = ResidencePermitRecord

    batch = factory.SubFactory(ImportBatchFactory, source=Source.RESIDENCE_PERMIT)
    permit_no = factory.Sequence(lambda n: f"JZZ{n:010d}")
    id_number = factory.Sequence(lambda n: idnumber.make("445202", date(1990, 1, 1), n % 999 + 1))
    district_code = "440604"
    issued_on = date(2024, 5, 1)
    expires_on = date(2028, 5, 1)


class DepartmentClientFactory(DjangoModelFactory):
    """A department client. By default the education bureau as this deployment knows it:
    REGISTRY_CLIENT_ID, with the public half of CONSENT_SIGNING_KEY (the development key in
    the tests) registered to check its consent tokens."""

    class Meta:
        model = DepartmentClient
        django_get_or_create = ("client_id",)

    client_id = factory.LazyFunction(lambda: settings.REGISTRY_CLIENT_ID)
    name = "禅城区教育局"
    api_key_hash = factory.Sequence(lambda n: f"{n:064x}")
    scopes = factory.LazyFunction(lambda: ["verify", "audit"])
    consent_public_keys = factory.LazyFunction(lambda: [consent_public_key()])


def signed(
    question: FamilyQuestion,
    *,
    purpose: str,
    client_id: str | None = None,
    consent: str | None = None,
    people: tuple[str, ...] | None = None,
    now: float | None = None,
    key=None,
) -> FamilyQuestion:
    """The question with a consent token, signed as enrollment signs it (by default for the
    question's own consent and people, by REGISTRY_CLIENT_ID with CONSENT_SIGNING_KEY)."""
    child, *guardians = people or (question.child_id_number, *question.guardian_id_numbers)
    token = consent_token_sign(
        consent_reference=question.consent_reference if consent is None else consent,
        child_id_number=child,
        guardian_id_numbers=guardians,
        purpose=purpose,
        client_id=client_id,
        now=now,
        key=key,
    )
    return dataclasses.replace(question, consent_token=token)


def related_family(child: str, *adults: str, **child_fields) -> HukouRecord:
    """The child's hukou row, and the named adults' rows in the same household: related
    guardians, whose facts the registry looks up (DOMAIN.md, "Guardianship")."""
    row = HukouRecordFactory(id_number=child, **child_fields)
    for adult in adults:
        HukouRecordFactory(id_number=adult, household_no=row.household_no)
    return row
