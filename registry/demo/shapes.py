"""Outlines for the synthetic district's communities (`communities.geojson`): synthetic but
plausible shapes that tile the district, with each school's catchment in one piece around it.

Each community gets a site near the school whose catchment first lists it, and the outlines
are the Voronoi cells of the sites (every point of the district belongs to the community
whose site is nearest), clipped to an octagon around them. Neighbouring cells share their
edges exactly, point for point, so a catchment's outline can be found by dropping the edges
two of its communities share. Plain Python: a district has tens to a few hundred communities,
and clipping each cell by every other site's half-plane takes well under a second.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping, Sequence
from pathlib import Path

Point = tuple[float, float]  # (longitude, latitude)

# Sites sit about 600 m (0.006 degrees) from their school, spread around it.
SITE_RADIUS = 0.006
# The district reaches a little beyond the outermost sites.
MARGIN = 0.012
DECIMALS = 6


def community_sites(
    rng: random.Random,
    communities: Sequence[str],
    school_of: Mapping[str, str],
    school_points: Mapping[str, Point],
) -> dict[str, Point]:
    """A site for each community, around its school, in a ring when a school has several."""
    by_school: dict[str, list[str]] = {}
    for code in communities:
        by_school.setdefault(school_of[code], []).append(code)
    sites = {}
    for school, codes in by_school.items():
        lon, lat = school_points[school]
        turn = rng.uniform(0, 2 * math.pi)
        for index, code in enumerate(codes):
            angle = turn + 2 * math.pi * index / len(codes) + rng.uniform(-0.3, 0.3)
            radius = SITE_RADIUS * (
                rng.uniform(0.2, 0.5) if len(codes) == 1 else rng.uniform(0.7, 1.3)
            )
            sites[code] = (lon + radius * math.cos(angle), lat + radius * math.sin(angle))
    return sites


def district_boundary(sites: Mapping[str, Point]) -> list[Point]:
    """An octagon around the sites: their bounding box with a margin and its corners cut."""
    lons = [p[0] for p in sites.values()]
    lats = [p[1] for p in sites.values()]
    west, east = min(lons) - MARGIN, max(lons) + MARGIN
    south, north = min(lats) - MARGIN, max(lats) + MARGIN
    cut = 0.3 * min(east - west, north - south)
    return [
        (west + cut, south),
        (east - cut, south),
        (east, south + cut),
        (east, north - cut),
        (east - cut, north),
        (west + cut, north),
        (west, north - cut),
        (west, south + cut),
    ]


def _clip(polygon: list[Point], site: Point, other: Point) -> list[Point]:
    """The part of a convex polygon nearer to `site` than to `other`."""
    dx, dy = other[0] - site[0], other[1] - site[1]
    mx, my = (site[0] + other[0]) / 2, (site[1] + other[1]) / 2

    def side(p: Point) -> float:
        return (p[0] - mx) * dx + (p[1] - my) * dy

    kept = []
    for index, current in enumerate(polygon):
        previous = polygon[index - 1]
        a, b = side(previous), side(current)
        if (a <= 0) != (b <= 0):
            t = a / (a - b)
            kept.append(
                (
                    previous[0] + t * (current[0] - previous[0]),
                    previous[1] + t * (current[1] - previous[1]),
                )
            )
        if b <= 0:
            kept.append(current)
    return kept


def voronoi_cells(sites: Mapping[str, Point], boundary: list[Point]) -> dict[str, list[Point]]:
    """Each site's cell within the boundary, as its corners rounded to 6 decimals (about
    0.1 m), anticlockwise, the first repeated at the end (a GeoJSON ring)."""
    cells = {}
    for code, site in sites.items():
        polygon = list(boundary)
        for other_code, other in sites.items():
            if other_code != code and other != site:
                polygon = _clip(polygon, site, other)
        ring: list[Point] = []
        for lon, lat in polygon:
            point = (round(lon, DECIMALS), round(lat, DECIMALS))
            if not ring or ring[-1] != point:
                ring.append(point)
        if len(ring) > 1 and ring[0] == ring[-1]:
            ring.pop()
        cells[code] = [*ring, ring[0]]
    return cells


def write_communities(
    *,
    out: Path,
    rng: random.Random,
    communities: Sequence[str],
    names: Mapping[str, str],
    district_code: str,
    school_of: Mapping[str, str],
    school_points: Mapping[str, Point],
) -> None:
    """`communities.csv` and `communities.geojson` (INTERCHANGE.md, "Communities")."""
    sites = community_sites(rng, communities, school_of, school_points)
    cells = voronoi_cells(sites, district_boundary(sites))
    with (out / "communities.csv").open("w", encoding="utf-8", newline="") as handle:
        handle.write("code,name,district_code\n")
        for code in communities:
            handle.write(f"{code},{names[code]},{district_code}\n")
    features = [
        json.dumps(
            {
                "type": "Feature",
                "properties": {"code": code, "name": names[code], "district_code": district_code},
                "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in cells[code]]]},
            },
            ensure_ascii=False,
        )
        for code in communities
    ]
    with (out / "communities.geojson").open("w", encoding="utf-8", newline="\n") as handle:
        handle.write('{"type": "FeatureCollection", "features": [\n')
        handle.write(",\n".join(features))
        handle.write("\n]}\n")
