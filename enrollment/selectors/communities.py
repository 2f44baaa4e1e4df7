"""Reads of the district's communities."""

from collections.abc import Iterable

from django.db.models import Q

from enrollment.models import Community


def community_shapes(*, codes: Iterable[str]) -> dict[str, dict | None]:
    """Each community's outline (a GeoJSON geometry, None when none was imported), by code."""
    return dict(Community.objects.filter(code__in=list(codes)).values_list("code", "shape"))


# What a search can ask for: a few characters of a name, or a code.
QUERY_LENGTH = 32


def community_choices(*, district_code: str, query: str = "") -> list[tuple[str, str]]:
    """(code, label) of the district's communities whose name or code holds `query`, by name;
    the label is the name, the code after it as a secondary detail."""
    communities = Community.objects.filter(district_code=district_code)
    query = query.strip()[:QUERY_LENGTH]
    if query:
        communities = communities.filter(Q(name__icontains=query) | Q(code__startswith=query))
    return [
        (c.code, f"{c.name} ({c.code})" if c.name else c.code)
        for c in communities.order_by("name", "code")
    ]


def community_get(*, code: str) -> Community | None:
    """The community of this code, for its name; None when none was imported."""
    return Community.objects.filter(code=code).first()
