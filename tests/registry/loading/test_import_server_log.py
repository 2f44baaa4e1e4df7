"""A feed with a key twice never makes PostgreSQL log the key.

A statement that fails on the server (a unique index build over duplicated ID numbers) is
written to PostgreSQL's own log with its DETAIL line, `Key (id_number)=(…) is duplicated.`,
where the product's masking cannot reach. So the import finds duplicates with a query first
and no statement of it fails; the duplicates are reported by line numbers only.
"""

from datetime import date

import pytest
from django.db import connection

from registry import idnumber
from registry.loading.imports import registry_import_file
from registry.models import HukouRecord

pytestmark = pytest.mark.django_db

CHILD = idnumber.make("440604", date(2020, 3, 15), 123)
MOTHER = idnumber.make("440604", date(1990, 7, 1), 222)
HEADER = (
    "id_number,name,sex,birth_date,hukou_district_code,community_code,address,"
    "registered_on,household_no"
)


class FailedStatements:
    """Every statement that raised on the server, as the database saw it."""

    def __init__(self):
        self.failed: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        try:
            return execute(sql, params, many, context)
        except Exception:
            self.failed.append(sql)
            raise


def _import(tmp_path, source: str, lines: list[str]):
    feed = tmp_path / f"{source}.csv"
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    watch = FailedStatements()
    with connection.execute_wrapper(watch):
        report = registry_import_file(source=source, path=feed, method="copy")
    return report, watch.failed


@pytest.mark.parametrize("stored_before", [False, True], ids=["first-load", "later-load"])
def test_a_key_twice_is_found_by_a_query_and_no_statement_fails(tmp_path, stored_before):
    if stored_before:
        # A later load goes through the staging table rather than straight into the table.
        _import(
            tmp_path,
            "hukou",
            [HEADER, f"{MOTHER},李美玲,F,1990-07-01,440604,440604010003,,2019-01-01,H1"],
        )

    report, failed = _import(
        tmp_path,
        "hukou",
        [
            HEADER,
            f"{CHILD},陈小明,M,2020-03-15,440604,440604010003,,2020-04-01,H1",
            f"{CHILD},陈小明,M,2020-03-15,440604,440604010003,,2021-01-01,H1",
        ],
    )

    assert failed == []
    assert report.rejections == [(3, "duplicate key: the same key as line 2")]
    assert CHILD not in str(report.rejections)
    assert HukouRecord.objects.get(id_number=CHILD).registered_on == date(2020, 4, 1)
