"""The real-name identity page and API, and changing one's password."""

import re
from datetime import date

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from enrollment import sms
from enrollment.models import AuditLog, Role, User
from registry import idnumber
from tests.conftest import HOME, client_for
from tests.enrollment.factories import UserFactory
from tests.enrollment.portal.parents.conftest import BACKEND, signed_in
from tests.registry.factories import HukouRecordFactory

pytestmark = pytest.mark.django_db

MOTHER = idnumber.make("440604", date(1990, 7, 1), 222)
UNKNOWN = idnumber.make("440604", date(1985, 2, 3), 456)
PHONE = "13912345678"


@pytest.fixture(autouse=True)
def empty_outbox():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def unverified(db):
    HukouRecordFactory(id_number=MOTHER, name="李美玲")
    return UserFactory(role=Role.PARENT, username=PHONE, phone=PHONE)


def sign_in(client: Client, user) -> None:
    """Through the sign-in page, as a person does."""
    response = client.post(
        reverse("login"), {"username": user.username, "password": "demo-pass-2027"}
    )
    assert response.status_code == 302, response.content


def code() -> str:
    return re.search(r"\d{6}", sms.outbox[-1].text).group()


def test_the_page_checks_the_name_sends_the_code_and_binds_the_account(unverified):
    client = signed_in(unverified)
    url = reverse("identity-verify")
    assert "去实名认证" in client.get(reverse("home")).content.decode()

    first = client.get(url)
    sent = client.post(
        url, {"action": "start", "name": "李美玲", "id_number": MOTHER, "consent": "on"}
    )
    waiting = client.get(url)
    done = client.post(url, {"action": "code", "code": code()})

    assert first.status_code == 200
    assert 'name="id_number"' in first.content.decode()
    assert (sent.status_code, sent["Location"]) == (302, url)
    assert "验证码已发送到 139****5678" in waiting.content.decode()
    assert PHONE not in waiting.content.decode()
    assert (done.status_code, done["Location"]) == (302, reverse("home"))
    assert User.objects.get(pk=unverified.pk).verified_id_number == MOTHER
    home = client.get(reverse("home")).content.decode()
    assert "实名认证已完成" in home
    assert "去实名认证" not in home
    page = client.get(url).content.decode()
    assert idnumber.mask(MOTHER) in page
    assert MOTHER not in page
    assert client.get(reverse("apply-step", args=["child"])).status_code == 200


def test_the_page_says_the_same_for_a_wrong_name_and_an_unregistered_number(unverified):
    client = signed_in(unverified)
    url = reverse("identity-verify")

    wrong = client.post(
        url, {"action": "start", "name": "李美丽", "id_number": MOTHER, "consent": "on"}
    )
    unknown = client.post(
        url, {"action": "start", "name": "李美丽", "id_number": UNKNOWN, "consent": "on"}
    )

    assert wrong.status_code == unknown.status_code == 400

    def refusal(response):
        return re.findall(
            r'<div class="error-summary" role="alert">.*?</div>', response.content.decode(), re.S
        )

    assert refusal(wrong) == refusal(unknown)
    assert "姓名与身份证号码不一致，请核对后再试。" in refusal(wrong)[0]
    assert sms.outbox == []
    assert User.objects.get(pk=unverified.pk).verified_id_number == ""


