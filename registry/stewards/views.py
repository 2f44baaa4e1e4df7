"""The data stewards' pages: import batches, handed-in department files and the audit log."""

import csv

from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from registry.contract import SOURCE_LABELS, audit_refusal_label, purpose_label
from registry.idnumber import mask_in_text
from registry.interchange import safe_cell
from registry.loading.uploads import UploadRefused, feed_upload_create, feed_upload_progress
from registry.stewards.access import not_found, paginate, query_without_page, steward_required
from registry.stewards.charts import BatchColumn, batch_quality_chart
from registry.stewards.forms import AuditFilterForm, FeedUploadForm, PoolQualityForm
from registry.stewards.presentation import (
    column_label,
    diagnosis_view,
    quality_chart,
    rejection_message,
    upload_failure_message,
)
from registry.stewards.selectors import (
    admission_cutoff,
    audit_entries,
    audit_subject_counts,
    batches_per_source,
    feed_uploads,
    import_batches,
    latest_batch_per_source,
    pool_quality,
)

# Rejected lines a batch's page lists; the download holds them all.
LISTED_REJECTIONS = 200

# Excel reads a CSV as UTF-8 only when it starts with the byte-order mark.
UTF8_BOM = "\ufeff"


@steward_required
def steward_imports(request):
    page = paginate(request, import_batches().defer("rejections"))
    for batch in page.object_list:
        batch.source_label = SOURCE_LABELS.get(batch.source, batch.source)
    latest = latest_batch_per_source()
    quality = quality_chart(latest)
    return render(
        request, "steward/imports.html", {"page": page, "query": "", "quality_chart": quality}
    )


@steward_required
def steward_import_detail(request, batch_id: int):
    batch = import_batches().filter(pk=batch_id).first()
    if batch is None:
        raise not_found(request, f"import batch {batch_id}")
    batch.source_label = SOURCE_LABELS.get(batch.source, batch.source)
    listed = (batch.rejections or [])[:LISTED_REJECTIONS]
    rejections = [
        {"line": item.get("line", ""), "message": rejection_message(item)} for item in listed
    ]
    return render(
        request,
        "steward/import_detail.html",
        {
            "batch": batch,
            "rejections": rejections,
            "listed_all": len(listed) == len(batch.rejections or []),
            "diagnosis": diagnosis_view(batch.diagnosis),
        },
    )


class _Echo:
    def write(self, value):
        return value


@steward_required
@require_GET
def steward_import_rejections_csv(request, batch_id: int):
    """Every rejected line of a batch kept on it, for a spreadsheet: UTF-8 with a byte-order
    mark, no cell a formula, no ID number (the reasons name none; masked all the same)."""
    batch = import_batches().filter(pk=batch_id).first()
    if batch is None:
        raise not_found(request, f"import batch {batch_id}")
    writer = csv.writer(_Echo())

    def lines():
        yield UTF8_BOM + writer.writerow([_("行号"), _("列"), _("原因"), "reason", "code"])
        for item in batch.rejections or []:
            params = item.get("params") if isinstance(item.get("params"), dict) else {}
            column = params.get("field", "")
            cells = [
                item.get("line", ""),
                column_label(str(column)) if column else "",
                rejection_message(item),
                mask_in_text(str(item.get("reason", ""))),
                item.get("code", ""),
            ]
            yield writer.writerow([safe_cell(cell) for cell in cells])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    name = f"rejections-{batch.source}-{batch.pk}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@steward_required
