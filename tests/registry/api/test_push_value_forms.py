"""The counter's push takes a record's values in the forms a department's feed may use."""

from datetime import date
from decimal import Decimal

import pytest

from registry.models import HukouRecord, PropertyRecord, SocialInsuranceRecord
from tests.registry.api.test_api import CHILD, HUKOU, MOTHER, client_with

pytestmark = pytest.mark.django_db

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def test_a_pushed_record_in_department_forms_is_stored_as_its_canonical_facts():
    api = client_with("push")
    fifteen = MOTHER[:6] + MOTHER[8:17]  # born 1990: the first-generation number

    responses = [
        api.post("/registry/api/v1/records/", body, format="json")
        for body in (
            {
                "source": "hukou",
                "record": {
                    **HUKOU,
                    "id_number": CHILD.translate(FULL_WIDTH),
                    "sex": "男",
                    "birth_date": "2020年3月15日",
                    "registered_on": "20200401",
                },
            },
            {
                "source": "social_insurance",
                "record": {
                    "id_number": fifteen,
                    "month": "202501",
                    "pension": "是",
                    "medical": "未缴",
                    "employer_name": "某公司",
                },
            },
            {
                "source": "property",
                "record": {
                    "certificate_no": "C1",
                    "owner_id_number": MOTHER,
                    "share_percent": "50%",
                    "community_code": "440604010003",
                    "registered_on": "2020/1/2",
                },
            },
        )
    ]

    assert [r.status_code for r in responses] == [201, 201, 201]
    assert list(
        HukouRecord.objects.values_list("id_number", "sex", "birth_date", "registered_on")
    ) == [(CHILD, "M", date(2020, 3, 15), date(2020, 4, 1))]
    assert list(
        SocialInsuranceRecord.objects.values_list("id_number", "month", "pension", "medical")
    ) == [(MOTHER, date(2025, 1, 1), True, False)]
    assert list(
        PropertyRecord.objects.values_list("owner_id_number", "share_percent", "registered_on")
    ) == [(MOTHER, Decimal("50.00"), date(2020, 1, 2))]
