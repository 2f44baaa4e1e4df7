"""Reads of the district's communities."""

from collections.abc import Iterable

from enrollment.models import Community


def community_shapes(*, codes: Iterable[str]) -> dict[str, dict | None]:
    """Each community's outline (a GeoJSON geometry, None when none was imported), by code."""
    return dict(Community.objects.filter(code__in=list(codes)).values_list("code", "shape"))