def test_the_page_in_english(unverified):
    client = signed_in(unverified, language="en")
    client.cookies["django_language"] = "en"
    url = reverse("identity-verify")

    wrong = client.post(
        url,
        {"action": "start", "name": "李美丽", "id_number": MOTHER, "consent": "on"},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    html = wrong.content.decode()
    assert "The name and the ID number do not match; check them and try again." in html
    assert "Verify your identity" in html


def test_the_api_binds_the_account_with_the_same_two_steps(unverified):
    api = client_for(unverified)

    before = api.get("/api/v1/me/identity/")
    started = api.post(
        "/api/v1/me/identity/",
        {"name": "李美玲", "id_number": MOTHER, "consent": True},
        format="json",
    )
    too_soon = api.post("/api/v1/me/identity/resend/")
    confirmed = api.post("/api/v1/me/identity/confirm/", {"code": code()}, format="json")

    assert before.json() == {
        "verified": False,
        "id_number": "",
        "code_sent_to": None,
        "code_expires_at": None,
    }
    assert started.status_code == 202
    assert started.json()["code_sent_to"] == "139****5678"
    assert (too_soon.status_code, too_soon.json()["extra"]) == (
        429,
        {"why": "resend_too_soon", "seconds": 60},
    )
    assert confirmed.status_code == 200
    assert confirmed.json() == {
        "verified": True,
        "id_number": idnumber.mask(MOTHER),
        "code_sent_to": None,
        "code_expires_at": None,
    }


def test_the_api_refuses_a_mismatch_without_saying_which_half_is_wrong(unverified):
    api = client_for(unverified)

    wrong = api.post(
        "/api/v1/me/identity/",
        {"name": "李美丽", "id_number": MOTHER, "consent": True},
        format="json",
    )
    unknown = api.post(
        "/api/v1/me/identity/",
        {"name": "李美丽", "id_number": UNKNOWN, "consent": True},
        format="json",
    )

    assert (wrong.status_code, wrong.json()) == (unknown.status_code, unknown.json())
    assert wrong.json() == {
        "message": "the name and ID number do not match",
        "code": "identity_refused",
        "extra": {"why": "mismatch"},
    }


def test_changing_the_password_signs_out_the_accounts_other_sessions(parent):
    """Against the session store the project configures: the phone stays signed in, the
    laptop signed in earlier is signed out at its next request."""
    phone, laptop, someone_else = Client(), Client(), Client()
    for client in (phone, laptop):
        sign_in(client, parent)
    someone_else.force_login(UserFactory(username="13600000006"), backend=BACKEND)
    assert laptop.get(reverse("home")).status_code == 200

    changed = phone.post(
        reverse("password-change"),
        {
            "old_password": "demo-pass-2027",
            "new_password1": "another-pass-2028",
            "new_password2": "another-pass-2028",
        },
    )

    assert (changed.status_code, changed["Location"]) == (302, reverse("home"))
    assert phone.get(reverse("home")).status_code == 200
    assert phone.session[SESSION_KEY] == str(parent.pk)
    signed_out = laptop.get(reverse("home"))
    assert (signed_out.status_code, signed_out["Location"]) == (
        302,
        f"{reverse('login')}?next=/",
    )
    assert SESSION_KEY not in laptop.session
    assert someone_else.get(reverse("home")).status_code == 200
    assert User.objects.get(pk=parent.pk).check_password("another-pass-2028")
    assert list(
        AuditLog.objects.filter(action="account.password_change").values_list("actor_id", flat=True)
    ) == [parent.pk]


def test_a_wrong_old_password_changes_nothing(parent):
    client = Client()
    sign_in(client, parent)

    refused = client.post(
        reverse("password-change"),
        {
            "old_password": "not-it",
            "new_password1": "another-pass-2028",
            "new_password2": "another-pass-2028",
        },
    )

    assert refused.status_code == 400
    assert User.objects.get(pk=parent.pk).check_password("demo-pass-2027")
    assert not AuditLog.objects.filter(action="account.password_change").exists()


def test_a_parent_who_does_not_name_themselves_is_sent_back_to_the_guardians(district, parent):
    from enrollment.models import Application

    other = idnumber.make("440604", date(1988, 3, 3), 515)
    client = signed_in(parent)
    client.post(
        reverse("apply-step", args=["child"]),
        {
            "child_name": "陈小明",
            "child_id_number": idnumber.make("440604", date(2020, 3, 15), 123),
        },
    )
    guardians = client.get(reverse("apply-step", args=["guardians"])).content.decode()
    client.post(
        reverse("apply-step", args=["guardians"]),
        {"guardian1_name": "王大伟", "guardian1_relation": "father", "guardian1_id_number": other},
    )
    client.post(
        reverse("apply-step", args=["home"]),
        {"home_community_code": HOME, "school_1": "S440604001"},
    )

    response = client.post(
        reverse("apply-step", args=["consent"]), {"given_by": "0", "agree": "on"}
    )

    html = response.content.decode()
    assert f"身份证号码 {idnumber.mask(MOTHER)}，与实名认证一致" in guardians
    assert response.status_code == 200
    assert "请把您本人填为监护人之一，身份证号码与您的实名认证一致。" in html
    assert f'href="{reverse("apply-step", args=["guardians"])}"' in html
    assert Application.objects.count() == 0
