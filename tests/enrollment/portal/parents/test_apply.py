"""The application form, step by step, with its live checks and the consent before lookup."""

from datetime import date

import pytest
from django.urls import reverse

from enrollment.models import Application, Consent, Decision
from registry import idnumber
from registry.models import AuditEntry
from tests.conftest import HOME
from tests.enrollment.portal.parents.conftest import CHILD, FATHER, MOTHER, signed_in

pytestmark = pytest.mark.django_db


def _fill_steps(client):
    client.post(
        reverse("apply-step", args=["child"]),
        {"child_name": "陈小明", "child_id_number": CHILD.lower()},
    )
    client.post(
        reverse("apply-step", args=["guardians"]),
        {
            "guardian1_name": "李美玲",
            "guardian1_relation": "mother",
            "guardian1_id_number": MOTHER,
            "guardian2_name": "陈大文",
            "guardian2_relation": "father",
            "guardian2_id_number": FATHER,
        },
    )
    return client.post(
        reverse("apply-step", args=["home"]),
        {"home_community_code": HOME, "home_address": "示范路 1 号", "school_1": "S440604001"},
    )


def test_steps_lead_to_a_consent_screen_that_names_every_lookup_before_any_is_made(
    district, parent, registry_example_1
):
    client = signed_in(parent)

    response = _fill_steps(client)
    assert response["Location"] == reverse("apply-step", args=["consent"])
    consent_page = client.get(response["Location"]).content.decode()

    for label, department in [
        ("户籍信息（公安部门）", "公安部门"),
        ("房产登记（住建部门）", "住建部门"),
        ("租赁备案（住建部门）", "住建部门"),
        ("社保缴费（人社部门）", "人社部门"),
        ("居住证（公安部门）", "公安部门"),
    ]:
        assert f'<th scope="row">{label}</th><td>{department}</td>' in consent_page
    assert "用途仅限本次小学一年级入学资格核验" in consent_page
    # Masked on the screen, never whole.
    assert idnumber.mask(CHILD) in consent_page
    for number in (CHILD, MOTHER, FATHER):
        assert number not in consent_page
    # Nothing looked up, nothing stored, before consent.
    assert AuditEntry.objects.count() == 0
    assert Application.objects.count() == 0


def test_without_the_consent_box_nothing_is_submitted(district, parent, registry_example_1):
    client = signed_in(parent)
    _fill_steps(client)

    response = client.post(reverse("apply-step", args=["consent"]), {"given_by": "0"})

    assert response.status_code == 200
    assert "需要您同意，系统才能查询并提交申请。" in response.content.decode()
    assert Application.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_consent_submits_and_verification_decides_worked_example_1(
    district, parent, registry_example_1, django_capture_on_commit_callbacks
):
    client = signed_in(parent)
    _fill_steps(client)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("apply-step", args=["consent"]), {"given_by": "0", "agree": "on"}
        )

    application = Application.objects.get()
    assert response["Location"] == reverse("application-detail", args=[application.ref])
    assert application.applicant == parent
    assert application.child_id_number == CHILD
    assert list(application.guardians.values_list("id_number", "relation")) == [
        (MOTHER, "mother"),
        (FATHER, "father"),
    ]
    assert application.consent.given_by_id_number == MOTHER
    assert application.consent.lookups == list(Consent.Lookup.values)
    decision = Decision.objects.get(application=application, is_current=True)
    assert (decision.outcome, str(decision.total_points)) == ("eligible", "109.3")
    assert "application_draft" not in client.session


def test_a_later_step_sends_the_parent_back_to_the_first_missing_one(district, parent):
    client = signed_in(parent)

    response = client.get(reverse("apply-step", args=["home"]))

    assert response["Location"] == reverse("apply-step", args=["child"])


def test_duplicate_child_is_explained_on_the_consent_screen_with_the_step_to_fix(
    decided, parent, district
):
    client = signed_in(parent)
    _fill_steps(client)

    response = client.post(
        reverse("apply-step", args=["consent"]), {"given_by": "0", "agree": "on"}
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "这个孩子今年已经提交过申请，不能重复申请。" in body
    assert reverse("apply-step", args=["child"]) in body
    assert Application.objects.count() == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("44060420200315", "身份证号码应为 18 位，现在是 14 位。"),
        ("4406042020031512A4", "身份证号码前 17 位应是数字，最后一位是数字或字母 X。"),
        ("440604202002301234", "号码中的出生日期（第 7 到 14 位）不存在，请核对。"),
        (CHILD[:17] + ("1" if CHILD[17] != "1" else "2"), "最后一位校验码对不上"),
        (idnumber.make("440604", date(2021, 9, 1), 123), "2019年9月1日 至 2021年8月31日"),
        (CHILD, "号码格式正确。"),
    ],
)
def test_live_check_of_the_child_id_answers_in_plain_words_and_never_echoes_it(
    district, parent, value, message
):
    client = signed_in(parent)

    response = client.post(
        reverse("apply-check"),
        {"field": "child_id_number", "child_id_number": value},
        HTTP_HX_REQUEST="true",
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert message in body
    assert value not in body


def test_live_check_of_a_guardian_refuses_the_childs_own_number(district, parent):
    client = signed_in(parent)
    client.post(
        reverse("apply-step", args=["child"]), {"child_name": "陈小明", "child_id_number": CHILD}
    )

    response = client.post(
        reverse("apply-check"),
        {"field": "guardian1_id_number", "guardian1_id_number": CHILD},
    )

    assert "监护人的身份证号码不能与孩子的相同。" in response.content.decode()


def test_child_step_shows_the_age_window_and_keeps_nothing(district, parent):
    client = signed_in(parent)
    too_young = idnumber.make("440604", date(2021, 9, 1), 123)

    response = client.post(
        reverse("apply-step", args=["child"]),
        {"child_name": "陈小明", "child_id_number": too_young},
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "报读 2027 年一年级的孩子须在 2019年9月1日 至 2021年8月31日 之间出生。" in body
    # Only in the parent's own input, to correct it; never in a message.
    assert body.count(too_young) == 1
    assert f'value="{too_young}"' in body
    assert "application_draft" not in client.session


def test_id_inputs_carry_the_htmx_check_and_describe_it(district, parent):
    body = signed_in(parent).get(reverse("apply-step", args=["child"])).content.decode()

    assert f'hx-post="{reverse("apply-check")}"' in body
    assert 'hx-target="#id_child_id_number-check"' in body
    assert 'aria-describedby="id_child_id_number_helptext id_child_id_number-check"' in body
    assert '<p class="live-check" id="id_child_id_number-check" aria-live="polite">' in body
