"""The parents' pages: account, the application in steps, and what follows it."""

from django.urls import path

from enrollment.portal.parents import inbox, lookups, views
from enrollment.portal.parents.identity import identity_required, identity_verify

urlpatterns = [
    path("", views.home, name="home"),
    # Parents: account, the application in steps, and what follows it.
    path("accounts/signup/", views.signup, name="signup"),
    path("identity/", identity_verify, name="identity-verify"),
    path("inbox/", inbox.inbox, name="inbox"),
    # Applying needs a verified identity (portal/parents/identity.py).
    path("apply/", identity_required(views.apply_start), name="apply-start"),
    path("apply/check/", identity_required(views.apply_check), name="apply-check"),
    path("apply/<str:step>/", identity_required(views.apply_step), name="apply-step"),
    path("applications/<str:ref>/", views.application_detail, name="application-detail"),
    path("applications/<str:ref>/live/", views.application_live, name="application-live"),
    path(
        "applications/<str:ref>/evidence/",
        views.evidence_submit_view,
        name="application-evidence",
    ),
    path(
        "applications/<str:ref>/evidence/<int:evidence_id>/file/",
        views.evidence_download,
        name="application-evidence-file",
    ),
    path(
        "applications/<str:ref>/lookups/", lookups.application_lookups, name="application-lookups"
    ),
    path(
        "applications/<str:ref>/offers/<int:offer_id>/answer/",
        views.offer_answer_view,
        name="application-offer-answer",
    ),
    path("applications/<str:ref>/recheck/", views.recheck_request_view, name="application-recheck"),
]
