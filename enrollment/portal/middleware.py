"""Logs the sign-in redirects by which Django refuses anonymous visitors (the shared security
headers are `config.web`'s)."""

import logging
from functools import cached_property
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import reverse

from enrollment.access import access_denied


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
