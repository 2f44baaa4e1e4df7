"""The data stewards' pages: import history with rejections, the registry's audit log."""

import dataclasses
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
from tests.enrollment.portal.staff.conftest import login
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
    """Rejections recorded before they had codes: general words, with the column where the
    reason names one first, and never the English or an ID number."""
    response = login(steward).get(f"/staff/steward/imports/{batch.id}/")

    assert response.status_code == 200
    assert response.context["rejections"] == [
        {"line": 3, "message": "该行被拒收。"},
        {"line": 5, "message": "该行被拒收：产权份额（%）（share_percent）"},
    ]
    html = response.content.decode()
    assert PERSON not in html
    assert "check character" not in html


# (code, params, Chinese, English) as the import writes them (registry.feeds.specs.RowRejected).
CODED_REJECTIONS = [
    (
        "id_check_character",
        {"field": "owner_id_number"},
        "权利人身份证号（owner_id_number）：身份证号校验位不符（GB 11643）",
        "Owner's ID number (owner_id_number): the ID number's check character does not match "
        "(GB 11643)",
    ),
    (
        "impossible_date",
        {"field": "registered_on", "value": "2023-02-30"},
        "登记日期（registered_on）：日期 2023-02-30 不存在",
        "Registration date (registered_on): the date 2023-02-30 does not exist",
    ),
    (
        "wrong_field_count",
        {"expected": 6, "found": 4},
        "应有 6 个字段，实际有 4 个",
        "6 fields expected, 4 found",
    ),
    (
        "duplicate_key",
        {"first_line": 4},
        "与第 4 行的主键重复，保留第一行",
        "Same key as line 4; the first line is kept",
    ),
    (
        "end_before_start",
        {"field": "end_date", "start": "start_date"},
        "租赁结束日期（end_date）：早于租赁开始日期（start_date）",
        "Rental end date (end_date): before Rental start date (start_date)",
    ),
    (
        "missing_columns",
        {"missing": ["owner_id_number"], "source": "property", "columns": ["a", "b"]},
        "表头缺少这些列：owner_id_number（房产登记（住建部门）的文件须有这些列：a，b）",
        "The header lacks these columns: owner_id_number (a Property registration (housing) "
        "file has these columns: a, b)",
    ),
    (
        "repeated_columns",
        {"repeated": ["month", "pension"]},
        "表头中这些列出现了不止一次：month，pension",
        "The header names these columns more than once: month, pension",
    ),
    # A parameter that holds an ID number is masked; a code this version does not know is
    # said in general words with its column.
    (
        "impossible_date",
        {"field": "registered_on", "value": PERSON},
        f"登记日期（registered_on）：日期 {idnumber.mask(PERSON)} 不存在",
        f"Registration date (registered_on): the date {idnumber.mask(PERSON)} does not exist",
    ),
    (
        "not_yet_known",
        {"field": "share_percent"},
        "该行被拒收：产权份额（%）（share_percent）",
        "Row rejected: Ownership share (%) (share_percent)",
    ),
]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_import_report_words_each_rejection_by_its_code_in_the_pages_language(steward, language):
    batch = ImportBatchFactory(
        source=Source.PROPERTY,
        rejections=[
            {"line": line, "reason": f"the import's English {line}", "code": code, "params": params}
            for line, (code, params, _, _) in enumerate(CODED_REJECTIONS, start=2)
        ],
    )
    client = login(steward)
    client.cookies["django_language"] = language

    response = client.get(f"/staff/steward/imports/{batch.id}/", HTTP_ACCEPT_LANGUAGE=language)

    words = [zh if language == "zh-hans" else en for _, _, zh, en in CODED_REJECTIONS]
    assert [item["message"] for item in response.context["rejections"]] == words
    html = response.content.decode()
    assert "the import&#x27;s English" not in html
    assert PERSON not in html


def test_a_file_that_could_not_be_read_is_said_as_such(steward):
    batch = ImportBatchFactory(
        source=Source.HUKOU,
        status=ImportBatch.Status.FAILED,
        rejections=[{"line": 0, "reason": "hukou.csv is not utf-8 text (byte 7 of a read block)"}],
    )

    response = login(steward).get(f"/staff/steward/imports/{batch.id}/")

    assert response.context["rejections"] == [
        {"line": 0, "message": "整个文件未能导入，请检查文件的编码和格式。"}
    ]


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
    """A refusal sentence this version does not know is said in general words, never as the
    registry wrote it (here with an ID number in it)."""
    response = login(steward).get("/staff/steward/audit/")

    html = response.content.decode()
    assert PERSON not in html
    assert idnumber.mask(PERSON) not in html
    assert [(row["purpose"], row["refusal_reason"]) for row in response.context["rows"]] == [
        ("未说明用途", "数据平台拒绝了这次查询"),
        ("小学一年级入学资格核验", ""),
    ]
    assertContains(response, '<td data-label="涉及人数" class="num">1</td>', count=2, html=True)


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("zh-hans", [("未说明用途", "查询未说明用途"), ("入学资格-2027", "查询没有附授权编号")]),
        (
            "en",
            [
                ("No purpose stated", "The lookup stated no purpose"),
                ("入学资格-2027", "The lookup carried no consent reference"),
            ],
        ),
    ],
)
def test_audit_log_words_the_registrys_own_refusals_and_keeps_other_purposes(
    steward, db, language, words
):
    """The refusals the registry writes, provoked through it; another department's purpose
    is shown as that department wrote it."""
    from registry.contract import FamilyQuestion, LookupContext, LookupRefused
    from registry.services.verification import verify_families

    question = FamilyQuestion(
        key="A1",
        consent_reference="C-1",
        end_user="counter",
        child_id_number=PERSON,
        guardian_id_numbers=(),
        home_community_code="440604010003",
        cutoff=date(2027, 3, 31),
        district_code="440604",
        city_code="440600",
    )
    for purpose, consent in [(" ", "C-1"), ("入学资格-2027", "")]:
        with pytest.raises(LookupRefused):
            verify_families(
                questions=[dataclasses.replace(question, consent_reference=consent)],
                context=LookupContext(client_id="edu-440604", purpose=purpose),
            )
    client = login(steward)
    client.cookies["django_language"] = language

    response = client.get("/staff/steward/audit/", HTTP_ACCEPT_LANGUAGE=language)

    assert [
        (row["purpose"], row["refusal_reason"]) for row in reversed(response.context["rows"])
    ] == words


@pytest.mark.parametrize("role", [Role.PARENT, Role.OFFICER, Role.SCHOOL])
def test_other_roles_are_refused_the_steward_pages(batch, role, caplog):
    user = UserFactory(
        username=f"not-steward-{role}", role=role, district_code="440604", school_code="S1"
    )
    client = login(user)

    with caplog.at_level(logging.WARNING, logger="registry.access"):
        statuses = [client.get(url).status_code for url in STEWARD_PAGES]
        statuses.append(client.get(f"/staff/steward/imports/{batch.id}/").status_code)

    assert statuses == [403, 403, 403]
    assert len([r for r in caplog.records if r.name == "registry.access"]) == 3


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
