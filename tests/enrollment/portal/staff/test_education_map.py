"""教育一张图: the officer's map page with the forecast of the hand-counted small district
(tests/enrollment/forecast_support.py), its downloads, and who may see it."""

import csv
import io
import json
import re

import pytest
from django.test import Client

from enrollment.models import Community
from registry.models import AuditEntry, DepartmentClient
from tests.enrollment.factories import UserFactory
from tests.enrollment.forecast_support import SHAPES, A, B, C, D, E, mapped_district
from tests.enrollment.portal.parents.test_i18n import untranslated_chinese
from tests.enrollment.portal.staff.conftest import login
from tests.enrollment.portal.staff.test_pages_csp import _check

pytestmark = pytest.mark.django_db


@pytest.fixture
def mapped(db):
    return mapped_district()


def rows_of(html: str, table_id_prefix: str) -> dict[str, list[str]]:
    """Each row of a table by its id, as its cells' text."""
    rows = {}
    for row_id, body in re.findall(
        rf'<tr id="{table_id_prefix}-([^"]+)"[^>]*>(.*?)</tr>', html, flags=re.S
    ):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", body, flags=re.S)
        rows[row_id] = [re.sub(r"<[^>]+>", " ", cell).split() for cell in cells]
    return rows


def test_the_officer_picks_2029_and_sees_each_schools_figure_and_why(mapped, officer):
    response = login(officer).get("/staff/officer/map/", {"year": 2027, "for": 2029})

    html = _check(response)
    schools = rows_of(html, "school")
    assert [cells[1:6] for cells in schools.values()] == [
        [["5"], ["5"], ["1.1429"], ["6"], ["1"]],
        [["4"], ["3"], ["1.6667"], ["5"], ["1"]],
        [["10"], ["3"], ["1.0000"], ["3"], ["-7"]],
    ]
    assert list(schools) == ["S440604001", "S440604002", "S440604003"]
    assert (
        "2029 年预测 6 人 = 适龄户籍儿童 5 人 × 入学率 1.1429（另有 1 个社区不足 3 人，未计入）"
        "；学位 5 个，缺口 1 个" in html
    )
    assert (
        "入学率 1.1429 = 今年申请 8 人 ÷ 今年适龄户籍儿童 7 人（人数不公开的社区的 4 份申请未计入）"
        in html
    )
    assert "今年适龄户籍儿童少于 3 人，不公开，入学率按 1 计" in html
    assert "今年没有适龄户籍儿童，入学率按 1 计（今年申请 2 人）" in html
    communities = rows_of(html, "community")
    assert [cells[1:4] for cells in communities.values()] == [
        [["5"], ["1.2500"], ["6"]],
        [["少于", "3"], ["1.0000"], ["—"]],
        [["3"], ["1.0000"], ["3"]],
        [["0"], ["1.5000"], ["0"]],
        [["0"], ["1.0000"], ["0"]],
    ]
    assert '<option value="2029" selected>2029</option>' in html
    # The map: four communities, coloured by the worst school serving each (S1 and S2 lack
    # a fifth and a quarter of their seats); D is in no catchment. Three schools, each linked
    # to its row, and each catchment outlined.
    areas = re.findall(
        r'<a href="#community-(\d+)" class="map-link"><path d="[^"]+" class="map-area ([\w-]+)"',
        html,
    )
    assert areas == [(A, "band-2"), (B, "band-2"), (C, "band-2"), (D, "outside"), (E, "band-2")]
    dots = re.findall(
        r'<a href="#school-(\w+)" class="map-link"><circle [^>]* class="map-school ([\w-]+)"', html
    )
    assert dots == [("S440604001", "band-2"), ("S440604002", "band-2"), ("S440604003", "band-0")]
    assert len(re.findall(r'class="map-catchment band-\d"', html)) == 3
    entry = AuditEntry.objects.get()
    assert (entry.purpose, entry.outcome, entry.end_user) == (
        "planning",
        "answered",
        f"user:{officer.pk}",
    )


def test_a_catchments_outline_leaves_out_the_edge_its_communities_share(mapped, officer):
    html = login(officer).get("/staff/officer/map/", {"year": 2027}).content.decode()

    outlines = re.findall(r'<path d="([^"]+)" class="map-catchment', html)
    # S1 holds A, B beside it and E under it: 12 edges, less the two shared, each twice.
    assert [outline.count("M") for outline in outlines] == [8, 6, 4]


def test_the_first_forecast_year_is_the_default_and_an_unknown_one_falls_back(mapped, officer):
    client = login(officer)

    default = client.get("/staff/officer/map/", {"year": 2027}).content.decode()
    unknown = client.get("/staff/officer/map/", {"year": 2027, "for": "2040"}).content.decode()

    for html in (default, unknown):
        assert '<option value="2028" selected>2028</option>' in html
        assert (
            "2028 年预测 14 人 = 适龄户籍儿童 12 人 × 入学率 1.1429；学位 5 个，缺口 9 个" in html
        )


