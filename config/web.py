"""The web layer both deployments share: security headers, the client's address behind the
proxies, the OpenAPI component names, and Django's own error views in the APIs' shape.

Nothing here knows either app's models, so the registry's deployment and the education
bureau's serve the same headers and error shapes.
"""

import ipaddress

from django.conf import settings
from django.http import JsonResponse
from django.views import defaults
from drf_spectacular.openapi import AutoSchema

# Where the product answers as an API (enrollment's and the registry's): errors there are JSON
# and no answer may be cached.
API_PREFIXES = ("/api/", "/registry/api/")

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


def client_address(request) -> str | None:
    """The address a sign-in comes from, for the lockout (AXES_CLIENT_IP_CALLABLE).

    Behind PROXY_COUNT proxies, each appending the address it was reached from to
    X-Forwarded-For, the client is that many entries from the right: what lies further left
    the client wrote itself. The same entry DRF's NUM_PROXIES picks for the API throttles.
    With no proxy, or a header that is not an address, the socket's address.
    """
    remote = request.META.get("REMOTE_ADDR")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if not settings.PROXY_COUNT or not forwarded:
        return remote
    entries = forwarded.split(",")
    candidate = entries[-min(settings.PROXY_COUNT, len(entries))].strip()
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


class ProductAutoSchema(AutoSchema):
    """Names nested serializers after the API they belong to.

    Views keep their serializers nested (`ApplicationSubmitApi.InputSerializer`), so the plain
    class name would give every view a component called "Input"; the outer class tells them
    apart: `ApplicationSubmitInput`.
    """

    def get_serializer_name(self, serializer, direction):
        qualname = type(serializer).__qualname__
        if "." not in qualname:
            return super().get_serializer_name(serializer, direction)
        outer, inner = qualname.split(".")[-2:]
        for suffix in ("Api", "View"):
            if outer.endswith(suffix):
                outer = outer[: -len(suffix)]
        return outer + inner


# Django's own error views (the URL confs' handler400/404/500), for what happens outside an
# API view: an address no view serves, an error in a middleware. Under the APIs' prefixes they
# answer in the APIs' shape, elsewhere with the site's pages.


def bad_request(request, exception=None):
    if request.path.startswith(API_PREFIXES):
        return JsonResponse(
            {"message": "the request was refused as malformed", "code": "bad_request", "extra": {}},
            status=400,
        )
    return defaults.bad_request(request, exception)


def not_found(request, exception=None):
    if request.path.startswith(API_PREFIXES):
        return JsonResponse(
            {"message": "no such API address", "code": "not_found", "extra": {}}, status=404
        )
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith(API_PREFIXES):
        return JsonResponse(
            {
                "message": "an unexpected error; it has been logged",
                "code": "server_error",
                "extra": {},
            },
            status=500,
        )
    return defaults.server_error(request)
