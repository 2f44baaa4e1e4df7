"""Reading a session and its account on every signed-in request, with plain queries."""

import logging
from datetime import timedelta

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from enrollment.backends import AccountBackend
from enrollment.models import Role
from enrollment.sessions import SessionStore
from tests.conftest import PARENT_ID_NUMBER
from tests.enrollment.factories import UserFactory
from tests.portal.conftest import BACKEND, signed_in

pytestmark = pytest.mark.django_db


def _stored_session(data: dict, *, expires_in: timedelta) -> str:
    store = SessionStore()
    key = "k" * 32
    Session.objects.create(
        session_key=key,
        session_data=store.encode(data),
        expire_date=timezone.now() + expires_in,
    )
    return key


def test_a_live_session_reads_back_what_was_stored():
    key = _stored_session({"a": 1, "next": "/zh-hans/"}, expires_in=timedelta(hours=1))

    store = SessionStore(session_key=key)

    assert store.load() == {"a": 1, "next": "/zh-hans/"}
    assert store.session_key == key


def test_an_expired_session_reads_as_none_and_gets_a_new_key_when_saved():
    key = _stored_session({"a": 1}, expires_in=timedelta(seconds=-1))

    store = SessionStore(session_key=key)

    assert store.load() == {}
    assert store.session_key is None
    store["b"] = 2
    store.save()
    assert store.session_key not in (None, key)
    assert SessionStore(session_key=store.session_key).load() == {"b": 2}


def test_an_unknown_key_reads_as_an_empty_session():
    store = SessionStore(session_key="n" * 32)

    assert store.load() == {}
    assert store.session_key is None
    assert Session.objects.count() == 0


def test_the_account_read_by_id_is_the_one_the_orm_reads():
    officer = UserFactory(officer=True, username="officer-read", phone="13800000000")

    read = AccountBackend().get_user(officer.pk)

    assert read is not None
    assert read._state.adding is False
    assert {f.attname: getattr(read, f.attname) for f in read._meta.concrete_fields} == {
        f.attname: getattr(officer, f.attname) for f in officer._meta.concrete_fields
    }
    assert (read.role, read.district_code, read.is_parent) == (Role.OFFICER, "440604", False)


def test_an_account_that_is_gone_or_not_active_is_not_signed_in():
    parent = UserFactory(username="parent-inactive", is_active=False)

    assert AccountBackend().get_user(parent.pk) is None
    assert AccountBackend().get_user(parent.pk + 1000) is None


def test_a_deactivated_parent_is_signed_out_on_the_next_request():
    parent = UserFactory(username="parent-deactivated", identity=PARENT_ID_NUMBER)
    client = signed_in(parent)
    assert client.session[SESSION_KEY] == str(parent.pk)
    assert client.session[BACKEND_SESSION_KEY] == BACKEND
    assert client.get(reverse("apply-step", args=["child"])).status_code == 200

    parent.is_active = False
    parent.save(update_fields=["is_active"])

    response = client.get(reverse("apply-step", args=["child"]))
    assert response.status_code == 302
    assert (
        response["Location"] == f"{reverse('login')}?next={reverse('apply-step', args=['child'])}"
    )


def test_signing_out_is_not_logged_as_a_refusal_and_a_page_asked_signed_out_is(caplog):
    parent = UserFactory(username="parent-signing-out")
    client = signed_in(parent)
    caplog.set_level(logging.INFO, logger="enrollment.access")

    signed_out = client.post(reverse("logout"))
    assert signed_out.status_code == 302
    assert [r for r in caplog.records if r.name == "enrollment.access"] == []

    asked = client.get(reverse("apply-step", args=["child"]))
    assert asked.status_code == 302
    assert [r.getMessage() for r in caplog.records if r.name == "enrollment.access"] == [
        "access denied: user=None role= path=/apply/child/ why=sign-in required"
    ]
