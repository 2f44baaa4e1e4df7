from datetime import date
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from registry import idnumber
from registry.models import (
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
