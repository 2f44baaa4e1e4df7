"""The staff pages under /staff/: officers, school staff and data stewards."""

from django.urls import path

from enrollment import views_staff as views

app_name = "staff"

urlpatterns = [
    path("", views.staff_home, name="home"),
    # Education officers: their own district only.
    path("officer/", views.officer_dashboard, name="officer-dashboard"),
    path("officer/review/", views.officer_review_queue, name="officer-review"),
    path("officer/review/<str:ref>/", views.officer_case, name="officer-case"),
    path(
        "officer/review/<str:ref>/evidence/",
        views.officer_case_evidence,
        name="officer-case-evidence",
    ),
    path(
        "officer/review/<str:ref>/override/",
        views.officer_case_override,
        name="officer-case-override",
    ),
    path(
        "officer/review/<str:ref>/retry/",
        views.officer_case_retry,
        name="officer-case-retry",
    ),
    path(
        "officer/evidence/<int:evidence_id>/file/",
        views.officer_evidence_file,
        name="officer-evidence-file",
    ),
    path("officer/whatif/", views.officer_whatif, name="officer-whatif"),
    path("officer/allocation/", views.officer_allocation, name="officer-allocation"),
    path("officer/allocation/compare/", views.officer_runs_compare, name="officer-runs-compare"),
    path("officer/allocation/<int:run_id>/", views.officer_run, name="officer-run"),
    path(
        "officer/allocation/<int:run_id>/progress/",
        views.officer_run_progress,
        name="officer-run-progress",
    ),
    path(
        "officer/allocation/<int:run_id>/publish/",
        views.officer_run_publish,
        name="officer-run-publish",
    ),
    path("officer/rechecks/", views.officer_rechecks, name="officer-rechecks"),
    path("officer/rechecks/<int:recheck_id>/", views.officer_recheck, name="officer-recheck"),
    path("officer/schools/", views.officer_schools, name="officer-schools"),
    # School staff: their own school only (the school comes from the account, never the URL).
    path("school/", views.school_admitted, name="school-admitted"),
    path("school/admitted.csv", views.school_download_csv, name="school-download-csv"),
    path("school/admitted.xlsx", views.school_download_xlsx, name="school-download-xlsx"),
    path("school/enrolment/", views.school_enrolment, name="school-enrolment"),
    # Data stewards.
    path("steward/imports/", views.steward_imports, name="steward-imports"),
    path("steward/imports/<int:batch_id>/", views.steward_import_detail, name="steward-import"),
    path("steward/uploads/new/", views.steward_upload, name="steward-upload-new"),
    path("steward/uploads/<int:upload_id>/", views.steward_upload_detail, name="steward-upload"),
    path(
        "steward/uploads/<int:upload_id>/progress/",
        views.steward_upload_progress,
        name="steward-upload-progress",
    ),
    path("steward/audit/", views.steward_audit, name="steward-audit"),
]
