"""Department files handed in through the portal: stored, loaded by a worker, then deleted."""

import time
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection
from django.utils import timezone

from registry.loading import uploads
from registry.loading.uploads import (
    UploadProgress,
    UploadRefused,
    feed_upload_create,
    feed_upload_load,
    feed_upload_progress,
    feed_upload_reconcile,
)
from registry.models import FeedUpload, HukouRecord, ImportBatch
from registry.tasks import import_upload
from tests.registry.loading.test_import import CHILD, HUKOU_HEADER, MOTHER

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

AS_OF = date(2027, 3, 1)
BAD_CHECK = CHILD[:17] + ("0" if CHILD[17] != "0" else "1")
GOOD_AND_BAD = (
    "\n".join(
        [
            HUKOU_HEADER,
            f"H1,{CHILD},陈小明,M,2020-03-15,440604,440604010003,2020-04-01,祖庙路1号,",
            f"H1,{BAD_CHECK},陈小红,F,2020-03-15,440604,440604010003,2020-04-01,,",
            f"H1,{MOTHER},李美玲,F,1990-07-01,440604,440604010003,2019-01-01,,",
        ]
    )
    + "\n"
).encode()


def _create(content: bytes = GOOD_AND_BAD, **overrides) -> FeedUpload:
    values = {
        "source": "hukou",
        "file": SimpleUploadedFile("公安户籍-2027年3月.csv", content, content_type="text/csv"),
        "encoding": "utf-8",
        "as_of": AS_OF,
        "submitted_by": "steward1",
    }
    values.update(overrides)
    return feed_upload_create(**values)


def _stored_files(media: Path) -> list[Path]:
    return sorted(path for path in media.rglob("*") if path.is_file()) if media.exists() else []


def test_a_handed_in_file_is_kept_until_loaded_and_queued_after_commit(
    media, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(import_upload, "delay", sent.append)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        upload = _create()
        assert sent == []

    for callback in callbacks:
        callback()
    assert sent == [upload.pk]
    upload.refresh_from_db()
    assert (upload.status, upload.file_name, upload.size_bytes) == (
        FeedUpload.Status.QUEUED,
        "公安户籍-2027年3月.csv",
        len(GOOD_AND_BAD),
    )
    assert Path(upload.file.path).read_bytes() == GOOD_AND_BAD
    assert _stored_files(media) == [Path(upload.file.path)]


def test_the_load_keeps_the_good_rows_links_its_batch_and_deletes_the_file(media):
    upload = _create()

    loaded = feed_upload_load(upload.pk)

    assert loaded.status == FeedUpload.Status.DONE
    batch = ImportBatch.objects.get()
    assert loaded.batch == batch
    assert (batch.file_name, batch.submitted_by, batch.as_of) == (
        "公安户籍-2027年3月.csv",
        "steward1",
        AS_OF,
    )
    assert (batch.rows_read, batch.rows_inserted, batch.rows_rejected) == (3, 2, 1)
    assert [item["line"] for item in batch.rejections] == [3]
    assert sorted(HukouRecord.objects.values_list("id_number", flat=True)) == sorted(
        [CHILD, MOTHER]
    )
    assert _stored_files(media) == []
    assert not loaded.file
    assert loaded.backend_pid is None
    assert loaded.finished_at is not None


def test_a_second_delivery_of_the_message_changes_nothing(media):
    upload = _create()
    feed_upload_load(upload.pk)

    assert feed_upload_load(upload.pk) is None

    assert ImportBatch.objects.count() == 1
    assert HukouRecord.objects.count() == 2


def test_a_file_not_in_its_encoding_fails_naming_the_line_and_is_deleted(media):
    content = GOOD_AND_BAD + f"H3,{MOTHER},李美玲,F,1990-07-01,440604,".encode("gbk") + b"\n"
    upload = _create(content)

    loaded = feed_upload_load(upload.pk)

    assert loaded.status == FeedUpload.Status.FAILED
    assert loaded.error == "公安户籍-2027年3月.csv is not utf-8 text (line 5; try --encoding)"
    assert (loaded.error_code, loaded.error_params) == (
        "not_in_encoding",
        {"line": 5, "encoding": "utf-8"},
    )
    assert HukouRecord.objects.count() == 0
    assert _stored_files(media) == []


def test_a_file_of_another_feed_fails_with_its_header_rejected(media):
    upload = _create(b"certificate_no,owner_id_number\nX,Y\n")

    loaded = feed_upload_load(upload.pk)

    assert loaded.status == FeedUpload.Status.FAILED
    assert loaded.batch.status == ImportBatch.Status.FAILED
    assert loaded.batch.rejections[0]["code"] == "missing_columns"
    assert HukouRecord.objects.count() == 0
    assert _stored_files(media) == []


def test_a_load_that_breaks_is_failed_not_left_running(media, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError(f"no space left while loading {CHILD}")

    monkeypatch.setattr(uploads, "registry_import_file", broken)
    upload = _create()

    loaded = feed_upload_load(upload.pk)

    assert loaded.status == FeedUpload.Status.FAILED
    assert loaded.error == "the load stopped unexpectedly; the worker's log says why"
    assert loaded.error_code == "stopped"
    assert _stored_files(media) == []
    assert [record.getMessage() for record in caplog.records if record.levelname == "ERROR"] == [
        f"feed upload {upload.pk}: the load stopped"
    ]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"source": "tax"}, "source", "unknown source 'tax'"),
        (
            {"encoding": "latin-1"},
            "encoding",
            "unknown encoding 'latin-1': one of auto, utf-8, gbk, gb18030",
        ),
        ({"file": SimpleUploadedFile("empty.csv", b"")}, "file", "the file is empty"),
    ],
)
def test_refused_uploads_store_nothing(media, overrides, field, message):
    with pytest.raises(UploadRefused) as refused:
        _create(**overrides)

    assert refused.value.field == field
    assert str(refused.value).startswith(f"{field}: {message}")
    assert FeedUpload.objects.count() == 0
    assert _stored_files(media) == []


