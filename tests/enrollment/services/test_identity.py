"""A parent binds their account to their real-name identity: the registry check, then the code."""

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from enrollment import sms
from enrollment.errors import ApplicationError, ErrorCode, ValidationErrors
from enrollment.models import AuditLog, IdentityVerification, Role, User
from enrollment.services import identity
from enrollment.services.identity import (
    identity_code_confirm,
    identity_code_resend,
    identity_verify_start,
)
from registry import idnumber
from registry.models import AuditEntry, DepartmentClient
from tests.enrollment.factories import UserFactory
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
def on_record():
    return HukouRecordFactory(id_number=MOTHER, name="李美玲")


@pytest.fixture
def account(db):
    return UserFactory(role=Role.PARENT, username=PHONE, phone=PHONE)


def start(account, name="李美玲", id_number=MOTHER):
    return identity_verify_start(actor=account, name=name, id_number=id_number, consented=True)


def sent_code() -> str:
    """The code of the last message sent, as the parent reads it on their phone."""
    return re.search(r"\d{6}", sms.outbox[-1].text).group()


class _Clock:
    def __init__(self, at):
        self.at = at

    def now(self):
        return self.at


def later(monkeypatch, seconds: int):
    """Time passes for the identity service (only: the registry keeps its own clock)."""
    monkeypatch.setattr(identity, "timezone", _Clock(timezone.now() + timedelta(seconds=seconds)))


def refusal(call) -> ApplicationError:
    with pytest.raises(ApplicationError) as refused:
        call()
    return refused.value


def test_a_matching_name_sends_a_code_to_the_accounts_phone_and_the_code_binds(on_record, account):
    row = start(account)

    assert [m.phone for m in sms.outbox] == [PHONE]
    code = sent_code()
    assert "10 分钟" in sms.outbox[0].text
    assert MOTHER not in sms.outbox[0].text
    row.refresh_from_db()
    assert (row.status, row.name, row.id_number, row.codes_sent) == ("pending", "李美玲", MOTHER, 1)
    # at rest only as a keyed hash
    assert re.fullmatch(r"[0-9a-f]{64}", row.code_hash)
    assert code not in row.code_hash
    assert User.objects.get(pk=account.pk).verified_id_number == ""

    identity_code_confirm(actor=account, code=code)

    account.refresh_from_db()
    row.refresh_from_db()
    assert account.verified_id_number == MOTHER
    assert (row.status, row.code_hash, row.method) == ("verified", "", "sms_otp")
    assert row.verified_at is not None
    assert list(AuditLog.objects.values_list("action", "actor_id", "data")) == [
        (
            "identity.verify",
            account.pk,
            {"method": "sms_otp", "new": {"verified_id_number": idnumber.mask(MOTHER)}},
        )
    ]
    entry = AuditEntry.objects.get()
    assert (entry.purpose, entry.outcome, entry.consent_reference) == (
        "account-identity-verification",
        "answered",
        row.consent_reference,
    )


def test_a_wrong_name_and_an_unknown_number_are_refused_alike_and_nothing_bound(on_record, account):
    wrong_name = refusal(lambda: start(account, name="李美丽"))
    no_record = refusal(lambda: start(account, name="王大伟", id_number=UNKNOWN))

    assert (
        wrong_name.as_dict()
        == no_record.as_dict()
        == {
            "message": "the name and ID number do not match",
            "code": "identity_refused",
            "extra": {"why": "mismatch"},
        }
    )
    assert sms.outbox == []
    assert User.objects.get(pk=account.pk).verified_id_number == ""
    # Each check counts towards the daily limit, and keeps neither the name nor the number.
    assert list(IdentityVerification.objects.values_list("status", "name", "id_number")) == [
        ("mismatch", "", ""),
        ("mismatch", "", ""),
    ]
    assert AuditLog.objects.count() == 0
    assert AuditEntry.objects.filter(outcome="answered").count() == 2


def test_registry_checks_stop_after_the_daily_limit_and_come_back_a_day_later(
    on_record, account, settings, monkeypatch
):
    settings.IDENTITY_CHECKS_PER_DAY = 3
    for _ in range(3):
        refusal(lambda: start(account, name="李美丽"))

    limited = refusal(lambda: start(account))

    assert (limited.code, limited.why) == ("identity_refused", "too_many_checks")
    # refused before the registry was asked
    assert AuditEntry.objects.count() == 3
    assert sms.outbox == []
    later(monkeypatch, 24 * 3600 + 1)
    start(account)
    assert len(sms.outbox) == 1


