"""The officer's what-if: a policy draft tried against the district's applications, and its refusals."""

import json

import pytest
from pytest_django.asserts import assertContains

from enrollment.models import (
    Decision,
    Role,
)
from tests.enrollment.factories import UserFactory
from tests.enrollment.portal.staff.conftest import login

pytestmark = pytest.mark.django_db


def test_whatif_starts_from_the_active_policy_and_reports_the_changes_it_would_make(town, officer):
    client = login(officer)
    page = client.get("/staff/officer/whatif/")
    document = page.context["form"].initial["document"]
    assert json.loads(document)["version"] == "2027.1"
    decisions_before = list(Decision.objects.values_list("id", "outcome", "total_points"))

    # A cap of 5 bonus points: A01's 9.3 becomes 5.0 (-4.3); A02's 1.2 stays.
    response = client.post("/staff/officer/whatif/", {"document": document, "bonus_cap": "5"})

    assert response.status_code == 200
    result = response.context["result"]
    assert (result.applications, result.changed_outcome, result.changed_total) == (3, 0, 1)
    assert response.context["delta_chart"].rows == (
        ("-4", 1),
        ("-3", 0),
        ("-2", 0),
        ("-1", 0),
        ("0", 2),
    )
    assert response.context["schools_chart"].rows == (("第一小学", 2, 2), ("第二小学", 0, 1))
    assertContains(response, "<title>总分变化分布</title>")
    assert list(Decision.objects.values_list("id", "outcome", "total_points")) == decisions_before


def test_whatif_refuses_broken_json_and_another_districts_policy(town, officer):
    client = login(officer)
    document = json.loads(client.get("/staff/officer/whatif/").context["form"].initial["document"])

    broken = client.post("/staff/officer/whatif/", {"document": "{bad"})
    document["district_code"] = "440605"
    foreign = client.post("/staff/officer/whatif/", {"document": json.dumps(document)})

    assert broken.status_code == 400
    assertContains(broken, "JSON 格式有误：第 1 行第 2 列。", status_code=400)
    assert foreign.status_code == 400
    assertContains(
        foreign,
        "只能推演本区的积分办法：政策文件中的 district_code 须是本区的代码。",
        status_code=400,
    )
    assert foreign.context["result"] is None


def test_whatif_for_a_district_without_an_active_policy_offers_an_empty_form(db):
    officer = UserFactory(role=Role.OFFICER, username="officer-gaoming", district_code="440608")

    page = login(officer).get("/staff/officer/whatif/")

    assert page.status_code == 200
    assert page.context["active"] is None
    assert page.context["form"].initial == {}


def test_whatif_base_points_of_one_row_change_who_is_affected(town, officer):
    client = login(officer)
    page = client.get("/staff/officer/whatif/")
    document = page.context["form"].initial["document"]
    assert [field.label for field in page.context["form"].base_fields_bound()][:3] == [
        "基础分 本区户籍 + 自有住房",
        "基础分 本市其他区户籍 + 自有住房",
        "基础分 本区户籍 + 租赁住房（无其他房产）",
    ]

    # D+RENT not owning elsewhere (A02) from 90 to 80 points: one total moves by -10.
    response = client.post("/staff/officer/whatif/", {"document": document, "base_2": "80"})

    result = response.context["result"]
    assert (result.changed_outcome, result.changed_total, result.delta_min) == (0, 1, -10.0)
    assert json.loads(document)["base_points"][2]["points"] == "90"


def test_whatif_refusal_is_swapped_in_place_for_htmx(town, officer):
    response = login(officer).post(
        "/staff/officer/whatif/", {"document": "[1, 2]"}, HTTP_HX_REQUEST="true"
    )

    # htmx swaps only successful responses, so the refusal comes back as 200.
    assert response.status_code == 200
    assertContains(response, "政策文件必须是 JSON 对象。")
    assert response.context["result"] is None
