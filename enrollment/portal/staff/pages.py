"""What every staff page shares: the admission year asked for, pages of a list, and the start page of each role."""

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.urls import reverse

from enrollment.access import access_denied
from enrollment.models import (
    Consent,
    Role,
)
from enrollment.selectors.dashboard import (
    officer_default_year,
)

# The registry's department feeds, named as parents and officers know them.
SOURCE_LABELS = dict(Consent.Lookup.choices)


PAGE_SIZE = 50


def page_year(request) -> int:
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        year = 0
    if 2000 <= year <= 2100:
        return year
    return officer_default_year(user=request.user)


def paginate(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def staff_home(request):
    """Sends each staff role to its own start page."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    targets = {
        Role.OFFICER: "staff:officer-dashboard",
        Role.SCHOOL: "staff:school-admitted",
        Role.STEWARD: "steward:imports",
    }
    if request.user.role not in targets:
        access_denied(request, f"role {request.user.role} has no staff pages")
        raise PermissionDenied
    return redirect(reverse(targets[request.user.role]))
