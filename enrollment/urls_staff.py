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
    path("officer/schools/", views.officer_schools, name="officer-schools"),
    # Data stewards.
    path("steward/imports/", views.steward_imports, name="steward-imports"),
    path("steward/imports/<int:batch_id>/", views.steward_import_detail, name="steward-import"),
    path("steward/audit/", views.steward_audit, name="steward-audit"),
]
