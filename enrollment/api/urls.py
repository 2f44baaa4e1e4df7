from django.urls import path

from enrollment.api.applications import ApplicationDetailApi, ApplicationSubmitApi
from enrollment.api.health import healthz
from enrollment.api.officers import OfficerDecisionListApi
from enrollment.api.schools import SchoolApplicantsCsvApi
from enrollment.api.subject_access import SubjectAccessApi

urlpatterns = [
    path("healthz/", healthz, name="healthz"),
    path("me/data/", SubjectAccessApi.as_view(), name="api-subject-access"),
    path("applications/", ApplicationSubmitApi.as_view(), name="api-application-submit"),
    path("applications/<str:ref>/", ApplicationDetailApi.as_view(), name="api-application-detail"),
    path("officer/decisions/", OfficerDecisionListApi.as_view(), name="api-officer-decisions"),
    path(
        "schools/<str:code>/applicants.csv",
        SchoolApplicantsCsvApi.as_view(),
        name="api-school-applicants-csv",
    ),
]
