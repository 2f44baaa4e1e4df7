"""Staff pages word the product's codes: hukou and housing classes, the policy's base rows, an
offer's state as a school reads it; and their English reads as English (counts, a run's
progress and publisher, the dashboard's tiles, the case's facts)."""

import pytest
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext
from pytest_django.asserts import assertContains, assertNotContains

from enrollment.models import AllocationRun
from enrollment.policy import default_policy_document
from enrollment.services.policies import policy_install
from enrollment.services.rechecks import recheck_request
from tests.conftest import YEAR
from tests.enrollment.portal.staff.conftest import BACKEND, login

pytestmark = pytest.mark.django_db


def english(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["django_language"] = "en"
    client.force_login(user, backend=BACKEND)
    return client


def test_the_recheck_page_words_the_classes_it_shows_and_offers(published, town, officer, parent):
    recheck = recheck_request(application=town["A02"], actor=parent, reason="租赁备案时间有误")

    page = login(officer).get(f"/staff/officer/rechecks/{recheck.id}/")

    assertContains(page, "<dt>户籍类别</dt><dd>本区户籍（D）</dd>", html=True)
    assertContains(page, "<dt>住房类别</dt><dd>租赁住房（RENT）</dd>", html=True)
    form = page.context["form"]
    assert list(form.fields["hukou_class"].choices) == [
        ("", "—"),
        ("D", "本区户籍（D）"),
        ("C", "本市其他区户籍（C）"),
        ("N", "非本市户籍（N）"),
    ]
    assert list(form.fields["housing_class"].choices) == [
        ("", "—"),
        ("OWN", "自有住房（OWN）"),
        ("RENT", "租赁住房（RENT）"),
        ("NONE", "住房未核实（NONE）"),
    ]


def test_the_what_if_names_each_base_row_in_words_and_the_policy_in_chinese(town, officer):
    page = login(officer).get(f"/staff/officer/whatif/?year={YEAR}")

    form = page.context["form"]
    assert [field.label for field in form.base_fields_bound()] == [
        "基础分 本区户籍 + 自有住房",
        "基础分 本市其他区户籍 + 自有住房",
        "基础分 本区户籍 + 租赁住房（无其他房产）",
        "基础分 非本市户籍 + 自有住房",
        "基础分 本区户籍 + 租赁住房（另有房产）",
        "基础分 本市其他区户籍 + 租赁住房",
        "基础分 非本市户籍 + 租赁住房",
    ]
    assertContains(page, "&quot;name&quot;: &quot;小学一年级积分办法（默认）&quot;")
    assertNotContains(page, "Default primary-1")


def test_a_default_installed_under_its_former_name_is_the_same_version(district):
    # given: the default as installed before it had a Chinese name
    installed = policy_install(
        document={
            **default_policy_document(admission_year=YEAR + 1),
            "name": "Default primary-1 points policy",
        }
    )

    # when: installing the default of the same version again
    again = policy_install(document=default_policy_document(admission_year=YEAR + 1))

    # then: the same rules, so the same version, unchanged
    assert again == installed
    assert again.document["name"] == "Default primary-1 points policy"


def test_the_queue_counts_applications_in_english(town, officer):
    page = english(officer).get(f"/staff/officer/review/?year={YEAR}&state=")

    assertContains(page, "<p>3 applications</p>", html=True)
    assertNotContains(page, "requests")


def test_a_finished_run_says_done_once_and_no_empty_publisher(published, officer):
    # given: published by the command line, which names no officer
    AllocationRun.objects.filter(pk=published.pk).update(published_by=None)
    at = published.published_at

    page = english(officer).get(f"/staff/officer/allocation/{published.id}/")

    assertContains(page, '<p><span class="badge done">Done</span> 100%</p>', html=True)
    with translation.override("en"):
        shown = f"<dt>Published at</dt><dd>{at.astimezone():%Y-%m-%d %H:%M}</dd>"
    assertContains(page, shown, html=True)
    assertNotContains(page, "()")


def test_the_dashboard_tiles_read_as_english(town, officer):
    page = english(officer).get(f"/staff/officer/?year={YEAR}")

    assertContains(page, "<h2>To do</h2>", html=True)
    assertContains(page, "<strong>0</strong>Documents to review", html=False)
    assertNotContains(page, "Public")


def test_the_case_pages_facts_are_named_in_english(town, officer):
    page = english(officer).get("/staff/officer/review/A02/")

    assert [(str(label), str(value)) for label, value in page.context["registry_facts"]] == [
        ("Hukou class", "District hukou (D)"),
        ("Hukou registration date", "2026-03-31"),
        ("Guardianship verified", "Yes"),
        ("The family's ownership share in the home community (%)", "0"),
        ("Registered rental in the home community", "Yes"),
        ("Owns property in another community of the city", "No"),
        ("Social-insurance months", "0"),
        ("Qualifying residence permit", "No"),
        ("Housing evidence accepted", "No"),
    ]


def test_a_school_reads_the_familys_answer_in_its_own_words(published, school_staff):
    page = english(school_staff).get(f"/staff/school/?year={YEAR}")

    assertContains(page, "Awaiting the family&#x27;s answer", count=2)
    assertNotContains(page, "Awaiting your answer")
    chinese = login(school_staff).get(f"/staff/school/?year={YEAR}")
    assertContains(chinese, "等待家长答复", count=2)


def test_an_answer_deadline_ends_its_sentence_once_after_a_p_m_time():
    with translation.override("en"):
        sentence = gettext("请在 %(deadline)s 前答复。逾期未答复视为放弃。") % {
            "deadline": "June 30, 2027, 5 p.m."
        }

    assert sentence == (
        "Please answer by June 30, 2027, 5 p.m.; no answer by then counts as declining."
    )
