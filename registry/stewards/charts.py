"""The stewards' data-quality chart: a column per import batch, as a server-drawn SVG.

Drawn the way the education bureau's staff pages draw theirs (enrollment/portal/charts.py):
an SVG string with a <title> and <desc> for screen readers, colours as staff.css classes (the
CSP forbids inline style), every number also in the table beside it. The registry imports
nothing of enrollment, so the few lines that draw are its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

WIDTH = 640
PLOT_HEIGHT = 150
TOP = 18  # room for the rejected count above the tallest column
BOTTOM = 20  # room for the batch numbers
LEFT = 8
COLUMN_GAP = 4
# A column no wider than this, however few the batches: one batch is not a wall.
COLUMN_MAX = 48


@dataclass(frozen=True)
class BatchColumn:
    """One batch as the chart draws it."""

    batch_id: int
    rows_read: int
    rejected: int
    failed: bool


@dataclass(frozen=True)
class BatchChart:
    title: str
    svg: SafeString
    legend: tuple[tuple[str, str], ...]


def batch_quality_chart(*, title: str, columns: Sequence[BatchColumn]) -> BatchChart:
    """A column per batch, oldest first, as tall as its rows read on one scale: the rows the
    registry took in the colour of good, the rejected ones in red on top with their count
    written above (the colour is never the only sign), a failed batch marked by text."""
    top = max((column.rows_read for column in columns), default=0) or 1
    slot = min(COLUMN_MAX + COLUMN_GAP, (WIDTH - LEFT) / max(len(columns), 1))
    width = round(slot - COLUMN_GAP, 1)
    height = TOP + PLOT_HEIGHT + BOTTOM
    base = TOP + PLOT_HEIGHT
    body = [format_html('<line x1="0" y1="{}" x2="{}" y2="{}" class="axis"/>', base, WIDTH, base)]
    for index, column in enumerate(columns):
        x = round(LEFT + index * slot, 1)
        rejected = min(column.rejected, column.rows_read)
        taken_height = round(PLOT_HEIGHT * (column.rows_read - rejected) / top, 1)
        rejected_height = round(PLOT_HEIGHT * rejected / top, 1)
        label = _("批次 #%(id)s：读取 %(read)s 行，拒收 %(rejected)s 行") % {
            "id": column.batch_id,
            "read": column.rows_read,
            "rejected": column.rejected,
        }
        if column.failed:
            label = _("%(label)s（导入失败）") % {"label": label}
        body.append(
            format_html(
                '<g><title>{}</title><rect x="{}" y="{}" width="{}" height="{}" class="bar '
                'bar-loaded"/><rect x="{}" y="{}" width="{}" height="{}" class="bar '
                'bar-rejected"/><text x="{}" y="{}" class="chart-value small" '
                'text-anchor="middle">{}</text><text x="{}" y="{}" class="chart-label" '
                'text-anchor="middle">#{}</text></g>',
                label,
                x,
                base - taken_height,
                width,
                taken_height,
                x,
                base - taken_height - rejected_height,
                width,
                rejected_height,
                round(x + width / 2, 1),
                base - taken_height - rejected_height - 4,
                _rejected_text(column),
                round(x + width / 2, 1),
                base + 14,
                column.batch_id,
            )
        )
    desc = "; ".join(
        f"#{c.batch_id}: {c.rows_read} / {c.rejected}{' ✗' if c.failed else ''}" for c in columns
    )
    head = format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        'viewBox="0 0 {} {}" width="100%" preserveAspectRatio="xMinYMin meet" '
        'aria-label="{}"><title>{}</title><desc>{}</desc>',
        WIDTH,
        height,
        title,
        title,
        desc,
    )
    return BatchChart(
        title=title,
        svg=mark_safe(head + "".join(body) + "</svg>"),  # noqa: S308 (every part escaped above)
        legend=((_("已导入（新增、更新或未变）"), "bar-loaded"), (_("拒收"), "bar-rejected")),
    )


def _rejected_text(column: BatchColumn) -> str:
    if column.failed:
        return _("失败")
    if column.rejected:
        return _("拒收 %(n)s") % {"n": column.rejected}
    return ""
