"""教育一张图: the officer's map of the district with the demand forecast for the years ahead,
the table of the same numbers, and their downloads (CSV and GeoJSON).

Every page view and download asks the registry one planning question (audited there as any
lookup is); the forecast is DOMAIN.md's, computed by `services.forecast`.
"""

import csv
import io
import json
import math
import re

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from enrollment.access import officer_required
from enrollment.errors import ApplicationError
from enrollment.exports import safe_cell
from enrollment.gateway import LookupRefused, RegistryUnavailable
from enrollment.portal.staff.officer.map_drawing import MapArea, MapSchool, draw_map, rings_of
from enrollment.portal.staff.pages import page_year
from enrollment.selectors.communities import community_shapes
from enrollment.services.forecast import (
    FORECAST_COLUMNS,
    DemandForecast,
    demand_forecast,
    forecast_rows,
)
from registry.contract import entry_cohort_window, refusal_label

HORIZON = 6
COLOURS = ("shortfall", "children")
# The part of a school's name the map labels: without the city and district in front.
_PLACE_PREFIX = re.compile(r"^(?:\w{1,4}市)?(?:\w{1,4}区)?")


def shortfall_band(shortfall: int | None, seats: int | None) -> int:
    """0 when the seats suffice; then a shortfall up to a tenth of the seats, up to a quarter,
    up to a half, and beyond."""
    if shortfall is None or shortfall <= 0:
        return 0
    if not seats:
        return 4
    share = shortfall / seats
    return 1 if share <= 0.1 else 2 if share <= 0.25 else 3 if share <= 0.5 else 4


def shortfall_legend() -> list[tuple[str, str]]:
    return [
        (_("学位充足"), "band-0"),
        (_("缺口不超过学位数的一成"), "band-1"),
        (_("缺口为学位数的一成至四分之一"), "band-2"),
        (_("缺口为学位数的四分之一至一半"), "band-3"),
        (_("缺口超过学位数的一半"), "band-4"),
        (_("不在任何学校片区"), "outside"),
    ]


def children_steps(top: int) -> int:
    """The width of each of the four colour steps of expected children: a round number."""
    step = max(1, math.ceil(top / 4))
    magnitude = 10 ** max(0, len(str(step)) - 1)
    return math.ceil(step / magnitude) * magnitude


def children_legend(step: int, min_count: int) -> list[tuple[str, str]]:
    legend = [(_("没有适龄儿童"), "kids-0")]
    for index in range(4):
        low, high = index * step + 1, (index + 1) * step
        label = (
            _("%(low)s 人及以上") % {"low": low}
            if index == 3
            else _("%(low)s–%(high)s 人") % {"low": low, "high": high}
        )
        legend.append((label, f"kids-{index + 1}"))
    legend.append((_("少于 %(n)s 人，不公开") % {"n": min_count}, "kids-hidden"))
    return legend


def _gap(shortfall: int) -> str:
    if shortfall > 0:
        return _("缺口 %(n)s 个") % {"n": shortfall}
    if shortfall < 0:
        return _("富余 %(n)s 个") % {"n": -shortfall}
    return _("学位刚好")


def take_up_text(area, min_count: int) -> str:
    """How the take-up was found: this year's applications over this year's children."""
    if area.children_now == 0 and area.withheld_now and len(area.communities) == 1:
        text = _("今年适龄户籍儿童少于 %(n)s 人，不公开，入学率按 1 计") % {"n": min_count}
    elif area.children_now == 0:
        text = _("今年没有适龄户籍儿童，入学率按 1 计（今年申请 %(applications)s 人）") % {
            "applications": area.applications
        }
    else:
        text = _(
            "入学率 %(take_up)s = 今年申请 %(applications)s 人 ÷ 今年适龄户籍儿童 %(children)s 人"
        ) % {
            "take_up": area.take_up,
            "applications": area.applications,
            "children": area.children_now,
        }
    if area.applications_left_out and len(area.communities) > 1:
        text += _("（人数不公开的社区的 %(n)s 份申请未计入）") % {"n": area.applications_left_out}
    return text


