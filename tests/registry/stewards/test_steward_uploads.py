"""A data steward hands in a department file through the portal and follows its load."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pytest_django.asserts import assertContains

from enrollment.models import Role
from registry.loading.uploads import feed_upload_load
from registry.models import FeedUpload, HukouRecord, ImportBatch
from tests.enrollment.factories import UserFactory
from tests.enrollment.portal.staff.conftest import login
from tests.registry.factories import ImportBatchFactory
from tests.registry.loading.test_uploads import GOOD_AND_BAD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

NEW = "/staff/steward/uploads/new/"


def _form(content: bytes = GOOD_AND_BAD, **overrides) -> dict:
    values = {
        "source": "hukou",
        "file": SimpleUploadedFile("hukou-2027-03.csv", content, content_type="text/csv"),
        "encoding": "utf-8",
        "as_of": "2027-03-01",
    }
    values.update(overrides)
    return values


def test_the_upload_page_offers_the_five_feeds_in_chinese(steward):
    response = login(steward).get(NEW)

    assert response.status_code == 200
    assert [label for _, label in response.context["form"].fields["source"].choices] == [
        "户籍信息（公安部门）",
        "房产登记（住建部门）",
        "租赁备案（住建部门）",
        "社保缴费（人社部门）",
        "居住证（公安部门）",
    ]
    assertContains(response, 'enctype="multipart/form-data"')


def test_a_handed_in_file_is_loaded_and_its_page_shows_the_batch(
    steward, django_capture_on_commit_callbacks
):
    client = login(steward)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(NEW, _form())

    upload = FeedUpload.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/staff/steward/uploads/{upload.pk}/"
    assert (upload.status, upload.submitted_by) == (FeedUpload.Status.DONE, "steward1")
    assert HukouRecord.objects.count() == 2

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert page.context["moving"] is False
    batch = ImportBatch.objects.get()
    assertContains(
        page,
        f'导入批次 <a href="/staff/steward/imports/{batch.id}/">#{batch.id}</a>：'
        "读取 3 行，新增 2，更新 0，拒收 1。",
    )
    assertContains(page, "hukou-2027-03.csv")
    assert "hx-get" not in page.content.decode()


def test_a_queued_upload_polls_and_the_finished_load_reloads_the_page(steward):
    client = login(steward)
    client.post(NEW, _form())  # the load waits for a commit that the test never makes
    upload = FeedUpload.objects.get()

    page = client.get(f"/staff/steward/uploads/{upload.pk}/")
    assertContains(page, f'hx-get="/staff/steward/uploads/{upload.pk}/progress/"')
    assertContains(page, "等待后台开始导入。")
    polled = client.get(f"/staff/steward/uploads/{upload.pk}/progress/", HTTP_HX_REQUEST="true")
    assert polled.status_code == 200
    assert "HX-Refresh" not in polled

    feed_upload_load(upload.pk)
    finished = client.get(f"/staff/steward/uploads/{upload.pk}/progress/", HTTP_HX_REQUEST="true")
    assert finished["HX-Refresh"] == "true"


def test_a_failed_load_says_why_on_its_page(steward, django_capture_on_commit_callbacks):
    client = login(steward)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(NEW, _form("户籍".encode("gbk") + b"\n"))
    upload = FeedUpload.objects.get()

    page = client.get(f"/staff/steward/uploads/{upload.pk}/")

    assert upload.status == FeedUpload.Status.FAILED
    assertContains(page, "文件不是 UTF-8 编码（第 1 行读不出来），请选择正确的文件编码后重新上传。")
    assert "try --encoding" not in page.content.decode()


@pytest.mark.parametrize(
    ("code", "params", "batch", "message"),
    [
        (
            "not_in_encoding",
            {"encoding": "gbk"},
            False,
            "文件不是 GBK 编码，请选择正确的文件编码后重新上传。",
        ),
        (
            "malformed_csv",
            {},
            True,
            "文件不是格式正确的 CSV（例如引号没有成对），请检查后重新上传。",
        ),
        ("unreadable", {}, False, "服务器读不到上传的文件，请重新上传；再次失败请联系系统管理员。"),
        (
            "stopped",
            {},
            False,
            "导入意外中断，没有写入任何数据。请重新上传；再次失败请联系系统管理员。",
        ),
        ("", {}, True, "文件没有导入，原因见导入批次的拒收明细。"),
        ("a_code_of_a_later_version", {}, False, "文件没有导入，请联系系统管理员。"),
    ],
)
def test_each_failure_is_worded_for_the_steward(steward, code, params, batch, message):
    upload = FeedUpload.objects.create(
        source="hukou",
        file_name="hukou.csv",
        size_bytes=10,
        as_of="2027-03-01",
        submitted_by="steward1",
        status=FeedUpload.Status.FAILED,
        error="in the import's words",
        error_code=code,
        error_params=params,
        batch=ImportBatchFactory(status=ImportBatch.Status.FAILED) if batch else None,
    )

    page = login(steward).get(f"/staff/steward/uploads/{upload.pk}/")

    assert page.context["failure"] == message
    assertContains(page, f'<p class="error" role="alert">{message}</p>', html=True)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"file": ""}, "file", "该字段是必填项。"),
        ({"file": SimpleUploadedFile("empty.csv", b"")}, "file", "提交的是空文件。"),
        ({"as_of": "2027-02-30"}, "as_of", "输入一个有效的日期。"),
        ({"source": "tax"}, "source", "选择一个有效的选项。 tax 不在可用的选项中。"),
        ({"encoding": "latin-1"}, "encoding", "选择一个有效的选项。 latin-1 不在可用的选项中。"),
    ],
)
def test_bad_input_is_refused_by_field_and_nothing_is_stored(
    steward, media, overrides, field, message
):
    response = login(steward).post(NEW, _form(**overrides))

    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert FeedUpload.objects.count() == 0
    assert not media.exists() or not any(path.is_file() for path in media.rglob("*"))


def test_a_file_over_the_limit_is_refused_before_anything_is_stored(steward, media, settings):
    settings.REGISTRY_UPLOAD_MAX_BYTES = 1024 * 1024

    response = login(steward).post(NEW, _form(b"x" * (1024 * 1024 + 1)))

    assert response.status_code == 400
    assert response.context["form"].errors["file"] == ["文件太大：不能超过 1 MB。"]
    assert FeedUpload.objects.count() == 0


@pytest.mark.parametrize("role", [Role.PARENT, Role.OFFICER, Role.SCHOOL])
def test_other_roles_cannot_hand_in_files(role, media):
    school = {"school_code": "S440604001"} if role == Role.SCHOOL else {}
    user = UserFactory(role=role, username=f"someone-{role}", district_code="440604", **school)

    response = login(user).post(NEW, _form())

    assert response.status_code == 403
    assert FeedUpload.objects.count() == 0


def test_an_upload_that_does_not_exist_is_not_found(steward):
    assert login(steward).get("/staff/steward/uploads/999/").status_code == 404


def test_the_pages_read_in_english(steward, django_capture_on_commit_callbacks):
    client = login(steward)
    client.cookies["django_language"] = "en"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(NEW, _form("户籍".encode("gbk") + b"\n"))
    upload = FeedUpload.objects.get()

    form_page = client.get(NEW)
    page = client.get(f"/staff/steward/uploads/{upload.pk}/")

    assertContains(form_page, "<h1>Upload department data</h1>", html=True)
    assertContains(form_page, "Data file (CSV or XLSX, as the interchange specification describes)")
    assertContains(page, f"<h1>Upload #{upload.pk}</h1>", html=True)
    assertContains(
        page,
        "The file is not UTF-8 text (line 1 cannot be read): choose the right file encoding "
        "and upload it again.",
    )
