"""The staff pages under /staff/: education officers and school staff."""

from django.urls import path

from enrollment.portal.staff import pages
from enrollment.portal.staff.officer import allocation, dashboard, education_map, review
from enrollment.portal.staff.school import views as school

app_name = "staff"

urlpatterns = [
    path("", pages.staff_home, name="home"),
    # Education officers: their own district only.
    path("officer/", dashboard.officer_dashboard, name="officer-dashboard"),
    path("officer/review/", review.officer_review_queue, name="officer-review"),
    path("officer/review/<str:ref>/", review.officer_case, name="officer-case"),
    path(
        "officer/review/<str:ref>/evidence/",
        review.officer_case_evidence,
        name="officer-case-evidence",
    ),
    path(
        "officer/review/<str:ref>/finding/",
        review.officer_case_finding,
        name="officer-case-finding",
    ),
    path(
        "officer/review/<str:ref>/override/",
        review.officer_case_override,
        name="officer-case-override",
    ),
    path(
        "officer/review/<str:ref>/retry/",
        review.officer_case_retry,
        name="officer-case-retry",
    ),
    path(
        "officer/evidence/<int:evidence_id>/file/",
        review.officer_evidence_file,
        name="officer-evidence-file",
    ),
    path("officer/whatif/", dashboard.officer_whatif, name="officer-whatif"),
    path("officer/allocation/", allocation.officer_allocation, name="officer-allocation"),
    path(
        "officer/allocation/compare/", allocation.officer_runs_compare, name="officer-runs-compare"
    ),
    path("officer/allocation/<int:run_id>/", allocation.officer_run, name="officer-run"),
    path(
        "officer/allocation/<int:run_id>/progress/",
        allocation.officer_run_progress,
        name="officer-run-progress",
    ),
    path(
        "officer/allocation/<int:run_id>/publish/",
        allocation.officer_run_publish,
        name="officer-run-publish",
    ),
    path("officer/rechecks/", allocation.officer_rechecks, name="officer-rechecks"),
    path("officer/rechecks/<int:recheck_id>/", allocation.officer_recheck, name="officer-recheck"),
    path("officer/schools/", dashboard.officer_schools, name="officer-schools"),
    path("officer/map/", education_map.officer_map, name="officer-map"),
    path("officer/map/forecast.csv", education_map.officer_map_csv, name="officer-map-csv"),
    path(
        "officer/map/forecast.geojson",
        education_map.officer_map_geojson,
        name="officer-map-geojson",
    ),
    # School staff: their own school only (the school comes from the account, never the URL).
    path("school/", school.school_admitted, name="school-admitted"),
    path("school/admitted.csv", school.school_download_csv, name="school-download-csv"),
    path("school/admitted.xlsx", school.school_download_xlsx, name="school-download-xlsx"),
    path("school/enrolment/", school.school_enrolment, name="school-enrolment"),
]
