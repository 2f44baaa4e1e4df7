"""A handed-in file goes through Redis to a real worker process, which loads it."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from registry.loading.uploads import feed_upload_create
from registry.models import FeedUpload, HukouRecord
from tests.conftest import wait_until
from tests.registry.loading.test_uploads import AS_OF, GOOD_AND_BAD


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_loads_a_handed_in_file_and_deletes_it(celery_worker_process, tmp_path):
    upload = feed_upload_create(
        source="hukou",
        file=SimpleUploadedFile("hukou.csv", GOOD_AND_BAD, content_type="text/csv"),
        encoding="utf-8",
        as_of=AS_OF,
        submitted_by="steward1",
    )
    stored = Path(upload.file.path)

    done = wait_until(
        lambda: FeedUpload.objects.filter(pk=upload.pk, status="done").first(), timeout=120
    )

    assert (done.batch.rows_read, done.batch.rows_inserted, done.batch.rows_rejected) == (3, 2, 1)
    assert HukouRecord.objects.count() == 2
    assert not stored.exists()
    # The worker process ran it, not this one.
    log = (tmp_path / "worker.log").read_text()
    assert "Task registry.import_upload[" in log
    assert "succeeded" in log
