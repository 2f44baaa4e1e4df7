"""The stewards see one diagnosis per load, failed loads as failed, every rejected line as a
download, and the data quality of each source over its batches and of the pool as a whole."""

import logging
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from enrollment.models import Role
from registry import idnumber
from registry.models import FeedUpload, HukouRecord, ImportBatch, Source
from registry.stewards.selectors import admission_cutoff
from tests.enrollment.factories import UserFactory
from tests.enrollment.portal.staff.conftest import login
from tests.registry.factories import (
    HukouRecordFactory,
    ImportBatchFactory,
    PropertyRecordFactory,
    RentalRecordFactory,
    ResidencePermitRecordFactory,
    SocialInsuranceRecordFactory,
)
from tests.registry.loading.test_import_diagnosis import HEADER, person

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

NEW = "/staff/steward/uploads/new/"
QUALITY = "/staff/steward/quality/"


def _upload(client, lines, django_capture_on_commit_callbacks) -> FeedUpload:
    content = ("\n".join(lines) + "\n").encode()
    form = {
        "source": "hukou",
        "file": SimpleUploadedFile("hukou-police.csv", content, content_type="text/csv"),
        "encoding": "utf-8",
        "as_of": "2027-03-01",
    }
    with django_capture_on_commit_callbacks(execute=True):
        client.post(NEW, form)
    return FeedUpload.objects.get()


def test_a_file_whose_every_row_is_refused_shows_as_failed_with_its_diagnosis(
    steward, django_capture_on_commit_callbacks
):
    client = login(steward)

    upload = _upload(
        client,
        [HEADER, *(person(n, sex="未") for n in range(1, 7))],
        django_capture_on_commit_callbacks,
    )
    page = client.get(f"/staff/steward/uploads/{upload.pk}/")

    assert (upload.status, upload.error_code) == (FeedUpload.Status.FAILED, "nothing_loaded")
    assert upload.error == (
        "not loaded, no row could be taken: column sex: 6 of 6 rows — must be M or F"
    )
    assert upload.batch.status == ImportBatch.Status.FAILED
    assert HukouRecord.objects.count() == 0
    assertContains(page, '<span class="badge failed">失败</span>', html=True)
    assertContains(page, "文件中没有一行能够导入，整个文件未导入，没有写入任何数据。原因见下。")
    assertContains(page, "读取的 6 行中，有 6 行因同一原因被拒收：性别（sex）：只能是 M 或 F")
    assertContains(
        page,
        "例如：第 2 行（值形如“□”），第 3 行（值形如“□”），第 4 行（值形如“□”），"
        "第 5 行（值形如“□”），第 6 行（值形如“□”）",
    )
    assertNotContains(page, "已完成")
    assertNotContains(page, "<progress")
    listed = client.get(NEW)
    assertContains(listed, '<td data-label="状态">失败</td>', html=True)


def test_a_partly_bad_file_keeps_its_good_rows_and_shows_the_finding(
    steward, django_capture_on_commit_callbacks
):
    client = login(steward)
    lines = [HEADER, person(1), *(person(n, sex="3") for n in range(2, 6)), person(6, sex="F")]

    upload = _upload(client, lines, django_capture_on_commit_callbacks)
    page = client.get(f"/staff/steward/uploads/{upload.pk}/")

    assert upload.status == FeedUpload.Status.DONE
    assert HukouRecord.objects.count() == 2
    assertContains(page, '<span class="badge done">已完成</span>', html=True)
    assertContains(page, "读取 6 行，新增 2，更新 0，拒收 4。")
    assertContains(page, "读取的 6 行中，有 4 行因同一原因被拒收：性别（sex）：只能是 M 或 F")
    batch = client.get(f"/staff/steward/imports/{upload.batch_id}/")
    assertContains(batch, "读取的 6 行中，有 4 行因同一原因被拒收：性别（sex）：只能是 M 或 F")
    assertContains(batch, f'href="/staff/steward/imports/{upload.batch_id}/rejections.csv"')


def test_the_rejected_lines_download_as_a_spreadsheet_safe_csv(steward):
    person_number = idnumber.make("440604", date(1985, 5, 5), 321)
    batch = ImportBatchFactory(
        rows_read=9,
        rows_rejected=2,
        rejections=[
            {
                "line": 2,
                "reason": "sex: must be M or F",
                "code": "not_m_or_f",
                "params": {"field": "sex"},
            },
            {"line": 5, "reason": f"=cmd|' /C calc'!A0 {person_number}", "code": "", "params": {}},
        ],
    )

    response = login(steward).get(f"/staff/steward/imports/{batch.pk}/rejections.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="rejections-hukou-{batch.pk}.csv"'
    )
    masked = idnumber.mask_in_text(person_number)
    assert b"".join(response.streaming_content).decode("utf-8") == (
        "\ufeff行号,列,原因,reason,code\r\n"
        "2,性别（sex）,性别（sex）：只能是 M 或 F,sex: must be M or F,not_m_or_f\r\n"
        f"5,,该行被拒收。,'=cmd|' /C calc'!A0 {masked},\r\n"
    )
    assert masked != person_number


