"""Who may open the stewards' pages, and the log of every refusal.

The data bureau's stewards sign in with the `steward` role. The registry names that role
itself rather than importing the education bureau's accounts, so that the stewards' pages can
be served by the registry's own deployment; every refusal is one line on `registry.access`.
"""

import logging
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404

from registry.models import STEWARD_ROLE

PAGE_SIZE = 50

access_log = logging.getLogger("registry.access")


def access_denied(request, why: str) -> None:
    user = getattr(request, "user", None)
    access_log.warning(
        "access denied: user=%s role=%s path=%s why=%s",
        getattr(user, "pk", None),
        getattr(user, "role", ""),
        request.path,
        why,
    )


def steward_required(view):
    """Signed-in, active stewards only: others are sent to sign in, or refused with 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if getattr(user, "role", "") != STEWARD_ROLE or not user.is_active:
            access_denied(request, f"role {getattr(user, 'role', '')} not in {STEWARD_ROLE}")
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def not_found(request, what: str) -> Http404:
    access_denied(request, f"{what} not in scope")
    return Http404(what)


def paginate(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
