import logging
from functools import cached_property
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import reverse

from enrollment.access import API_PREFIXES, access_denied

# Every asset is served by the product itself: no CDN, no inline script.
DEFAULT_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'; object-src 'none'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = getattr(settings, "CONTENT_SECURITY_POLICY", DEFAULT_POLICY)

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


class NoStoreMiddleware:
    """Pages and downloads with personal data stay out of browser and proxy caches (a shared
    family phone, a school's office PC): every response to a signed-in user, and every API
    response, is `Cache-Control: no-store` unless its view chose its own caching. Static files
    never get here; WhiteNoise answers them before."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Cache-Control" not in response and (
            request.path.startswith(API_PREFIXES) or request.user.is_authenticated
        ):
            response["Cache-Control"] = "no-store"
        return response


class SignInRedirectLogMiddleware:
    """Logs a request sent to a sign-in page instead of the page it asked for.

    That is how Django refuses an anonymous visitor (and the admin a signed-in user who is
    not staff): a redirect, which `django.request` does not log as it logs every 401, 403 and
    404. A redirect with `next` set is one of those refusals (`redirect_to_login` always sets
    it; signing out does not). Logged at INFO on `enrollment.access`: a parent whose session
    ran out meets it every day.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    @cached_property
    def sign_in_pages(self) -> set[str]:
        return {resolve_url(settings.LOGIN_URL), reverse("admin:login")}

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 302:
            location = urlsplit(response.get("Location", ""))
            if location.path in self.sign_in_pages and "next" in parse_qs(location.query):
                access_denied(request, "sign-in required", level=logging.INFO)
        return response
