"""The education bureau's deployment (DEPLOYMENT=enrollment): the parents' portal, officers,
schools and the enrollment API; the registry is another deployment, reached over HTTP."""

from django.urls import include, path

from config.urls_common import common_urlpatterns
from enrollment.portal.accounts import password_change

enrollment_urlpatterns = [
    path("accounts/password/", password_change, name="password-change"),
    path("api/v1/", include("enrollment.api.urls")),
    path("staff/", include("enrollment.portal.staff.urls")),
    path("", include("enrollment.portal.parents.urls")),
]

urlpatterns = [*common_urlpatterns, *enrollment_urlpatterns]

handler400 = "config.web.bad_request"
handler404 = "config.web.not_found"
handler500 = "config.web.server_error"
