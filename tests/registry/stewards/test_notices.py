"""The stewards' notices page lists their own notices of failed loads and marks them read."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from registry.models import ImportBatch, StewardNotice
from tests.enrollment.factories import UserFactory

pytestmark = pytest.mark.django_db


def _failed_batch(file_name: str) -> ImportBatch:
    return ImportBatch.objects.create(
        source="hukou",
        file_name=file_name,
        as_of=date(2027, 3, 1),
        status=ImportBatch.Status.FAILED,
        rejections=[{"line": 0, "reason": f"{file_name}: malformed CSV"}],
    )


def test_a_steward_sees_their_notices_and_opening_the_page_reads_them(client, steward):
    # given a notice for this steward and one for another
    other = UserFactory(role="steward", username="steward2")
    mine = StewardNotice.objects.create(
        batch=_failed_batch("mine.csv"), steward=steward, created_at=timezone.now()
    )
    StewardNotice.objects.create(
        batch=_failed_batch("theirs.csv"), steward=other, created_at=timezone.now()
    )
    client.force_login(steward)

    # when
    response = client.get(reverse("steward:notices"))

    # then
    page = response.content.decode()
    assert response.status_code == 200
    assert "mine.csv 导入失败，未写入任何数据。mine.csv: malformed CSV" in page
    assert "theirs.csv" not in page
    mine.refresh_from_db()
    assert mine.read_at is not None


def test_a_parent_may_not_open_the_notices(client, parent):
    client.force_login(parent)

    assert client.get(reverse("steward:notices")).status_code == 403
