"""The education map (教育一张图) drawn on the server as one SVG: the district's communities
as filled polygons, each school's catchment as an outline, schools as dots sized by seats.

Why SVG from the server rather than Leaflet: the CSP allows no inline style (style-src
'self'), and Leaflet writes style attributes into the markup of its popups and tooltips
(Leaflet issue 9168, open), which the browser blocks and reports as errors on every page.
The map needs no tiles either (the district's own outlines are the base layer) and no
panning: one district fits one drawing. So the drawing is plain markup: no script, colours
as classes from staff.css, a <title> on every shape for the pointer, and every shape a link
to its row of the table beside the map, where the same figure is explained, for a tap.

Catchment outlines are the edges of a catchment's communities that no two of them share
(outlines tiling the district share their edges point for point, as `generate_district`
writes them); where imported outlines do not meet exactly, every edge is drawn.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH = 400
MARGIN = 8
# Names are drawn on the map up to this many of each; beyond, the table and the titles hold them.
MAX_LABELS = 40

Point = tuple[float, float]  # (longitude, latitude)


@dataclass(frozen=True)
class MapArea:
    """A community: its outline's rings, the class that colours it, and its explanation."""

    code: str
    label: str
    rings: tuple[tuple[Point, ...], ...]
    css: str
    title: str
    href: str


@dataclass(frozen=True)
class MapSchool:
    code: str
    label: str
    point: Point | None
    seats: int
    css: str
    title: str
    href: str
    catchment: tuple[str, ...]


def rings_of(shape: dict | None) -> tuple[tuple[Point, ...], ...]:
    """The outer rings of a stored GeoJSON Polygon or MultiPolygon (holes are not drawn)."""
    if not shape:
        return ()
    polygons = [shape["coordinates"]] if shape["type"] == "Polygon" else shape["coordinates"]
    return tuple(tuple((float(p[0]), float(p[1])) for p in polygon[0]) for polygon in polygons)


class _Projection:
    """Longitude scaled by the cosine of the middle latitude: true enough across a district."""

    def __init__(self, points: Sequence[Point]):
        lons = [p[0] for p in points]
        lats = [p[1] for p in points]
        self.west, self.north = min(lons), max(lats)
        self.scale_x = math.cos(math.radians((min(lats) + max(lats)) / 2))
        span_x = (max(lons) - self.west) * self.scale_x or 0.01
        span_y = (self.north - min(lats)) or 0.01
        self.unit = (WIDTH - 2 * MARGIN) / span_x
        self.height = round(span_y * self.unit + 2 * MARGIN)
        if self.height > 1.4 * WIDTH:
            # A tall district: fit the height instead.
            self.unit = (1.4 * WIDTH - 2 * MARGIN) / span_y
            self.height = round(1.4 * WIDTH)

    def __call__(self, point: Point) -> tuple[float, float]:
        return (
            round(MARGIN + (point[0] - self.west) * self.scale_x * self.unit, 1),
            round(MARGIN + (self.north - point[1]) * self.unit, 1),
        )


def _path(project: _Projection, rings) -> str:
    parts = []
    for ring in rings:
        xy = [project(p) for p in ring]
        parts.append("M" + " L".join(f"{x} {y}" for x, y in xy) + " Z")
    return " ".join(parts)


def _centre(rings) -> Point:
    """The centroid of the largest ring (its area-weighted centre)."""
    ring = max(rings, key=lambda r: abs(_area(r)))
    area = _area(ring)
    if not area:
        return ring[0]
    cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False):
        cross = x0 * y1 - x1 * y0
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    return (cx / (6 * area), cy / (6 * area))


def _area(ring) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False)) / 2


def catchment_edges(areas: Sequence[MapArea]) -> list[tuple[Point, Point]]:
    """The edges of these communities that no two of them share: the catchment's outline."""
    counts: Counter = Counter()
    for area in areas:
        for ring in area.rings:
            counts.update(frozenset(pair) for pair in zip(ring, ring[1:], strict=False))
    return [tuple(edge) for edge, count in counts.items() if count == 1 and len(edge) == 2]


def draw_map(
    *,
    title: str,
    desc: str,
    areas: Sequence[MapArea],
    schools: Sequence[MapSchool],
    outline_css: dict[str, str],
) -> SafeString:
    """The SVG; empty of shapes when nothing has an outline or a location."""
    points = [p for area in areas for ring in area.rings for p in ring]
    points += [school.point for school in schools if school.point]
    if not points:
        return mark_safe("")  # noqa: S308 - empty
    project = _Projection(points)
    body = []
    for area in areas:
        if not area.rings:
            continue
        body.append(
            format_html(
                '<a href="{}" class="map-link"><path d="{}" class="map-area {}">'
                "<title>{}</title></path></a>",
                area.href,
                _path(project, area.rings),
                area.css,
                area.title,
            )
        )
    by_code = {area.code: area for area in areas}
    for school in schools:
        members = [by_code[c] for c in school.catchment if c in by_code and by_code[c].rings]
        if not members:
            continue
        segments = " ".join(
            "M{} {} L{} {}".format(*project(a), *project(b)) for a, b in catchment_edges(members)
        )
        body.append(
            format_html(
                '<path d="{}" class="map-catchment {}"><title>{}</title></path>',
                segments,
                outline_css.get(school.code, ""),
                school.title,
            )
        )
    labelled = [a for a in areas if a.rings][:MAX_LABELS] if len(areas) <= MAX_LABELS else []
    for area in labelled:
        x, y = project(_centre(area.rings))
        body.append(
            format_html(
                '<text x="{}" y="{}" class="map-label" text-anchor="middle">{}</text>',
                x,
                y,
                area.label,
            )
        )
    placed = [s for s in schools if s.point]
    most = max((s.seats for s in placed), default=0) or 1
    for school in placed:
        x, y = project(school.point)
        radius = round(3 + 6 * math.sqrt(max(school.seats, 0) / most), 1)
        body.append(
            format_html(
                '<a href="{}" class="map-link"><circle cx="{}" cy="{}" r="{}" '
                'class="map-school {}"><title>{}</title></circle></a>',
                school.href,
                x,
                y,
                radius,
                school.css,
                school.title,
            )
        )
        if len(placed) <= MAX_LABELS:
            body.append(
                format_html(
                    '<text x="{}" y="{}" class="map-school-label" text-anchor="middle">{}</text>',
                    x,
                    round(y - radius - 2, 1),
                    school.label,
                )
            )
    head = format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart map" role="img" '
        'viewBox="0 0 {} {}" width="100%" preserveAspectRatio="xMidYMid meet" '
        'aria-label="{}"><title>{}</title><desc>{}</desc>',
        WIDTH,
        project.height,
        title,
        title,
        desc,
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 (every part escaped above)
