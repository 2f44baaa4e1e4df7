"""One account cannot fill the disk: an application takes a bounded number of documents."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from enrollment.errors import ApplicationError
from enrollment.models import Evidence
from enrollment.portal.parents.forms import friendly_message
from enrollment.services.review import evidence_submit
from tests.security.conftest import stored_rows

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"


def _pdf(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def _files(media) -> list:
    return sorted(path for path in media.rglob("*") if path.is_file())


def test_the_eleventh_document_is_refused_and_nothing_is_written(media, world, settings):
    assert settings.EVIDENCE_MAX_FILES_PER_APPLICATION == 10
    application = world.application
    # The world holds one upload already; nine more reach the cap.
    for number in range(9):
        evidence_submit(
            application=application,
            actor=world.parent,
            fact="housing",
            kind="upload",
            file=_pdf(f"lease-{number}.pdf"),
        )
    files, rows = _files(media), stored_rows()
    api = APIClient()
    api.force_authenticate(world.parent)

    response = api.post(
        f"/api/v1/applications/{application.ref}/evidence/",
        {"fact": "housing", "kind": "upload", "file": _pdf("one-too-many.pdf")},
        format="multipart",
    )

    assert response.status_code == 400
    assert response.json() == {
        "message": "file: an application takes at most 10 documents",
        "code": "invalid",
        "extra": {"why": "too_many_files", "limit": 10, "field": "file"},
    }
    assert Evidence.objects.filter(application=application, kind="upload").count() == 10
    assert _files(media) == files
    assert stored_rows() == rows


def test_a_commitment_is_still_taken_at_the_cap_and_the_parent_is_told_in_plain_words(
    media, world, settings
):
    settings.EVIDENCE_MAX_FILES_PER_APPLICATION = 1

    with pytest.raises(ApplicationError) as refused:
        evidence_submit(
            application=world.application,
            actor=world.parent,
            fact="housing",
            kind="upload",
            file=_pdf("second.pdf"),
        )
    commitment = evidence_submit(
        application=world.application,
        actor=world.parent,
        fact="housing",
        kind="commitment",
        statement="我们一直租住在此。",
    )

    assert friendly_message(refused.value) == (
        "每份申请最多上传 1 份材料；如还需补充，请联系区教育局。"
    )
    assert commitment.kind == "commitment"
    assert Evidence.objects.filter(application=world.application).count() == 2
