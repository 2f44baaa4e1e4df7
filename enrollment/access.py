"""Who may open a page or call the API: the one role gate and the one log of every refusal.

Each page names the roles it serves (`role_required`; the API's `role_permission` asks the
same `has_role`); anyone else is sent to sign in, or refused with 403. An object outside the user's scope is a 404 (`not_found`), never a hint
that it exists. Every refusal, from the pages, the API (enrollment.api.errors) and the
sign-in redirects (enrollment.portal.middleware), is one line on `enrollment.access`.
"""

import logging
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404

from enrollment.models import Role

access_log = logging.getLogger("enrollment.access")


def access_denied(request, why: str, *, level: int = logging.WARNING) -> None:
    """One line per refusal: who, in which role, asked for what, and why not."""
    user = getattr(request, "user", None)
    access_log.log(
        level,
        "access denied: user=%s role=%s path=%s why=%s",
        getattr(user, "pk", None),
        getattr(user, "role", ""),
        getattr(request, "path", "?"),
        why,
    )


def has_role(user, roles) -> bool:
    """A signed-in, active user in one of these roles."""
    return bool(user and user.is_authenticated and user.is_active and user.role in roles)


def role_required(*roles: str):
    """Signed-in, active users of these roles only: others are sent to sign in, or refused."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, roles):
                access_denied(request, f"role {request.user.role} not in {','.join(roles)}")
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


parent_required = role_required(Role.PARENT)
officer_required = role_required(Role.OFFICER)
school_required = role_required(Role.SCHOOL)


def not_found(request, what: str, message: str = "") -> Http404:
    """A 404 for an object outside the user's scope (or absent), logged as a refusal."""
    access_denied(request, f"{what} not in scope")
    return Http404(message or what)
