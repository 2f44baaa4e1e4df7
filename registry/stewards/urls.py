"""The data stewards' pages, under /staff/steward/."""

from django.urls import path

from registry.stewards import headers, views

app_name = "steward"

urlpatterns = [
    path("imports/", views.steward_imports, name="imports"),
    path("imports/<int:batch_id>/", views.steward_import_detail, name="import"),
    path(
        "imports/<int:batch_id>/rejections.csv",
        views.steward_import_rejections_csv,
        name="import-rejections",
    ),
    path("quality/", views.steward_quality, name="quality"),
    path("uploads/new/", views.steward_upload, name="upload-new"),
    path("uploads/<int:upload_id>/", views.steward_upload_detail, name="upload"),
    path(
        "uploads/<int:upload_id>/progress/",
        views.steward_upload_progress,
        name="upload-progress",
    ),
    path("audit/", views.steward_audit, name="audit"),
    path("headers/", headers.steward_header_mappings, name="header-mappings"),
]
