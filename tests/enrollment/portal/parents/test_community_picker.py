"""The home-community picker: communities by name, the code a secondary detail, and a search
box that narrows them as the parent types."""

import pytest
from django.urls import reverse

from enrollment.models import Community, Role
from tests.conftest import HOME
from tests.enrollment.factories import UserFactory
from tests.enrollment.portal.parents.conftest import CHILD, MOTHER, signed_in

pytestmark = pytest.mark.django_db

SEARCH = "/apply/communities/"


@pytest.fixture
def communities(district):
    Community.objects.create(code="440604010001", district_code="440604", name="岭南社区")
    Community.objects.create(code="440604010002", district_code="440604", name="岭南新村社区")
    Community.objects.create(code="440604020001", district_code="440604", name="同济社区")
    # Another district's community is never offered.
    Community.objects.create(code="440605010001", district_code="440605", name="岭南南社区")


def test_the_picker_lists_the_districts_communities_by_name_with_a_search_box(communities, parent):
    client = signed_in(parent)
    client.post(
        reverse("apply-step", args=["child"]),
        {"child_name": "陈小明", "child_id_number": CHILD},
    )
    client.post(
        reverse("apply-step", args=["guardians"]),
        {"guardian1_name": "李美玲", "guardian1_relation": "mother", "guardian1_id_number": MOTHER},
    )

    page = client.get(reverse("apply-step", args=["home"])).content.decode()

    assert 'id="community-search"' in page
    assert 'hx-get="/apply/communities/"' in page
    options = page[page.index('id="id_home_community_code"') :].split("</select>")[0]
    assert [line.split(">")[1].split("<")[0] for line in options.split("<option")[2:]] == [
        "同济社区 (440604020001)",
        "岭南新村社区 (440604010002)",
        "岭南社区 (440604010001)",
        f"示范社区 ({HOME})",
    ]


def test_typing_part_of_a_name_keeps_the_communities_that_match(communities, parent):
    response = signed_in(parent).get(SEARCH, {"q": " 岭南 ", "selected": "440604010001"})

    assert response.status_code == 200
    assert response.content.decode().strip() == (
        '<option value="">请选择社区</option>'
        '<option value="440604010002">岭南新村社区 (440604010002)</option>'
        '<option value="440604010001" selected>岭南社区 (440604010001)</option>'
    )


def test_a_code_finds_its_community_and_nothing_found_says_so(communities, parent):
    client = signed_in(parent)

    by_code = client.get(SEARCH, {"q": "4406040200"}).content.decode()
    nothing = client.get(SEARCH, {"q": "不存在"}).content.decode().strip()

    assert "同济社区 (440604020001)" in by_code
    assert "岭南" not in by_code
    assert nothing == '<option value="">没有名称相符的社区，请换个词再试</option>'


def test_the_search_is_for_signed_in_parents(communities, officer):
    from django.test import Client

    assert Client().get(SEARCH, {"q": "岭南"}).status_code == 302
    assert signed_in(officer).get(SEARCH, {"q": "岭南"}).status_code == 403
    unverified = UserFactory(role=Role.PARENT, username="13700000099")
    assert signed_in(unverified).get(SEARCH, {"q": "岭南"}).status_code in (302, 403)
