"""The home-community picker's search: a parent types part of a community's name (or code) and
the picker keeps the communities that match, as htmx swaps its options. Without JavaScript the
full list stays, in name order."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from enrollment.access import parent_required
from enrollment.portal.parents.forms import portal_policy
from enrollment.selectors.communities import community_choices


@parent_required
@require_GET
def apply_communities(request):
    """htmx: the picker's options for what the parent typed."""
    policy = portal_policy()
    choices = community_choices(
        district_code=policy.district_code if policy else "", query=request.GET.get("q", "")
    )
    return render(
        request,
        "enrollment/_community_options.html",
        {"choices": choices, "selected": request.GET.get("selected", "")},
    )
