"""Department files handed in through the portal: stored, loaded by a worker, then deleted.

The load is `registry_import_file`, the same as `import_registry`'s, in a Celery task
(`registry.import_upload`) so that a million-row file never holds a web request. The steward's
page follows it through PostgreSQL's own progress views (`pg_stat_progress_copy` while the
rows stream in, `pg_stat_progress_create_index` while the keys are built), read for the
backend that the worker recorded when it claimed the upload: the load's transaction needs no
progress writes of its own.
"""

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from registry import dispatch
from registry.feeds.specs import FEEDS
from registry.loading.imports import ImportFailed, registry_import_file
from registry.loading.report import failure_sentence
from registry.models import FeedUpload

logger = logging.getLogger(__name__)

# "auto": UTF-8 when the file is, otherwise GB18030 (registry.loading.formats).
ENCODINGS = ("auto", "utf-8", "gbk", "gb18030")
# What a steward may hand in: a CSV export or a spreadsheet's first sheet.
FILE_SUFFIXES = (".csv", ".xlsx")
# The error code of an upload of which no row loaded: its batch's diagnosis says why.
NOTHING_LOADED = "nothing_loaded"
# A claimed upload whose worker has not finished in this long is taken over by the next
# delivery of its message (the worker died; its transaction, and so its rows, are gone).
ABANDONED_AFTER = timedelta(hours=1)


