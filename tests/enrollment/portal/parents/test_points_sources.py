"""Every line of the parent's points table names its source: department, feed, data date,
batch and record, as the table's heading promises; the social-insurance lines too."""

from datetime import date

import pytest
from django.urls import reverse

from registry import idnumber
from registry.models import Source
from tests.conftest import HOME
from tests.enrollment.portal.parents.conftest import CHILD, MOTHER, signed_in, submit
from tests.registry.factories import (
    ImportBatchFactory,
    RentalRecordFactory,
    ResidencePermitRecordFactory,
    SocialInsuranceRecordFactory,
    related_family,
)

pytestmark = pytest.mark.django_db

SI_AS_OF = date(2027, 3, 25)


@pytest.fixture
def example_4(db):
    """DOMAIN.md worked example 4: hukou outside the city, the mother's qualifying permit,
    40 insured months ending March 2027 in one batch, a rental at home covering the cut-off."""
    related_family(CHILD, MOTHER, hukou_district_code="445202", registered_on=date(2020, 4, 1))
    ResidencePermitRecordFactory(
        id_number=MOTHER, issued_on=date(2024, 5, 1), expires_on=date(2028, 5, 1)
    )
    RentalRecordFactory(
        tenant_id_number=MOTHER,
        community_code=HOME,
        start_date=date(2026, 9, 1),
        end_date=date(2027, 8, 31),
    )
    batch = ImportBatchFactory(source=Source.SOCIAL_INSURANCE, as_of=SI_AS_OF)
    for offset in range(40):
        index = 2027 * 12 + 2 - offset
        SocialInsuranceRecordFactory(
            batch=batch,
            as_of=SI_AS_OF,
            id_number=MOTHER,
            month=date(index // 12, index % 12 + 1, 1),
        )
    return batch


def test_the_social_insurance_bonus_and_its_fact_name_date_batch_and_record(
    district, parent, example_4
):
    application = submit(parent=parent, ref="A0000000EX04")

    client = signed_in(parent)
    body = client.get(reverse("application-detail", args=[application.ref])).content.decode()
    english = (
        signed_in(parent, "en")
        .get(reverse("application-detail", args=[application.ref]))
        .content.decode()
    )

    assert "总分 62.8 分" in body
    source = (
        f"人社部门 · 社保缴费记录 · 数据截至 2027年3月25日 · 批次 {example_4.pk} · "
        f"记录 {idnumber.mask(MOTHER)} 2027-03"
    )
    # the bonus line of the points table, and the verification panel's social-insurance fact
    assert f'<span class="source">来源：{source}</span>' in body
    assert f'<p class="source">来源：{source}</p>' in body
    assert MOTHER not in body
    assert (
        f"Human resources and social security bureau · social-insurance payments · data as of "
        f"March 25, 2027 · batch {example_4.pk} · record {idnumber.mask(MOTHER)} 2027-03"
    ) in english
