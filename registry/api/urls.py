from django.urls import path

from registry.api.audit import AuditLookupsApi
from registry.api.cohorts import CohortsApi
from registry.api.identity import VerifyIdentitiesApi
from registry.api.records import RecordPushApi
from registry.api.verification import VerifyFamiliesApi

urlpatterns = [
    path("verify/families/", VerifyFamiliesApi.as_view(), name="registry-verify-families"),
    path("verify/identities/", VerifyIdentitiesApi.as_view(), name="registry-verify-identities"),
    path("audit/lookups/", AuditLookupsApi.as_view(), name="registry-audit-lookups"),
    path("records/", RecordPushApi.as_view(), name="registry-record-push"),
    path("planning/cohorts/", CohortsApi.as_view(), name="registry-planning-cohorts"),
]
