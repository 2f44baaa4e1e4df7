"""An officer's dashboard, the schools' demand against seats, and what-if policy trials."""

import json

from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from enrollment.access import officer_required
from enrollment.errors import ApplicationError
from enrollment.models import (
    ApplicationState,
    Decision,
)
from enrollment.portal import charts
from enrollment.portal.staff.messages import staff_message
from enrollment.portal.staff.officer.forms import WhatIfForm
from enrollment.portal.staff.pages import page_year
from enrollment.selectors.dashboard import (
    district_open_work,
    district_outcome_counts,
    district_points_counts,
    district_state_counts,
)
from enrollment.selectors.schools import school_demand_list
from enrollment.services.policies import policy_active
from enrollment.services.whatif import policy_what_if

# The points histogram's band: half a base-points step of the default policy.
POINTS_BAND = 5

# A bar chart stays readable up to about this many schools; the tables list every school.
CHART_SCHOOLS = 20


@officer_required
def officer_dashboard(request):
    year = page_year(request)
    user = request.user
    states = district_state_counts(user=user, admission_year=year)
    outcomes = district_outcome_counts(user=user, admission_year=year)
    points = district_points_counts(user=user, admission_year=year, width=POINTS_BAND)
    demand = school_demand_list(user=user, admission_year=year)
    state_rows = [(label, states[value]) for value, label in ApplicationState.choices]
    context = {
        "year": year,
        "state_rows": state_rows,
        "total": sum(states.values()),
        "work": district_open_work(user=user, admission_year=year),
        "state_counts_review": states[ApplicationState.NEEDS_REVIEW],
        "decisions_chart": charts.bar_chart(
            title=_("审核结果分布"),
            bars=[(label, outcomes[value]) for value, label in Decision.Outcome.choices],
            label_header=_("结果"),
            value_header=_("人数"),
        ),
        "points_chart": charts.histogram(
            title=_("积分分布（符合条件）"),
            counts=points,
            bin_width=POINTS_BAND,
            range_header=_("积分区间"),
            count_header=_("人数"),
        ),
        "demand_chart": _demand_chart(demand),
    }
    return render(request, "officer/dashboard.html", context)


def chart_title(full: str, top: str, total: int) -> str:
    return full if total <= CHART_SCHOOLS else top % {"n": CHART_SCHOOLS}


def _demand_chart(demand) -> charts.Chart:
    shown = sorted(demand, key=lambda row: (-row.seats_short, row.code))[:CHART_SCHOOLS]
    return charts.paired_bar_chart(
        title=chart_title(_("第一志愿人数与学位数"), _("学位缺口最大的 %(n)d 所学校"), len(demand)),
        pairs=[(row.name, row.first_preference, row.seats) for row in shown],
        first_name=_("第一志愿"),
        second_name=_("学位数"),
        label_header=_("学校"),
    )


@officer_required
@require_http_methods(["GET", "POST"])
def officer_whatif(request):
    """Try a changed policy document on the district's current decisions; nothing is written."""
    year = page_year(request)
    try:
        active = policy_active(district_code=request.user.district_code, admission_year=year)
    except ApplicationError:
        active = None
    result = None
    base_rows = active.document.get("base_points", []) if active else []
    if request.method == "POST":
        form = WhatIfForm(request.POST, base_rows=base_rows)
        if form.is_valid():
            try:
                result = policy_what_if(officer=request.user, document=form.policy_document())
            except ApplicationError as error:
                form.add_error("document", staff_message(error))
    else:
        initial = (
            {"document": json.dumps(active.document, ensure_ascii=False, indent=2)}
            if active
            else None
        )
        form = WhatIfForm(initial=initial, base_rows=base_rows)
    context = {"year": year, "form": form, "active": active, "result": result}
    if result is not None:
        context.update(_whatif_charts(result))
    # htmx swaps only successful responses: a refused document is shown in place with 200.
    refused = request.method == "POST" and result is None and not request.htmx
    return render(request, "officer/whatif.html", context, status=400 if refused else 200)


def _signed(points: int) -> str:
    return f"{points:+d}" if points else "0"


def _whatif_charts(result) -> dict:
    deltas = {row["delta"]: row["count"] for row in result.delta_histogram}
    span = range(min(deltas, default=0), max(deltas, default=-1) + 1)
    outcome_labels = dict(Decision.Outcome.choices)
    return {
        "delta_chart": charts.column_chart(
            title=_("总分变化分布"),
            columns=[(_signed(d), deltas.get(d, 0), _signed(d)) for d in span],
            label_header=_("分数变化"),
            value_header=_("人数"),
        ),
        "totals_chart": charts.paired_bar_chart(
            title=_("总分分布：现行与推演"),
            pairs=[
                (f"{row['from']}–{row['to']}", row["before"], row["after"])
                for row in result.total_histogram
            ],
            first_name=_("现行"),
            second_name=_("推演"),
            label_header=_("积分区间"),
        ),
        "schools_chart": charts.paired_bar_chart(
            title=chart_title(
                _("推演后第一志愿人数与学位数"),
                _("推演后学位缺口最大的 %(n)d 所学校"),
                len(result.schools),
            ),
            pairs=[
                (s.name, s.first_choice_after, s.capacity)
                for s in sorted(
                    result.schools, key=lambda s: (s.capacity - s.first_choice_after, s.code)
                )[:CHART_SCHOOLS]
            ],
            first_name=_("第一志愿（推演）"),
            second_name=_("学位数"),
            label_header=_("学校"),
        ),
        "transition_rows": [
            (
                outcome_labels.get(name_from, name_from),
                [result.transitions[name_from][name_to] for name_to in result.transitions],
            )
            for name_from in result.transitions
        ],
        "transition_headers": [outcome_labels.get(name, name) for name in result.transitions],
    }


@officer_required
def officer_schools(request):
    year = page_year(request)
    demand = school_demand_list(user=request.user, admission_year=year)
    return render(
        request,
        "officer/schools.html",
        {
            "year": year,
            "demand": demand,
            "demand_chart": _demand_chart(demand),
            "map_chart": charts.school_map(
                title=_("教育地图：各校学位缺口"),
                schools=[(row.name, row.lat, row.lon, row.seats_short) for row in demand],
                name_header=_("学校"),
                short_header=_("学位缺口"),
                legend=(
                    _("学位充足"),
                    _("缺口不到最大缺口的四分之一"),
                    _("四分之一至一半"),
                    _("一半至四分之三"),
                    _("四分之三以上"),
                ),
            ),
        },
    )
