from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from enrollment.portal.accounts import password_change

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", password_change, name="password-change"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("enrollment.api.urls")),
    path("registry/api/v1/", include("registry.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("staff/steward/", include("registry.stewards.urls")),
    path("staff/", include("enrollment.portal.staff.urls")),
    path("", include("enrollment.portal.parents.urls")),
]

# Answers in the APIs' JSON shape under their prefixes, the site's pages elsewhere.
handler400 = "enrollment.api.errors.bad_request"
handler404 = "enrollment.api.errors.not_found"
handler500 = "enrollment.api.errors.server_error"

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