def figure_text(area, figure, min_count: int) -> str:
    """One year's figure in words: the cohort count times the take-up, and the seats."""
    if figure.forecast is None:
        return _("%(year)s 年：适龄户籍儿童少于 %(n)s 人，不公开") % {
            "year": figure.admission_year,
            "n": min_count,
        }
    text = _(
        "%(year)s 年预测 %(forecast)s 人 = 适龄户籍儿童 %(children)s 人 × 入学率 %(take_up)s"
    ) % {
        "year": figure.admission_year,
        "forecast": figure.forecast,
        "children": figure.children,
        "take_up": area.take_up,
    }
    if figure.withheld:
        text += _("（另有 %(n)s 个社区不足 %(min)s 人，未计入）") % {
            "n": figure.withheld,
            "min": min_count,
        }
    if figure.seats is not None:
        text += _("；学位 %(seats)s 个，%(gap)s") % {
            "seats": figure.seats,
            "gap": _gap(figure.shortfall),
        }
    return text


def _chosen_year(request, forecast: DemandForecast) -> int:
    try:
        chosen = int(request.GET.get("for", ""))
    except ValueError:
        chosen = 0
    return chosen if chosen in forecast.years else forecast.years[0]


def map_context(forecast: DemandForecast, chosen: int, colour: str) -> dict:
    """What the page shows for one forecast year: the drawing, its legend and the tables."""
    shapes = community_shapes(codes=[c.code for c in forecast.communities])
    school_rows = []
    bands: dict[str, int] = {}
    for school in forecast.schools:
        figure = school.year(chosen)
        band = shortfall_band(figure.shortfall, figure.seats)
        for code in school.communities:
            bands[code] = max(bands.get(code, 0), band)
        school_rows.append(
            {
                "school": school,
                "figure": figure,
                "band": band,
                "explained": figure_text(school, figure, forecast.min_count),
                "take_up_explained": take_up_text(school, forecast.min_count),
                "by_year": [(f.admission_year, f.forecast, f.shortfall) for f in school.years],
            }
        )
    top = max((c.year(chosen).forecast or 0 for c in forecast.communities), default=0)
    step = children_steps(top)
    community_rows, areas = [], []
    for community in forecast.communities:
        figure = community.year(chosen)
        if colour == "children":
            if figure.forecast is None:
                css = "kids-hidden"
            elif figure.forecast == 0:
                css = "kids-0"
            else:
                css = f"kids-{min(4, (figure.forecast - 1) // step + 1)}"
        else:
            css = f"band-{bands[community.code]}" if community.code in bands else "outside"
        explained = figure_text(community, figure, forecast.min_count)
        community_rows.append(
            {
                "community": community,
                "figure": figure,
                "explained": explained,
                "take_up_explained": take_up_text(community, forecast.min_count),
            }
        )
        name = community.name
        areas.append(
            MapArea(
                code=community.code,
                label=name.split("街道")[-1].removesuffix("社区") or name,
                rings=rings_of(shapes.get(community.code)),
                css=css,
                title=_("%(name)s：%(explained)s") % {"name": name, "explained": explained},
                href=f"#community-{community.code}",
            )
        )
    schools = [
        MapSchool(
            code=row["school"].code,
            label=_PLACE_PREFIX.sub("", row["school"].name)[:8],
            point=(float(row["school"].lon), float(row["school"].lat))
            if row["school"].lat is not None and row["school"].lon is not None
            else None,
            seats=row["school"].seats or 0,
            css=f"band-{row['band']}",
            title=_("%(name)s：%(explained)s")
            % {"name": row["school"].name, "explained": row["explained"]},
            href=f"#school-{row['school'].code}",
            catchment=row["school"].communities,
        )
        for row in school_rows
    ]
    title = _("%(year)s 年学位预测地图") % {"year": chosen}
    drawing = draw_map(
        title=title,
        desc="; ".join(f"{row['school'].name}: {row['explained']}" for row in school_rows),
        areas=areas,
        schools=schools,
        outline_css={s.code: s.css for s in schools},
    )
    legend = (
        children_legend(step, forecast.min_count) if colour == "children" else shortfall_legend()
    )
    figures = [row["figure"] for row in school_rows]
    return {
        "chosen": chosen,
        "colour": colour,
        "map_svg": drawing,
        "map_title": title,
        "legend": legend,
        "school_rows": school_rows,
        "community_rows": community_rows,
        "shapes_missing": not any(area.rings for area in areas),
        "withheld": sum(f.withheld for f in figures),
        "totals": {
            "forecast": sum(f.forecast for f in figures),
            "seats": sum(f.seats for f in figures),
            "short_schools": sum(1 for f in figures if f.shortfall > 0),
            "shortfall": sum(f.shortfall for f in figures if f.shortfall > 0),
        },
        "incomplete": forecast.cohort_incomplete(chosen),
        "window": entry_cohort_window(chosen),
    }