def test_coloured_by_children_each_community_has_its_step_and_a_withheld_one_is_grey(
    mapped, officer
):
    html = (
        login(officer)
        .get("/staff/officer/map/", {"year": 2027, "for": 2029, "colour": "children"})
        .content.decode()
    )

    areas = re.findall(r'class="map-area ([\w-]+)"', html)
    # 2029: A 6, B withheld, C 3, D 0, E 0; steps of 2 children (the largest, 6, over four).
    assert areas == ["kids-3", "kids-hidden", "kids-2", "kids-0", "kids-0"]
    assert "少于 3 人，不公开" in html
    assert "5–6 人" in html


def test_the_csv_download_is_the_forecast_file_with_names_for_people(mapped, officer):
    response = login(officer).get("/staff/officer/map/forecast.csv", {"year": 2027})

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="forecast-440604-2027.csv"'
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == [
        "school_code", "admission_year", "children", "take_up", "forecast", "seats",
        "shortfall", "name",
    ]  # fmt: skip
    assert rows[1:4] == [
        ["S440604001", "2028", "12", "1.1429", "14", "5", "9", "禅城区岭南小学"],
        ["S440604001", "2029", "5", "1.1429", "6", "5", "1", "禅城区岭南小学"],
        ["S440604001", "2030", "0", "1.1429", "0", "5", "-5", "禅城区岭南小学"],
    ]
    assert len(rows) == 1 + 3 * 6


def test_the_geojson_download_has_outlines_points_and_every_years_figures(mapped, officer):
    response = login(officer).get("/staff/officer/map/forecast.geojson", {"year": 2027})

    assert response["Content-Type"] == "application/geo+json; charset=utf-8"
    document = json.loads(response.content)
    features = {f["properties"]["code"]: f for f in document["features"]}
    assert set(features) == {A, B, C, D, E, "S440604001", "S440604002", "S440604003"}
    assert features[A]["geometry"] == SHAPES[A]
    assert {k: v for k, v in features[B]["properties"].items() if k.endswith("2029")} == {
        "children_2029": None,
        "forecast_2029": None,
    }
    school = features["S440604001"]
    assert school["geometry"] == {"type": "Point", "coordinates": [113.105, 23.005]}
    assert (
        school["properties"]["take_up"],
        school["properties"]["forecast_2029"],
        school["properties"]["shortfall_2029"],
        school["properties"]["catchment_communities"],
    ) == (1.1429, 6, 1, [A, B, E])
    assert document["registry_as_of"] == "2027-03-01"


def test_without_outlines_the_map_shows_the_schools_and_says_why(mapped, officer):
    Community.objects.update(shape=None)

    html = login(officer).get("/staff/officer/map/", {"year": 2027}).content.decode()

    assert "尚未导入社区边界，地图只显示学校位置" in html
    assert html.count('class="map-school ') == 3
    assert "map-area" not in html


def test_a_refused_planning_question_is_said_in_words_and_nothing_is_shown(mapped, officer):
    DepartmentClient.objects.update(consent_public_keys=[])

    response = login(officer).get("/staff/officer/map/", {"year": 2027})
    download = login(officer).get("/staff/officer/map/forecast.csv", {"year": 2027})

    assert response.status_code == download.status_code == 503
    html = response.content.decode()
    assert "数据平台拒绝了这次统计：数据平台没有该部门的授权公钥。请联系数据统筹局。" in html
    assert "禅城区岭南小学" not in html
    assert list(AuditEntry.objects.values_list("outcome", flat=True)) == ["refused", "refused"]


def test_an_officer_of_another_district_sees_none_of_it_and_asks_nothing(mapped):
    other = UserFactory(role="officer", username="officer9", district_code="440605")

    response = login(other).get("/staff/officer/map/", {"year": 2027})
    download = login(other).get("/staff/officer/map/forecast.geojson", {"year": 2027})

    assert response.status_code == 200
    assert "本区 2027 年还没有公布学校和学位，无法预测。" in response.content.decode()
    assert "禅城区岭南小学" not in response.content.decode()
    assert download.status_code == 404
    assert AuditEntry.objects.count() == 0


def test_the_page_in_english_has_no_chinese_outside_names(mapped, officer):
    client = login(officer)
    client.cookies["django_language"] = "en"

    html = client.get(
        "/staff/officer/map/", {"year": 2027, "for": 2029}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert "Education map" in html
    assert untranslated_chinese(html) == []


def test_parents_and_anonymous_visitors_are_refused(mapped, parent):
    assert login(parent).get("/staff/officer/map/").status_code == 403
    assert Client().get("/staff/officer/map/forecast.csv").status_code == 302
    assert AuditEntry.objects.count() == 0
