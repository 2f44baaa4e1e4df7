"""Stewards teach the import a department's header names, without a code change."""

from datetime import date

import pytest
from pytest_django.asserts import assertContains

from enrollment.models import Role
from registry.loading.imports import registry_import_file
from registry.models import HeaderMapping, HukouRecord, SocialInsuranceRecord
from tests.enrollment.factories import UserFactory
from tests.enrollment.portal.staff.conftest import login
from tests.registry.loading.test_import import FATHER, MOTHER

pytestmark = pytest.mark.django_db

PAGE = "/staff/steward/headers/"
# Another city's social-insurance export: two headers differ from INTERCHANGE.md's.
OTHER_CITY = ["身份证号码", "费款所属期", "养老保险", "医疗保险", "单位名称"]


def _write_other_city(tmp_path):
    feed = tmp_path / "social_insurance.csv"
    lines = [",".join(OTHER_CITY), f"{MOTHER},202501,是,否,某公司", f"{FATHER},2025年2月,1,1,"]
    feed.write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))
    return feed


def test_the_page_lists_the_seeded_chinese_headers_per_source(steward):
    response = login(steward).get(PAGE)

    assert response.status_code == 200
    assertContains(response, "公民身份号码")
    assertContains(response, "数据交换规范中文表头")
    assert HeaderMapping.objects.filter(source="hukou").count() == 9


def test_a_steward_added_mapping_makes_another_citys_header_load(steward, tmp_path):
    feed = _write_other_city(tmp_path)
    refused = registry_import_file(source="social_insurance", path=feed)
    assert refused.failed
    assert refused.rejections[0][1].startswith(
        "unknown column set: missing 公民身份号码 (id_number), 缴费年月 (month) "
        "(closest known headers: 数据交换规范中文表头, 3 of 5 columns;"
    )
    client = login(steward)

    # when: the steward names the two columns as that city does
    for header, column in (("身份证号码 ", "id_number"), ("费款所属期", "month")):
        response = client.post(
            PAGE,
            {
                "column": f"social_insurance:{column}",
                "header": header,
                "header_set": "某市人社局导出",
            },
        )
        assert (response.status_code, response["Location"]) == (302, PAGE)
    loaded = registry_import_file(source="social_insurance", path=feed)

    # then
    assert (loaded.failed, loaded.inserted, loaded.rejected) == (False, 2, 0)
    assert sorted(
        SocialInsuranceRecord.objects.values_list("id_number", "month", "pension", "medical")
    ) == sorted([(MOTHER, date(2025, 1, 1), True, False), (FATHER, date(2025, 2, 1), True, True)])
    assert list(
        HeaderMapping.objects.filter(header_set="某市人社局导出").values_list(
            "header", "column", "created_by"
        )
    ) == [("身份证号码", "id_number", "steward1"), ("费款所属期", "month", "steward1")]


@pytest.mark.parametrize(
    ("column", "header", "field", "message"),
    [
        ("hukou:name", "id_number", "header", "这是该数据源的英文列名，本身就能识别，无需映射。"),
        ("hukou:name", "公民身份号码", "header", "这个表头已经映射到了一列。"),
        ("hukou:name", "   ", "header", "该字段是必填项。"),
        ("hukou:nickname", "昵称", "column", None),
    ],
)
def test_a_refused_mapping_says_why_and_writes_nothing(steward, column, header, field, message):
    before = HeaderMapping.objects.count()

    response = login(steward).post(
        PAGE, {"column": column, "header": header, "header_set": "某市公安局导出"}
    )

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == [field]
    if message is not None:
        assert errors[field] == [message]
    assert HeaderMapping.objects.count() == before
    assert HukouRecord.objects.count() == 0


@pytest.mark.parametrize("role", [Role.PARENT, Role.OFFICER, Role.SCHOOL])
def test_other_roles_cannot_add_mappings(role):
    school = {"school_code": "S440604001"} if role == Role.SCHOOL else {}
    user = UserFactory(role=role, username=f"someone-{role}", district_code="440604", **school)
    before = HeaderMapping.objects.count()

    response = login(user).post(
        PAGE, {"column": "hukou:name", "header": "名字", "header_set": "某市公安局导出"}
    )

    assert response.status_code == 403
    assert HeaderMapping.objects.count() == before


def test_signing_in_comes_first(client):
    assert client.get(PAGE).status_code == 302


def test_the_page_reads_in_english(steward):
    client = login(steward)
    client.cookies["django_language"] = "en"

    page = client.get(PAGE)
    refused = client.post(
        PAGE, {"column": "hukou:name", "header": "name", "header_set": "某市公安局导出"}
    )

    assertContains(page, "<h1>Header mappings</h1>", html=True)
    assertContains(page, "Header in the department&#x27;s file")
    assertContains(
        refused,
        "This is the source&#x27;s English column name, which is recognised without a mapping.",
        status_code=400,
    )
