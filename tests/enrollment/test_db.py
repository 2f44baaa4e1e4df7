"""The outbox's plain tuples hold exactly what the fields' own preparation would give, and a
large set goes through COPY with the same result as a small one through bulk_create."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from enrollment import db
from enrollment.models import Notification
from enrollment.services.notification_texts import Renderer
from enrollment.services.notifications import Recipient, Row, notification_rows

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 6, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _rows(recipient_id: int, count: int = 1) -> list[Row]:
    recipient = Recipient(recipient_id, "en", "13900000001", "m@example.cn", "both", True)
    rows = []
    for index in range(count):
        rows += notification_rows(
            event="offer_made",
            object_key=str(index),
            recipient=recipient,
            renderer=Renderer("offer_made"),
            params={"ref": f"A{index}", "school": "文华小学", "deadline": NOW, "round": 1},
            now=NOW,
            application_id=None,
        )
    return rows


def test_a_row_is_the_models_insert_columns_in_order():
    assert list(Row._fields) == db.insert_columns(Notification)


def test_every_value_of_a_row_is_what_the_field_would_prepare(parent):
    # given an inbox row (sent) and an SMS and an e-mail row (queued)
    rows = _rows(parent.pk)
    fields = db._insert_fields(Notification)

    for row in rows:
        # when the fields prepare the same values as a save would
        prepared = db._insert_values(Notification(**row._asdict()), fields)

        # then they are the row's values, of the same types (a small integer field wraps its
        # int in psycopg's Int2, an int subclass that COPY writes as the same text)
        assert prepared == list(row)
        assert all(isinstance(value, type(mine)) for value, mine in zip(prepared, row, strict=True))


def test_a_large_set_goes_through_copy_and_skips_the_keys_written(parent):
    rows = _rows(parent.pk, count=400)
    assert len(rows) == 1200 >= db._COPY_FROM

    assert db.insert_rows_skipping_conflicts(Notification, rows, unique="key") == 1200
    assert db.insert_rows_skipping_conflicts(Notification, rows, unique="key") == 0
    assert Notification.objects.count() == 1200
    stored = Notification.objects.get(key=f"offer_made:7:{parent.pk}:sms")
    assert (stored.status, stored.address, stored.attempts, stored.sent_at, stored.created_at) == (
        "queued",
        "13900000001",
        0,
        None,
        NOW,
    )
    assert connection.vendor == "postgresql"
