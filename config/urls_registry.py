"""The data bureau's deployment (DEPLOYMENT=registry): the registry's API for department
clients and the stewards' pages, signed in against the registry's own accounts."""

from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy
from django.views.generic import RedirectView

from config.urls_common import common_urlpatterns

registry_urlpatterns = [
    path("registry/api/v1/", include("registry.api.urls")),
    path("staff/steward/", include("registry.stewards.urls")),
]

urlpatterns = [
    *common_urlpatterns,
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(success_url=reverse_lazy("home")),
        name="password-change",
    ),
    *registry_urlpatterns,
    # A steward's first page; the single deployment's home sends stewards there too.
    path("", RedirectView.as_view(pattern_name="steward:imports"), name="home"),
]

handler400 = "config.web.bad_request"
handler404 = "config.web.not_found"
handler500 = "config.web.server_error"
