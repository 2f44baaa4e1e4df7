"""Behind the proxy, the sign-in lockout counts the client's own address: a stranger who
knows a parent's phone number locks it out for the stranger's address only."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from config.web import client_address
from tests.enrollment.factories import UserFactory

pytestmark = pytest.mark.django_db

PHONE = "13800138000"
PASSWORD = "Qiuzhi-2027-xue"
PROXY = "10.0.0.2"


def _sign_in(client: Client, password: str, forwarded: str):
    return client.post(
        reverse("login"),
        {"username": PHONE, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


def test_failures_from_one_address_do_not_lock_the_same_phone_from_another(settings):
    settings.PROXY_COUNT = 1
    UserFactory(username=PHONE, password=PASSWORD)
    stranger = Client()

    failures = [_sign_in(stranger, "guess", "203.0.113.9").status_code for _ in range(5)]
    # The stranger cannot step around the lockout by forging an entry of their own: the
    # proxy appends the address it saw, and that is the one counted.
    forged = _sign_in(stranger, PASSWORD, "198.51.100.4, 203.0.113.9")
    owner = _sign_in(Client(), PASSWORD, "198.51.100.4")

    assert failures == [200, 200, 200, 200, 429]
    assert forged.status_code == 429
    assert owner.status_code == 302
    assert owner["Location"] == reverse("home")


@pytest.mark.parametrize(
    ("count", "forwarded", "address"),
    [
        (0, "198.51.100.4", "10.0.0.2"),
        (1, "", "10.0.0.2"),
        (1, "198.51.100.4", "198.51.100.4"),
        (1, "1.2.3.4, 198.51.100.4", "198.51.100.4"),
        (2, "1.2.3.4, 198.51.100.4, 10.0.0.9", "198.51.100.4"),
        (2, "198.51.100.4", "198.51.100.4"),
        (1, " 2001:db8::1 ", "2001:db8::1"),
        # Not an address (forged or garbled): the socket's, never a database error.
        (1, "<script>", "10.0.0.2"),
        (1, "1.2.3.4, 11010519491231002X", "10.0.0.2"),
    ],
)
def test_the_client_address_is_the_entry_the_last_proxy_wrote(settings, count, forwarded, address):
    settings.PROXY_COUNT = count
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR=PROXY)
    if forwarded:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded

    assert client_address(request) == address