def test_an_expired_code_is_refused_and_a_new_one_works(on_record, account, monkeypatch):
    start(account)
    old = sent_code()
    later(monkeypatch, 10 * 60)

    expired = refusal(lambda: identity_code_confirm(actor=account, code=old))

    assert (expired.why, expired.field) == ("code_expired", "code")
    assert User.objects.get(pk=account.pk).verified_id_number == ""
    identity_code_resend(actor=account)
    identity_code_confirm(actor=account, code=sent_code())
    assert User.objects.get(pk=account.pk).verified_id_number == MOTHER


def test_wrong_codes_are_counted_and_the_fifth_closes_the_attempt(on_record, account):
    start(account)
    right = sent_code()
    wrong = "000000" if right != "000000" else "111111"

    answers = [refusal(lambda: identity_code_confirm(actor=account, code=wrong)) for _ in range(5)]

    assert [(a.why, a.extra.get("attempts_left")) for a in answers] == [
        ("code_wrong", 4),
        ("code_wrong", 3),
        ("code_wrong", 2),
        ("code_wrong", 1),
        ("code_attempts", None),
    ]
    # the right code no longer helps: the attempt is closed
    assert refusal(lambda: identity_code_confirm(actor=account, code=right)).why == "no_code"
    row = IdentityVerification.objects.get()
    assert (row.status, row.code_attempts, row.code_hash) == ("closed", 5, "")
    assert User.objects.get(pk=account.pk).verified_id_number == ""


def test_a_code_works_once(on_record, account):
    start(account)
    code = sent_code()
    identity_code_confirm(actor=account, code=code)

    again = refusal(lambda: identity_code_confirm(actor=account, code=code))

    assert again.why == "already_verified"
    assert IdentityVerification.objects.get().code_hash == ""
    assert AuditLog.objects.filter(action="identity.verify").count() == 1


def test_a_resent_code_replaces_the_old_one_at_most_once_a_minute_and_five_times(
    on_record, account, monkeypatch, settings
):
    start(account)
    first = sent_code()

    too_soon = refusal(lambda: identity_code_resend(actor=account))
    assert (too_soon.why, too_soon.extra["seconds"]) == ("resend_too_soon", 60)
    assert len(sms.outbox) == 1

    for minute in range(1, 5):
        later(monkeypatch, 61 * minute)
        identity_code_resend(actor=account)
    assert len(sms.outbox) == 5
    later(monkeypatch, 61 * 5)
    assert refusal(lambda: identity_code_resend(actor=account)).why == "resend_limit"
    assert len(sms.outbox) == 5

    newest = sent_code()
    if first != newest:
        assert refusal(lambda: identity_code_confirm(actor=account, code=first)).why == (
            "code_wrong"
        )
    identity_code_confirm(actor=account, code=newest)
    assert User.objects.get(pk=account.pk).verified_id_number == MOTHER


def test_an_identity_bound_to_another_account_is_refused_after_the_registry_matched(
    on_record, account
):
    UserFactory(role=Role.PARENT, username="13900000009", identity=MOTHER)

    taken = refusal(lambda: start(account))

    assert (taken.why, taken.field) == ("taken", "id_number")
    assert sms.outbox == []
    assert User.objects.get(pk=account.pk).verified_id_number == ""
    # counted towards the daily limit, without the name and number tried
    assert list(account.identity_verifications.values_list("status", "name", "id_number")) == [
        ("closed", "", "")
    ]


def test_bad_input_is_refused_by_field_before_the_registry_is_asked(on_record, account):
    with pytest.raises(ValidationErrors) as refused:
        identity_verify_start(actor=account, name=" ", id_number=MOTHER[:17] + "0", consented=False)

    assert [(e.code, e.field) for e in refused.value.errors] == [
        (ErrorCode.INVALID, "name"),
        (ErrorCode.ID_NUMBER_INVALID, "id_number"),
        (ErrorCode.CONSENT_MISSING, "consent"),
    ]
    assert MOTHER not in str(refused.value.as_dict())
    assert AuditEntry.objects.count() == 0
    assert IdentityVerification.objects.count() == 0


def test_a_consent_the_registry_cannot_check_is_refused_there_audited_and_nothing_bound(
    on_record, account
):
    DepartmentClient.objects.update(consent_public_keys=[])

    down = refusal(lambda: start(account))

    assert down.code == ErrorCode.REGISTRY_UNAVAILABLE
    entry = AuditEntry.objects.get()
    assert (entry.outcome, entry.refusal_reason.split(":")[0]) == ("refused", "CONSENT_KEY_UNKNOWN")
    assert IdentityVerification.objects.count() == 0
    assert sms.outbox == []


def test_staff_accounts_are_not_verified_this_way(on_record):
    officer = UserFactory(officer=True, username="officer-identity")

    assert refusal(lambda: start(officer)).code == ErrorCode.PERMISSION_DENIED
    assert AuditEntry.objects.count() == 0
