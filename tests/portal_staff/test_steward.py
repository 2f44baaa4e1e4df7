"""The data stewards' pages: import history with rejections, the registry's audit log."""

import logging
from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone
from pytest_django.asserts import assertContains

from enrollment.models import Role
from registry import idnumber
from registry.models import AuditEntry, ImportBatch, Source
from registry.services.audit import AuditItem, audit_append
from tests.enrollment.factories import UserFactory
from tests.portal_staff.conftest import login
from tests.registry.factories import ImportBatchFactory

pytestmark = pytest.mark.django_db

STEWARD_PAGES = ["/staff/steward/imports/", "/staff/steward/audit/"]
PERSON = idnumber.make("440604", date(1985, 5, 5), 321)


@pytest.fixture
def batch(db):
    return ImportBatchFactory(
        source=Source.PROPERTY,
        file_name="property.csv",
        rows_read=5,
        rows_inserted=3,
        rows_updated=0,
        rows_rejected=2,
        rejections=[
            {"line": 3, "reason": f"owner_id_number {PERSON}: the check character does not match"},
            {"line": 5, "reason": "share_percent: must be above 0 and at most 100"},
        ],
    )


def test_import_history_lists_batches_with_their_counts(steward, batch):
    response = login(steward).get("/staff/steward/imports/")

    assert response.status_code == 200
    assertContains(response, f'<a href="/staff/steward/imports/{batch.id}/">#{batch.id}</a>')
    assertContains(response, '<td data-label="拒收" class="num">2</td>', html=True)
    assertContains(response, '<td data-label="读取" class="num">5</td>', html=True)
    assertContains(response, "property.csv")


def test_import_report_lists_each_rejected_line_with_id_numbers_masked(steward, batch):
    response = login(steward).get(f"/staff/steward/imports/{batch.id}/")

    assert response.status_code == 200
    assert response.context["rejections"] == [
        {
            "line": 3,
            "reason": f"owner_id_number {idnumber.mask(PERSON)}: the check character does not match",
        },
        {"line": 5, "reason": "share_percent: must be above 0 and at most 100"},
    ]
    assertContains(response, idnumber.mask(PERSON))
    assert PERSON not in response.content.decode()


def test_unknown_batch_is_not_found(steward, db):
    assert login(steward).get("/staff/steward/imports/999999/").status_code == 404


def _entry(*, client_id, purpose, outcome, at=None, reason=""):
    entry = audit_append(
        items=[
            AuditItem(
                client_id=client_id,
                end_user="counter",
                purpose=purpose,
                consent_reference="C-X-1",
                outcome=outcome,
                question={"who": PERSON},
                refusal_reason=reason,
                subjects=[PERSON],
            )
        ]
    )[0]
    if at is not None:
        # Only for the date filter: the chain is not checked here.
        AuditEntry.objects.filter(pk=entry.pk).update(at=at)
    return entry


@pytest.fixture
def entries(db):
    tz = timezone.get_current_timezone()
    return {
        "answered": _entry(
            client_id="edu-440604",
            purpose="primary-enrollment-eligibility",
            outcome="answered",
            at=datetime(2027, 4, 12, 10, 0, tzinfo=tz),
        ),
        "refused": _entry(
            client_id="hr-440604",
            purpose="",
            outcome="refused",
            reason=f"no consent for {PERSON}",
            at=datetime(2027, 4, 14, 23, 30, tzinfo=tz),
        ),
    }


def test_audit_log_filters_by_client_purpose_outcome_and_dates(steward, entries):
    client = login(steward)

    def ids(**params):
        response = client.get("/staff/steward/audit/", params)
        assert response.status_code == 200
        return [row["id"] for row in response.context["rows"]]

    answered, refused = entries["answered"].id, entries["refused"].id
    assert ids() == [refused, answered]
    assert ids(client="hr-") == [refused]
    assert ids(purpose="enrollment") == [answered]
    assert ids(outcome="answered") == [answered]
    assert ids(outcome="refused") == [refused]
    assert ids(date_from="2027-04-13") == [refused]
    assert ids(date_to="2027-04-12") == [answered]
    assert ids(date_from="2027-04-14", date_to="2027-04-14") == [refused]
    assert ids(date_from="2027-04-15") == []


def test_audit_log_refuses_a_backwards_date_range(steward, entries):
    response = login(steward).get(
        "/staff/steward/audit/", {"date_from": "2027-04-15", "date_to": "2027-04-12"}
    )

    assertContains(response, "开始日期不能晚于结束日期。")
    assert response.context["rows"] == []


def test_audit_log_shows_no_unmasked_id_number(steward, entries):
    response = login(steward).get("/staff/steward/audit/")

    html = response.content.decode()
    assert PERSON not in html
    assertContains(response, f"no consent for {idnumber.mask(PERSON)}")
    assertContains(response, '<td data-label="涉及人数" class="num">1</td>', count=2, html=True)


@pytest.mark.parametrize("role", [Role.PARENT, Role.OFFICER, Role.SCHOOL])
def test_other_roles_are_refused_the_steward_pages(batch, role, caplog):
    user = UserFactory(
        username=f"not-steward-{role}", role=role, district_code="440604", school_code="S1"
    )
    client = login(user)

    with caplog.at_level(logging.WARNING, logger="enrollment.access"):
        statuses = [client.get(url).status_code for url in STEWARD_PAGES]
        statuses.append(client.get(f"/staff/steward/imports/{batch.id}/").status_code)

    assert statuses == [403, 403, 403]
    assert len([r for r in caplog.records if r.name == "enrollment.access"]) == 3


def test_import_batches_list_is_newest_first(steward):
    old = ImportBatchFactory(source=Source.HUKOU)
    ImportBatch.objects.filter(pk=old.pk).update(started_at=timezone.now() - timedelta(days=2))
    new = ImportBatchFactory(source=Source.RENTAL)

    response = login(steward).get("/staff/steward/imports/")

    assert [b.id for b in response.context["page"].object_list] == [new.id, old.id]


def test_import_history_summarises_the_latest_batch_of_each_source(steward, batch):
    older = ImportBatchFactory(source=Source.PROPERTY, rows_read=9, rows_rejected=9)
    ImportBatch.objects.filter(pk=older.pk).update(started_at=timezone.now() - timedelta(days=1))
    ImportBatchFactory(source=Source.HUKOU, rows_read=4, rows_rejected=0)
    ImportBatchFactory(source=Source.RENTAL, rows_read=7, status=ImportBatch.Status.FAILED)

    response = login(steward).get("/staff/steward/imports/")

    assert response.context["quality_chart"].rows == (
        ("户籍信息（公安部门）", 4, 0),
        ("房产登记（住建部门）", 5, 2),
    )
    assertContains(response, '<td data-label="数据源">房产登记（住建部门）</td>', html=True)