def _forecast_or_problem(request, year: int):
    """(forecast, None) or (None, (status, words for the officer))."""
    no_schools = (200, _("本区 %(year)s 年还没有公布学校和学位，无法预测。") % {"year": year})
    # An officer sees their own district only; an account without one sees nothing (never
    # the whole city, which is what a forecast without a district covers).
    district = request.user.district_code
    if not district:
        return None, no_schools
    try:
        forecast = demand_forecast(
            admission_year=year,
            horizon=HORIZON,
            district_code=district,
            end_user=f"user:{request.user.pk}",
        )
    except ApplicationError:
        return None, no_schools
    except LookupRefused as refusal:
        return None, (
            503,
            _("数据平台拒绝了这次统计：%(reason)s。请联系数据统筹局。")
            % {"reason": refusal_label(refusal.code)},
        )
    except RegistryUnavailable:
        return None, (503, _("数据平台暂时没有响应，请稍后再试。"))
    return forecast, None


@officer_required
@require_http_methods(["GET"])
def officer_map(request):
    year = page_year(request)
    colour = request.GET.get("colour", COLOURS[0])
    colour = colour if colour in COLOURS else COLOURS[0]
    forecast, problem = _forecast_or_problem(request, year)
    context = {"year": year, "forecast": forecast, "problem": problem and problem[1]}
    if forecast is not None:
        context.update(map_context(forecast, _chosen_year(request, forecast), colour))
    status = problem[0] if problem else 200
    return render(request, "officer/map.html", context, status=status)


def _problem_response(request, year: int, problem) -> HttpResponse:
    context = {"year": year, "forecast": None, "problem": problem[1]}
    return render(
        request, "officer/map.html", context, status=problem[0] if problem[0] != 200 else 404
    )


@officer_required
@require_http_methods(["GET"])
def officer_map_csv(request):
    """The forecast file of `forecast_demand`, with the school's name added, for people:
    UTF-8 with a byte order mark so that a spreadsheet shows the names."""
    year = page_year(request)
    forecast, problem = _forecast_or_problem(request, year)
    if problem:
        return _problem_response(request, year, problem)
    names = {school.code: school.name for school in forecast.schools}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*FORECAST_COLUMNS, "name"])
    for code, *figures in forecast_rows(forecast):
        writer.writerow([safe_cell(code), *figures, safe_cell(names[code])])
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="forecast-{forecast.area_code}-{year}.csv"'
    )
    return response


def forecast_geojson(forecast: DemandForecast) -> dict:
    """Communities (their outlines) and schools (points) with every year's figures as flat
    properties (`children_2029`, `forecast_2029`, `shortfall_2029`), as GIS tools read them."""
    shapes = community_shapes(codes=[c.code for c in forecast.communities])

    def figures(area, with_seats: bool) -> dict:
        values = {"take_up": float(area.take_up)}
        for figure in area.years:
            # A community whose count the registry withheld has no count to give.
            withheld = figure.forecast is None
            values[f"children_{figure.admission_year}"] = None if withheld else figure.children
            values[f"forecast_{figure.admission_year}"] = figure.forecast
            if with_seats:
                values[f"shortfall_{figure.admission_year}"] = figure.shortfall
        return values

    features = [
        {
            "type": "Feature",
            "properties": {
                "kind": "community",
                "code": c.code,
                "name": c.name,
                **figures(c, False),
            },
            "geometry": shapes.get(c.code),
        }
        for c in forecast.communities
    ]
    features += [
        {
            "type": "Feature",
            "properties": {
                "kind": "school",
                "code": s.code,
                "name": s.name,
                "seats": s.seats,
                "catchment_communities": list(s.communities),
                **figures(s, True),
            },
            "geometry": {"type": "Point", "coordinates": [float(s.lon), float(s.lat)]}
            if s.lat is not None and s.lon is not None
            else None,
        }
        for s in forecast.schools
    ]
    return {
        "type": "FeatureCollection",
        "admission_year": forecast.admission_year,
        "registry_as_of": forecast.as_of.isoformat() if forecast.as_of else None,
        "features": features,
    }


@officer_required
@require_http_methods(["GET"])
def officer_map_geojson(request):
    year = page_year(request)
    forecast, problem = _forecast_or_problem(request, year)
    if problem:
        return _problem_response(request, year, problem)
    body = json.dumps(forecast_geojson(forecast), ensure_ascii=False)
    response = HttpResponse(body, content_type="application/geo+json; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="forecast-{forecast.area_code}-{year}.geojson"'
    )
    return response