def test_the_quality_page_shows_every_batch_of_every_source(steward):
    first = ImportBatchFactory(source=Source.HUKOU, rows_read=10, rows_inserted=7, rows_rejected=3)
    failed = ImportBatchFactory(
        source=Source.HUKOU, rows_read=6, rows_rejected=6, status=ImportBatch.Status.FAILED
    )
    last = ImportBatchFactory(source=Source.HUKOU, rows_read=12, rows_updated=12)
    ImportBatch.objects.filter(pk=first.pk).update(started_at=timezone.now() - timedelta(days=2))
    ImportBatch.objects.filter(pk=failed.pk).update(started_at=timezone.now() - timedelta(days=1))
    rental = ImportBatchFactory(source=Source.RENTAL, rows_read=4, rows_inserted=4)

    page = login(steward).get(QUALITY)

    assert page.status_code == 200
    by_source = {item["source"]: item for item in page.context["sources"]}
    assert list(by_source) == list(Source.values)
    assert [b.id for b in by_source["hukou"]["batches"]] == [last.id, failed.id, first.id]
    assert [b.id for b in by_source["rental"]["batches"]] == [rental.id]
    assert by_source["property"]["chart"] is None
    assertContains(page, '<td data-label="拒收" class="num bad">拒收 3（30.0%）</td>', html=True)
    assertContains(page, '<td data-label="拒收" class="num bad">拒收 6（100.0%）</td>', html=True)
    assertContains(page, '<td data-label="拒收" class="num">0</td>', count=2, html=True)
    svg = str(by_source["hukou"]["chart"].svg)
    assert svg.count('class="bar bar-rejected"') == 3
    assert "拒收 3</text>" in svg
    assert "失败</text>" in svg
    assert f"批次 #{failed.id}：读取 6 行，拒收 6 行（导入失败）" in svg


def test_the_quality_page_counts_the_pool_as_a_whole(steward):
    today = timezone.localdate()
    a, b, c, d, e, f = (idnumber.make("440604", date(1980, 1, 1), n) for n in range(1, 7))
    HukouRecordFactory(id_number=a)
    HukouRecordFactory(id_number=b)
    PropertyRecordFactory(owner_id_number=a)
    PropertyRecordFactory(owner_id_number=c)
    RentalRecordFactory(tenant_id_number=c, end_date=date(2027, 8, 31))
    RentalRecordFactory(tenant_id_number=d, end_date=date(2027, 3, 30))
    SocialInsuranceRecordFactory(id_number=e, month=date(2026, 1, 1))
    SocialInsuranceRecordFactory(id_number=e, month=date(2026, 2, 1))
    SocialInsuranceRecordFactory(id_number=a)
    ResidencePermitRecordFactory(id_number=f, expires_on=today + timedelta(days=30))
    ResidencePermitRecordFactory(id_number=b, expires_on=today - timedelta(days=1))
    ResidencePermitRecordFactory(id_number=e, expires_on=today + timedelta(days=400))

    page = login(steward).get(QUALITY, {"cutoff": "2027-03-31"})
    narrower = login(steward).get(QUALITY, {"cutoff": "2027-03-31", "days": "20"})

    pool = page.context["pool"]
    # c, d, e and f: each once, whichever feeds name them
    assert pool.without_hukou == 4
    assert (pool.rentals, pool.rentals_ending_before_cutoff) == (2, 1)
    assert (pool.permits, pool.permits_expiring, pool.permits_expired) == (3, 1, 1)
    assertContains(page, "4 人")
    assertContains(page, "2 条租赁备案中，1 条在截止日 2027-03-31 之前到期")
    assertContains(page, "3 张中，1 张将在 90 天内到期，1 张已过期")
    assertContains(narrower, "3 张中，0 张将在 20 天内到期，1 张已过期")


def test_the_cutoff_defaults_to_the_coming_admissions():
    assert admission_cutoff(date(2026, 12, 5)) == date(2027, 3, 31)
    assert admission_cutoff(date(2027, 5, 1)) == date(2027, 3, 31)
    assert admission_cutoff(date(2027, 9, 1)) == date(2028, 3, 31)


def test_a_bad_cutoff_is_refused_by_its_field(steward):
    page = login(steward).get(QUALITY, {"cutoff": "2027-02-30"})

    assert page.status_code == 400
    assert page.context["form"].errors == {"cutoff": ["输入一个有效的日期。"]}


@pytest.mark.parametrize("role", [Role.PARENT, Role.OFFICER, Role.SCHOOL])
def test_other_roles_are_refused_the_quality_page_and_the_download(role, caplog):
    batch = ImportBatchFactory(rows_rejected=1, rejections=[{"line": 2, "reason": "x"}])
    user = UserFactory(
        username=f"not-steward-{role}", role=role, district_code="440604", school_code="S1"
    )
    client = login(user)

    with caplog.at_level(logging.WARNING, logger="registry.access"):
        statuses = [
            client.get(QUALITY).status_code,
            client.get(f"/staff/steward/imports/{batch.pk}/rejections.csv").status_code,
        ]

    assert statuses == [403, 403]
    assert len([r for r in caplog.records if r.name == "registry.access"]) == 2


def test_signed_out_visitors_are_sent_to_sign_in(client):
    batch = ImportBatchFactory()
    for url in (QUALITY, f"/staff/steward/imports/{batch.pk}/rejections.csv"):
        response = client.get(url)
        assert response.status_code == 302
        assert "login" in response["Location"]
