import pytest
from django.test import Client
from django.urls import reverse

from enrollment.models import AuditLog, Role, User
from tests.enrollment.factories import UserFactory

pytestmark = pytest.mark.django_db

GOOD = {
    "phone": "138 0013 8000",
    "display_name": "李女士",
    "password": "Qiuzhi-2027-xue",
    "password_again": "Qiuzhi-2027-xue",
}


def test_signup_creates_a_parent_signed_in_by_phone_with_an_audit_row():
    client = Client()

    response = client.post(reverse("signup"), GOOD)

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    user = User.objects.get()
    assert (user.username, user.phone, user.role, user.first_name) == (
        "13800138000",
        "13800138000",
        Role.PARENT,
        "李女士",
    )
    assert user.check_password("Qiuzhi-2027-xue")
    assert list(AuditLog.objects.values_list("action", "actor_id")) == [
        ("parent.register", user.pk)
    ]
    assert client.get(reverse("home")).status_code == 200


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"phone": "12345"}, "请填写 11 位手机号码，以 1 开头。"),
        ({"password": "12345678", "password_again": "12345678"}, "密码太简单"),
        ({"password_again": "something-else-1"}, "两次输入的密码不一样。"),
    ],
)
def test_signup_refusals_say_what_is_wrong_and_write_nothing(changes, message):
    response = Client().post(reverse("signup"), {**GOOD, **changes})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert User.objects.count() == 0
    assert AuditLog.objects.count() == 0


def test_signup_with_a_taken_phone_points_to_login():
    UserFactory(username="13800138000", phone="13800138000")

    response = Client().post(reverse("signup"), GOOD)

    assert "这个手机号码已经注册过，请直接登录。" in response.content.decode()
    assert User.objects.count() == 1


def test_parent_signs_in_with_phone_and_password():
    UserFactory(username="13800138000", password="Qiuzhi-2027-xue")
    client = Client()

    response = client.post(
        reverse("login"), {"username": "13800138000", "password": "Qiuzhi-2027-xue"}
    )

    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_five_failed_sign_ins_show_the_lockout_page():
    UserFactory(username="13800138000", password="Qiuzhi-2027-xue")
    client = Client()
    for _attempt in range(5):
        failed = client.post(reverse("login"), {"username": "13800138000", "password": "wrong"})

    assert failed.status_code == 429
    locked = client.post(
        reverse("login"), {"username": "13800138000", "password": "Qiuzhi-2027-xue"}
    )
    assert locked.status_code == 429
    body = locked.content.decode()
    assert "账号暂时锁定" in body
    assert "请 15 分钟后再试" in body
    assert "_auth_user_id" not in client.session


def test_signup_reports_every_problem_in_one_submission_and_writes_nothing():
    # given: a taken number, a weak password, and a second entry that differs
    UserFactory(username="13800138000", phone="13800138000")

    response = Client().post(
        reverse("signup"),
        {**GOOD, "password": "12345678", "password_again": "87654321"},
    )

    # then: all three, each at its field, in the first answer
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors == {
        "phone": ["这个手机号码已经注册过，请直接登录。"],
        "password": ["密码太简单：至少 8 位，不要只用数字，也不要用常见密码。"],
        "password_again": ["两次输入的密码不一样。"],
    }
    assert User.objects.count() == 1
    assert AuditLog.objects.count() == 0


def test_signup_with_a_malformed_number_and_differing_passwords_names_both():
    response = Client().post(
        reverse("signup"), {**GOOD, "phone": "12345", "password_again": "something-else-1"}
    )

    assert response.context["form"].errors == {
        "phone": ["请填写 11 位手机号码，以 1 开头。"],
        "password_again": ["两次输入的密码不一样。"],
    }
    assert User.objects.count() == 0