class UploadRefused(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


def feed_upload_create(
    *, source: str, file: UploadedFile, encoding: str, as_of: date, submitted_by: str
) -> FeedUpload:
    """Store a handed-in file and queue its load (after commit: the row is the outbox)."""
    if source not in FEEDS:
        raise UploadRefused("source", f"unknown source {source!r}: one of {', '.join(FEEDS)}")
    if encoding not in ENCODINGS:
        raise UploadRefused(
            "encoding", f"unknown encoding {encoding!r}: one of {', '.join(ENCODINGS)}"
        )
    suffix = Path(file.name or "").suffix.lower() or ".csv"
    if suffix not in FILE_SUFFIXES:
        raise UploadRefused("file", "the file must be .csv or .xlsx")
    if not file.size:
        raise UploadRefused("file", "the file is empty")
    if file.size > settings.REGISTRY_UPLOAD_MAX_BYTES:
        limit = settings.REGISTRY_UPLOAD_MAX_BYTES // (1024 * 1024)
        raise UploadRefused("file", f"the file is larger than {limit} MB")
    upload = FeedUpload(
        source=source,
        file_name=file.name[:255],
        size_bytes=file.size,
        encoding=encoding,
        as_of=as_of,
        submitted_by=submitted_by,
    )
    # The stored name keeps the suffix: the load reads a spreadsheet by it.
    upload.file.save(f"{source}{suffix}", file, save=False)
    try:
        with transaction.atomic():
            upload.save()
            dispatch.feed_upload_enqueue(upload_id=upload.pk)
    except BaseException:
        # No row, no file: a department's data is never left behind unaccounted for.
        upload.file.delete(save=False)
        raise
    logger.info(
        "feed upload %s queued: %s, %s bytes, by %s", upload.pk, source, file.size, submitted_by
    )
    return upload


def feed_upload_load(upload_id: int) -> FeedUpload | None:
    """Load one upload. Idempotent: an upload that is done, failed or being loaded by a live
    worker is left alone, and None is returned."""
    upload = FeedUpload.objects.filter(pk=upload_id).first()
    if upload is None:
        return None
    live = _live_backends() if upload.status == FeedUpload.Status.RUNNING else None
    if not _claimable(upload, live):
        return None
    # Compare and set: of two deliveries of one message, one claims the upload.
    claimed = FeedUpload.objects.filter(
        pk=upload.pk, status=upload.status, started_at=upload.started_at
    ).update(
        status=FeedUpload.Status.RUNNING, started_at=timezone.now(), backend_pid=_backend_pid()
    )
    if not claimed:
        return None
    upload.refresh_from_db()
    try:
        report = registry_import_file(
            source=upload.source,
            path=upload.file.path,
            encoding=upload.encoding,
            as_of=upload.as_of,
            submitted_by=upload.submitted_by,
            file_name=upload.file_name,
        )
    except ImportFailed as error:
        upload.status = FeedUpload.Status.FAILED
        upload.error, upload.error_code, upload.error_params = str(error), error.code, error.params
    except Exception:
        # The load's transaction is rolled back; say so rather than retry a file that broke
        # the load once (the traceback, masked, is in the worker's log).
        logger.exception("feed upload %s: the load stopped", upload.pk)
        upload.status = FeedUpload.Status.FAILED
        upload.error = "the load stopped unexpectedly; the worker's log says why"
        upload.error_code = "stopped"
    else:
        upload.batch_id = report.batch_id
        upload.status = FeedUpload.Status.FAILED if report.failed else FeedUpload.Status.DONE
        if report.failed:
            # The batch holds the diagnosis the page words; the error is the command's words.
            upload.error, upload.error_code = failure_sentence(report), NOTHING_LOADED
    upload.finished_at = timezone.now()
    upload.backend_pid = None
    # The department's data now lives in the registry (or was refused): the file goes.
    upload.file.delete(save=False)
    upload.save()
    logger.info("feed upload %s %s: batch %s", upload.pk, upload.status, upload.batch_id)
    return upload


def _claimable(upload: FeedUpload, live_backends: set[int] | None) -> bool:
    """Queued, or running in a worker that is gone: its database session ended with it (and
    its transaction, so none of its rows stayed), or it has run for too long."""
    if upload.status == FeedUpload.Status.QUEUED:
        return True
    if upload.status != FeedUpload.Status.RUNNING:
        return False
    if upload.started_at is None or upload.started_at < timezone.now() - ABANDONED_AFTER:
        return True
    if upload.backend_pid is None or live_backends is None:
        return False
    return upload.backend_pid not in live_backends


def _live_backends() -> set[int] | None:
    """The database sessions open now; None where the database cannot tell (SQLite)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        # Inside a transaction PostgreSQL keeps answering from its first look at the other
        # sessions; a fresh look each time.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT pid FROM pg_stat_activity")
        return {pid for (pid,) in cursor.fetchall()}


def feed_upload_reconcile(*, queued_for: timedelta = timedelta(minutes=2)) -> int:
    """Send again the uploads whose message was lost (Redis restarted) or whose worker died;
    returns how many. The claim makes a second delivery harmless."""
    now = timezone.now()
    candidates = list(
        FeedUpload.objects.filter(
            Q(status=FeedUpload.Status.QUEUED, submitted_at__lt=now - queued_for)
            | Q(status=FeedUpload.Status.RUNNING)
        )
    )
    live = _live_backends() if candidates else None
    due = [upload.pk for upload in candidates if _claimable(upload, live)]
    for upload_id in due:
        dispatch.feed_upload_enqueue(upload_id=upload_id, on_commit=False)
    if due:
        logger.warning("feed uploads sent again: %s", ", ".join(map(str, due)))
    return len(due)


def _backend_pid() -> int | None:
    if connection.vendor != "postgresql":
        return None
    connection.ensure_connection()
    return connection.connection.info.backend_pid


@dataclass(frozen=True)
class UploadProgress:
    # "queued"; "reading" (the rows stream in), "indexing" (the keys are built), "working"
    # (the rest of the load); "done" or "failed"
    phase: str
    # None while there is no telling how far the phase has come
    percent: int | None
    rows: int | None = None


def feed_upload_progress(upload: FeedUpload) -> UploadProgress:
    """How far the load has come, from the database's own progress views."""
    if upload.status == FeedUpload.Status.QUEUED:
        return UploadProgress("queued", 0)
    if upload.status == FeedUpload.Status.FAILED:
        # A failed load did not come to an end: no full bar for it.
        return UploadProgress("failed", None)
    if upload.status != FeedUpload.Status.RUNNING:
        return UploadProgress(upload.status, 100)
    if upload.backend_pid is None or connection.vendor != "postgresql":
        return UploadProgress("working", None)
    with connection.cursor() as cursor:
        # Inside a transaction PostgreSQL keeps answering from its first look at the other
        # sessions; a fresh look each time.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT bytes_processed, tuples_processed FROM pg_stat_progress_copy WHERE pid = %s",
            [upload.backend_pid],
        )
        copying = cursor.fetchone()
        if copying is not None:
            read, rows = copying
            # COPY receives the file's lines with their line numbers in front, a little more
            # than the file: the reading phase is shown as at most 90 %.
            return UploadProgress("reading", min(90, 90 * read // upload.size_bytes), rows)
        cursor.execute(
            "SELECT 1 FROM pg_stat_progress_create_index WHERE pid = %s", [upload.backend_pid]
        )
        if cursor.fetchone() is not None:
            return UploadProgress("indexing", None)
    return UploadProgress("working", None)
