from django.urls import path

from enrollment.api.allocation import (
    AllocationRunCompareApi,
    AllocationRunDetailApi,
    AllocationRunListCreateApi,
    AllocationRunPublishApi,
    OfficerRecheckListApi,
    OfficerRecheckResolveApi,
    OfficerSchoolDemandApi,
)
from enrollment.api.applications import ApplicationDetailApi, ApplicationSubmitApi
from enrollment.api.health import healthz
from enrollment.api.identity import IdentityApi, IdentityConfirmApi, IdentityResendApi
from enrollment.api.offers import (
    ParentOfferAnswerApi,
    ParentOfferListApi,
    ParentRecheckRequestApi,
    ParentWaitlistApi,
)
from enrollment.api.officers import OfficerDecisionListApi
from enrollment.api.review import (
    DecisionOverrideApi,
    EvidenceReviewApi,
    EvidenceSubmitApi,
    FindingApi,
    PolicyWhatIfApi,
    ReviewQueueApi,
    VerificationRetryApi,
)
from enrollment.api.schools import (
    OfficerSchoolUpdateApi,
    SchoolAdmittedApi,
    SchoolApplicantsCsvApi,
    SchoolEnrolmentApi,
    SchoolEnrolmentCloseApi,
)
from enrollment.api.subject_access import SubjectAccessApi

urlpatterns = [
    path("healthz/", healthz, name="healthz"),
    path("me/data/", SubjectAccessApi.as_view(), name="api-subject-access"),
    path("me/identity/", IdentityApi.as_view(), name="api-identity"),
    path("me/identity/confirm/", IdentityConfirmApi.as_view(), name="api-identity-confirm"),
    path("me/identity/resend/", IdentityResendApi.as_view(), name="api-identity-resend"),
    path("applications/", ApplicationSubmitApi.as_view(), name="api-application-submit"),
    path("applications/<str:ref>/", ApplicationDetailApi.as_view(), name="api-application-detail"),
    path("officer/decisions/", OfficerDecisionListApi.as_view(), name="api-officer-decisions"),
    # evidence, officer review, overrides, re-verification, what-if
    path(
        "applications/<str:ref>/evidence/",
        EvidenceSubmitApi.as_view(),
        name="api-evidence-submit",
    ),
    path("officer/review/", ReviewQueueApi.as_view(), name="api-officer-review-queue"),
    path(
        "officer/evidence/<int:pk>/review/",
        EvidenceReviewApi.as_view(),
        name="api-officer-evidence-review",
    ),
    path(
        "officer/applications/<str:ref>/findings/",
        FindingApi.as_view(),
        name="api-officer-finding",
    ),
    path(
        "officer/applications/<str:ref>/override/",
        DecisionOverrideApi.as_view(),
        name="api-officer-decision-override",
    ),
    path(
        "officer/applications/<str:ref>/reverify/",
        VerificationRetryApi.as_view(),
        name="api-officer-reverify",
    ),
    path("officer/policy/what-if/", PolicyWhatIfApi.as_view(), name="api-officer-what-if"),
    path(
        "schools/<str:code>/applicants.csv",
        SchoolApplicantsCsvApi.as_view(),
        name="api-school-applicants-csv",
    ),
    # allocation, offers, re-checks, admitted lists
    path(
        "officer/allocation/runs/",
        AllocationRunListCreateApi.as_view(),
        name="api-allocation-runs",
    ),
    path(
        "officer/allocation/runs/<int:run_id>/",
        AllocationRunDetailApi.as_view(),
        name="api-allocation-run",
    ),
    path(
        "officer/allocation/runs/<int:run_id>/compare/<int:other_id>/",
        AllocationRunCompareApi.as_view(),
        name="api-allocation-compare",
    ),
    path(
        "officer/allocation/runs/<int:run_id>/publish/",
        AllocationRunPublishApi.as_view(),
        name="api-allocation-publish",
    ),
    path("officer/rechecks/", OfficerRecheckListApi.as_view(), name="api-officer-rechecks"),
    path(
        "officer/rechecks/<int:recheck_id>/resolve/",
        OfficerRecheckResolveApi.as_view(),
        name="api-officer-recheck-resolve",
    ),
    path("officer/schools/demand/", OfficerSchoolDemandApi.as_view(), name="api-school-demand"),
    path(
        "officer/schools/<str:code>/",
        OfficerSchoolUpdateApi.as_view(),
        name="api-officer-school-update",
    ),
    path("offers/", ParentOfferListApi.as_view(), name="api-offers"),
    path("waiting-lists/", ParentWaitlistApi.as_view(), name="api-waiting-lists"),
    path("offers/<int:offer_id>/answer/", ParentOfferAnswerApi.as_view(), name="api-offer-answer"),
    path(
        "applications/<str:ref>/rechecks/",
        ParentRecheckRequestApi.as_view(),
        name="api-recheck-request",
    ),
    path(
        "schools/<str:code>/admitted.csv",
        SchoolAdmittedApi.as_view(),
        {"fmt": "csv"},
        name="api-school-admitted-csv",
    ),
    path(
        "schools/<str:code>/admitted.xlsx",
        SchoolAdmittedApi.as_view(),
        {"fmt": "xlsx"},
        name="api-school-admitted-xlsx",
    ),
    path(
        "schools/<str:code>/enrolments/",
        SchoolEnrolmentApi.as_view(),
        name="api-school-enrolments",
    ),
    path(
        "schools/<str:code>/enrolments/close/",
        SchoolEnrolmentCloseApi.as_view(),
        name="api-school-enrolments-close",
    ),
]