def test_a_file_whose_row_cannot_be_written_is_not_kept(media, monkeypatch):
    def refused(self, *args, **kwargs):
        raise DatabaseError("the database refused the row")

    monkeypatch.setattr(FeedUpload, "save", refused)

    with pytest.raises(DatabaseError):
        _create()

    assert _stored_files(media) == []


def test_a_file_over_the_limit_is_refused(media, settings):
    settings.REGISTRY_UPLOAD_MAX_BYTES = 1024 * 1024
    with pytest.raises(UploadRefused) as refused:
        _create(b"x" * (1024 * 1024 + 1))

    assert str(refused.value) == "file: the file is larger than 1 MB"
    assert FeedUpload.objects.count() == 0
    assert _stored_files(media) == []


def _running(backend_pid: int | None, started_ago: timedelta = timedelta(minutes=1)):
    upload = _create()
    FeedUpload.objects.filter(pk=upload.pk).update(
        status=FeedUpload.Status.RUNNING,
        started_at=timezone.now() - started_ago,
        backend_pid=backend_pid,
    )
    return upload


def _live_pid() -> int:
    connection.ensure_connection()
    return connection.connection.info.backend_pid


def test_an_upload_whose_worker_died_is_sent_again_and_loaded(media, monkeypatch):
    """The dead worker's session is gone from pg_stat_activity (and its transaction with it)."""
    sent = []
    monkeypatch.setattr(import_upload, "delay", sent.append)
    dead = _running(backend_pid=2**31 - 1)
    alive = _running(backend_pid=_live_pid())

    assert feed_upload_reconcile() == 1

    assert sent == [dead.pk]
    assert feed_upload_load(alive.pk) is None
    assert feed_upload_load(dead.pk).status == FeedUpload.Status.DONE


def test_a_queued_upload_is_sent_again_only_once_its_message_is_overdue(media, monkeypatch):
    sent = []
    monkeypatch.setattr(import_upload, "delay", sent.append)
    fresh = _create()
    overdue = _create()
    FeedUpload.objects.filter(pk=overdue.pk).update(
        submitted_at=timezone.now() - timedelta(minutes=3)
    )

    assert feed_upload_reconcile() == 1

    assert sent == [overdue.pk]
    assert FeedUpload.objects.get(pk=fresh.pk).status == FeedUpload.Status.QUEUED


def test_progress_reads_the_loading_backends_copy(media):
    """A second session streams rows through COPY as a worker does; the page's progress is
    what PostgreSQL reports for that session."""
    settings_dict = connection.settings_dict
    with psycopg.connect(
        dbname=settings_dict["NAME"],
        user=settings_dict["USER"],
        host=settings_dict["HOST"],
        port=settings_dict["PORT"] or 5432,
        autocommit=True,
    ) as other:
        other.execute("CREATE TEMPORARY TABLE incoming (line text)")
        upload = _running(backend_pid=other.info.backend_pid)
        FeedUpload.objects.filter(pk=upload.pk).update(size_bytes=2_000_000)
        upload.refresh_from_db()
        with other.cursor().copy("COPY incoming FROM STDIN") as copy:
            # 100,000 lines of 10 bytes: half the file the upload says it is.
            copy.write(b"".join(b"%09d\n" % n for n in range(100_000)))
            deadline = time.monotonic() + 10
            progress = feed_upload_progress(upload)
            while progress.rows != 100_000 and time.monotonic() < deadline:
                time.sleep(0.05)
                progress = feed_upload_progress(upload)

        assert progress == UploadProgress("reading", 45, 100_000)
        # The COPY has ended and nothing else runs in that session.
        assert feed_upload_progress(upload) == UploadProgress("working", None)


def test_progress_before_and_after_the_load(media):
    upload = _create()
    assert feed_upload_progress(upload) == UploadProgress("queued", 0)

    loaded = feed_upload_load(upload.pk)

    assert feed_upload_progress(loaded) == UploadProgress("done", 100)
