"""Server-side SVG charts for the staff pages: bars, histograms and the schools "map".

Plain Python, no JavaScript and no inline style (the CSP forbids it): every chart is an SVG
string with a <title> and <desc> for screen readers, colours as classes from staff.css or as
SVG presentation attributes, and the same numbers as table rows, which the templates render as
the accessible fallback.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH = 640
BAR_HEIGHT = 22
BAR_GAP = 8
LABEL_WIDTH = 170
PLOT_HEIGHT = 220
MARGIN = 30


@dataclass(frozen=True)
class Chart:
    """An SVG drawing and the table of the numbers it draws."""

    title: str
    svg: SafeString
    headers: tuple[str, ...]
    rows: tuple[tuple, ...]
    # A short legend: (label, css class) pairs shown beside the chart.
    legend: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def _fmt(value) -> str:
    if isinstance(value, Decimal):
        return f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# Longer labels are cut with an ellipsis inside the drawing; the <title> of each bar and the
# table keep the whole text.
LABEL_CHARS = 11


def _short(label) -> str:
    text = str(label)
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _svg(title: str, desc: str, width: int, height: int, body: list[str]) -> SafeString:
    head = format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        'viewBox="0 0 {} {}" width="100%" preserveAspectRatio="xMinYMin meet" '
        'aria-label="{}"><title>{}</title><desc>{}</desc>',
        width,
        height,
        title,
        title,
        desc,
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 (every part escaped above)


def bar_chart(
    *, title: str, bars: Sequence[tuple[str, int | Decimal]], value_header: str, label_header: str
) -> Chart:
    """Horizontal bars, one per (label, value), scaled to the largest value."""
    top = max((float(v) for _, v in bars), default=0) or 1
    plot = WIDTH - LABEL_WIDTH - 60
    height = max(len(bars), 1) * (BAR_HEIGHT + BAR_GAP) + BAR_GAP
    body = []
    for index, (label, value) in enumerate(bars):
        y = BAR_GAP + index * (BAR_HEIGHT + BAR_GAP)
        length = round(plot * float(value) / top, 1)
        body.append(
            format_html(
                '<text x="{}" y="{}" class="chart-label" text-anchor="end">{}</text>'
                '<rect x="{}" y="{}" width="{}" height="{}" class="bar bar-{}"><title>{}: {}</title></rect>'
                '<text x="{}" y="{}" class="chart-value">{}</text>',
                LABEL_WIDTH - 6,
                y + BAR_HEIGHT - 6,
                _short(label),
                LABEL_WIDTH,
                y,
                length,
                BAR_HEIGHT,
                index % 6,
                label,
                _fmt(value),
                LABEL_WIDTH + length + 4,
                y + BAR_HEIGHT - 6,
                _fmt(value),
            )
        )
    desc = "; ".join(f"{label}: {_fmt(value)}" for label, value in bars)
    return Chart(
        title=title,
        svg=_svg(title, desc, WIDTH, height, body),
        headers=(label_header, value_header),
        rows=tuple((label, _fmt(value)) for label, value in bars),
    )


def histogram_bins(
    values: Sequence[Decimal | int | float], *, width: Decimal | int | float
) -> list[tuple[Decimal, Decimal, int]]:
    """Counts of values in half-open bins [low, low + width), from the smallest to the largest
    bin that holds a value; empty bins in between are kept so the shape is honest."""
    step = Decimal(str(width))
    if not values:
        return []
    numbers = [Decimal(str(v)) for v in values]
    low = (min(numbers) / step).to_integral_value(rounding="ROUND_FLOOR") * step
    high = (max(numbers) / step).to_integral_value(rounding="ROUND_FLOOR") * step
    count = int((high - low) / step) + 1
    bins = [0] * count
    for number in numbers:
        bins[int((number - low) / step)] += 1
    return [(low + i * step, low + (i + 1) * step, n) for i, n in enumerate(bins)]


def bins_from_counts(
    counts: dict[int, int], *, width: Decimal | int | float
) -> list[tuple[Decimal, Decimal, int]]:
    """Bins from counts per bin number (floor(value / width), as a database can group them),
    from the first to the last non-empty bin, empty ones between kept."""
    if not counts:
        return []
    step = Decimal(str(width))
    return [
        (index * step, (index + 1) * step, counts.get(index, 0))
        for index in range(min(counts), max(counts) + 1)
    ]


def histogram(
    *,
    title: str,
    bin_width: Decimal | int | float,
    range_header: str,
    count_header: str,
    values: Sequence[Decimal | int | float] = (),
    counts: dict[int, int] | None = None,
) -> Chart:
    """Vertical bars of counts per bin of `bin_width`, from the values or from counts per bin
    number already grouped (`bins_from_counts`)."""
    if counts is not None:
        bins = bins_from_counts(counts, width=bin_width)
    else:
        bins = histogram_bins(values, width=bin_width)
    return column_chart(
        title=title,
        columns=[(f"{_fmt(low)} – {_fmt(high)}", n, _fmt(low)) for low, high, n in bins],
        label_header=range_header,
        value_header=count_header,
    )


def column_chart(
    *,
    title: str,
    columns: Sequence[tuple[str, int, str]],
    label_header: str,
    value_header: str,
) -> Chart:
    """Vertical bars, one per (label, count, short axis label), scaled to the largest count."""
    top = max((n for _, n, _ in columns), default=0) or 1
    column = (WIDTH - 2 * MARGIN) / max(len(columns), 1)
    height = PLOT_HEIGHT + 2 * MARGIN
    body = [
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" class="axis"/>',
            MARGIN,
            MARGIN + PLOT_HEIGHT,
            WIDTH - MARGIN,
            MARGIN + PLOT_HEIGHT,
        )
    ]
    label_every = max(1, math.ceil(len(columns) / 10))
    for index, (label, n, axis_label) in enumerate(columns):
        x = round(MARGIN + index * column, 1)
        bar = round(PLOT_HEIGHT * n / top, 1)
        body.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" class="bar bar-0"><title>{}: {}</title></rect>',
                x + 1,
                round(MARGIN + PLOT_HEIGHT - bar, 1),
                max(round(column - 2, 1), 1),
                bar,
                label,
                n,
            )
        )
        if n:
            body.append(
                format_html(
                    '<text x="{}" y="{}" class="chart-value" text-anchor="middle">{}</text>',
                    round(x + column / 2, 1),
                    round(MARGIN + PLOT_HEIGHT - bar - 4, 1),
                    n,
                )
            )
        if index % label_every == 0:
            body.append(
                format_html(
                    '<text x="{}" y="{}" class="chart-label" text-anchor="middle">{}</text>',
                    round(x + column / 2, 1),
                    MARGIN + PLOT_HEIGHT + 16,
                    axis_label,
                )
            )
    rows = tuple((label, n) for label, n, _ in columns)
    desc = "; ".join(f"{r}: {n}" for r, n in rows)
    return Chart(
        title=title,
        svg=_svg(title, desc, WIDTH, height, body),
        headers=(label_header, value_header),
        rows=rows,
    )


def paired_bar_chart(
    *,
    title: str,
    pairs: Sequence[tuple[str, int, int]],
    first_name: str,
    second_name: str,
    label_header: str,
) -> Chart:
    """Two bars per label (e.g. demand against seats), on one scale."""
    top = max((max(a, b) for _, a, b in pairs), default=0) or 1
    plot = WIDTH - LABEL_WIDTH - 60
    slot = 2 * 12 + BAR_GAP + 4
    height = max(len(pairs), 1) * slot + BAR_GAP
    body = []
    for index, (label, first, second) in enumerate(pairs):
        y = BAR_GAP + index * slot
        for offset, value, css, name in (
            (0, first, "bar-demand", first_name),
            (13, second, "bar-seats", second_name),
        ):
            length = round(plot * value / top, 1)
            body.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="12" class="bar {}"><title>{} {}: {}</title></rect>'
                    '<text x="{}" y="{}" class="chart-value small">{}</text>',
                    LABEL_WIDTH,
                    y + offset,
                    length,
                    css,
                    label,
                    name,
                    value,
                    LABEL_WIDTH + length + 4,
                    y + offset + 10,
                    value,
                )
            )
        body.append(
            format_html(
                '<text x="{}" y="{}" class="chart-label" text-anchor="end">{}<title>{}</title></text>',
                LABEL_WIDTH - 6,
                y + 17,
                _short(label),
                label,
            )
        )
    desc = "; ".join(f"{label}: {first_name} {a}, {second_name} {b}" for label, a, b in pairs)
    return Chart(
        title=title,
        svg=_svg(title, desc, WIDTH, height, body),
        headers=(label_header, first_name, second_name),
        rows=tuple((label, a, b) for label, a, b in pairs),
        legend=((first_name, "bar-demand"), (second_name, "bar-seats")),
    )


# From no shortfall (green) to the largest shortfall (red); surplus seats stay green.
_SHORTFALL_COLOURS = ("#2e7d32", "#9e9d24", "#f9a825", "#ef6c00", "#c62828")


def shortfall_colour(short: int, worst: int) -> str:
    if short <= 0 or worst <= 0:
        return _SHORTFALL_COLOURS[0]
    # Quarters of the worst shortfall: olive below a quarter, red from three quarters up.
    step = 1 + min(3, int(4 * short / worst))
    return _SHORTFALL_COLOURS[step]


def school_map(
    *,
    title: str,
    schools: Sequence[tuple[str, Decimal | float | None, Decimal | float | None, int]],
    name_header: str,
    short_header: str,
    legend: Sequence[str] = (),
) -> Chart:
    """Schools as dots at their (lat, lon), coloured by seats short (demand minus seats).

    An equirectangular projection with the longitude scaled by cos(latitude), which is true
    enough across one district. Schools without coordinates are left out of the drawing but
    kept in the table.
    """
    placed = [(n, float(lat), float(lon), s) for n, lat, lon, s in schools if lat and lon]
    height = 420
    body = []
    if placed:
        lats = [p[1] for p in placed]
        lons = [p[2] for p in placed]
        scale_x = math.cos(math.radians(sum(lats) / len(lats)))
        span_x = (max(lons) - min(lons)) * scale_x or 0.01
        span_y = (max(lats) - min(lats)) or 0.01
        unit = min((WIDTH - 2 * MARGIN) / span_x, (height - 2 * MARGIN) / span_y)
        worst = max(s for *_, s in placed)
        body.append(
            format_html(
                '<rect x="0" y="0" width="{}" height="{}" class="map-ground"/>', WIDTH, height
            )
        )
        for name, lat, lon, short in placed:
            x = round(MARGIN + (lon - min(lons)) * scale_x * unit, 1)
            y = round(height - MARGIN - (lat - min(lats)) * unit, 1)
            radius = 6 if short <= 0 else 6 + min(8, round(8 * short / max(worst, 1)))
            body.append(
                format_html(
                    '<circle cx="{}" cy="{}" r="{}" fill="{}" class="map-school">'
                    "<title>{}: {}</title></circle>",
                    x,
                    y,
                    radius,
                    shortfall_colour(short, worst),
                    name,
                    short,
                )
            )
    desc = "; ".join(f"{name}: {short}" for name, _, _, short in schools)
    return Chart(
        title=title,
        svg=_svg(title, desc, WIDTH, height, body),
        headers=(name_header, short_header),
        rows=tuple((name, short) for name, _, _, short in schools),
        # Up to five labels, from seats to spare to the worst shortfall.
        legend=tuple(zip(legend, [f"short-{step}" for step in range(len(legend))], strict=True)),
    )