@require_GET
def steward_quality(request):
    """Data quality per source over its batches, and of the pool as a whole."""
    form = PoolQualityForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    today = timezone.localdate()
    cutoff = filters.get("cutoff") or admission_cutoff(today)
    days = filters.get("days") or 90
    sources = []
    for source, batches in batches_per_source().items():
        label = SOURCE_LABELS.get(source, source)
        columns = [
            BatchColumn(
                batch_id=batch.id,
                rows_read=batch.rows_read,
                rejected=batch.rows_rejected,
                failed=batch.status == batch.Status.FAILED,
            )
            for batch in batches
        ]
        for batch in batches:
            batch.rejected_share = (
                f"{100 * batch.rows_rejected / batch.rows_read:.1f}%" if batch.rows_read else ""
            )
        sources.append(
            {
                "source": source,
                "label": label,
                "batches": list(reversed(batches)),
                "chart": batch_quality_chart(
                    title=_("%(source)s：各批次读取与拒收行数") % {"source": label},
                    columns=columns,
                )
                if batches
                else None,
            }
        )
    pool = pool_quality(cutoff=cutoff, today=today, permit_days=days)
    return render(
        request,
        "steward/quality.html",
        {"form": form, "sources": sources, "pool": pool},
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


@steward_required
@require_http_methods(["GET", "POST"])
def steward_upload(request):
    """Hand in a department file; a worker loads it and the next page follows the load."""
    form = FeedUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            upload = feed_upload_create(
                source=data["source"],
                file=data["file"],
                encoding=data["encoding"],
                as_of=data["as_of"],
                submitted_by=request.user.username,
            )
        except UploadRefused as refused:
            form.add_error(refused.field, str(refused))
        else:
            return redirect("steward:upload", upload_id=upload.pk)
    status = 400 if form.is_bound else 200
    uploads = feed_uploads()[:10]
    for upload in uploads:
        upload.source_label = SOURCE_LABELS.get(upload.source, upload.source)
    return render(request, "steward/upload.html", {"form": form, "uploads": uploads}, status=status)


def _upload_or_404(request, upload_id: int):
    upload = feed_uploads().filter(pk=upload_id).first()
    if upload is None:
        raise not_found(request, f"feed upload {upload_id}")
    upload.source_label = SOURCE_LABELS.get(upload.source, upload.source)
    return upload


def _upload_context(upload) -> dict:
    progress = feed_upload_progress(upload)
    failed = upload.status == upload.Status.FAILED
    return {
        "upload": upload,
        "progress": progress,
        "moving": progress.phase in ("queued", "reading", "indexing", "working"),
        "failure": upload_failure_message(upload) if failed else "",
        "diagnosis": diagnosis_view(upload.batch.diagnosis) if upload.batch_id else None,
    }


@steward_required
@require_GET
def steward_upload_detail(request, upload_id: int):
    upload = _upload_or_404(request, upload_id)
    return render(request, "steward/upload_detail.html", _upload_context(upload))


@steward_required
@require_GET
def steward_upload_progress(request, upload_id: int):
    """The progress fragment that htmx polls while the file is queued or loading."""
    upload = _upload_or_404(request, upload_id)
    context = _upload_context(upload)
    response = render(request, "steward/_upload_progress.html", context)
    if request.htmx and not context["moving"]:
        # The load ended: reload the page so that its batch and counts appear.
        response["HX-Refresh"] = "true"
    return response


@steward_required
def steward_audit(request):
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    entries = audit_entries(
        client=filters.get("client", ""),
        purpose=filters.get("purpose", ""),
        outcome=filters.get("outcome", ""),
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
    )
    if form.is_bound and not form.is_valid():
        entries = entries.none()
    page = paginate(request, entries)
    subjects = audit_subject_counts(entry_ids=[e.id for e in page.object_list])
    rows = [
        {
            "id": entry.id,
            "at": entry.at,
            "client_id": entry.client_id,
            "end_user": mask_in_text(entry.end_user),
            "purpose": mask_in_text(purpose_label(entry.purpose)),
            "consent_reference": mask_in_text(entry.consent_reference),
            "outcome": entry.outcome,
            "refusal_reason": audit_refusal_label(entry.refusal_reason),
            "subject_count": subjects.get(entry.id, 0),
        }
        for entry in page.object_list
    ]
    return render(
        request,
        "steward/audit.html",
        {"form": form, "page": page, "rows": rows, "query": query_without_page(request)},
    )
