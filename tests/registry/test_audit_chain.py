"""The audit chain: intact, changed, and cut short."""

import io
from datetime import date

import pytest
from django.core.management import CommandError, call_command

from registry import idnumber
from registry.contract import FamilyQuestion, LookupContext
from registry.models import AuditEntry
from registry.services.verification import verify_families
from tests.registry.factories import signed

pytestmark = pytest.mark.django_db

CHILD = idnumber.make("440604", date(2020, 3, 15), 123)
MOTHER = idnumber.make("440604", date(1990, 7, 1), 222)


def ask(times: int) -> None:
    for n in range(times):
        verify_families(
            questions=[
                signed(
                    FamilyQuestion(
                        key=f"A{n}",
                        consent_reference=f"consent-{n}",
                        end_user="user:1",
                        child_id_number=CHILD,
                        guardian_id_numbers=(MOTHER,),
                        home_community_code="440604010003",
                        cutoff=date(2027, 3, 31),
                        district_code="440604",
                        city_code="4406",
                    ),
                    purpose="enrollment-2027",
                )
            ],
            context=LookupContext(client_id="edu-440604", purpose="enrollment-2027"),
        )


def verify() -> str:
    out = io.StringIO()
    call_command("verify_audit_chain", stdout=out)
    return out.getvalue().strip()


def test_an_untouched_chain_is_reported_intact():
    ask(3)

    assert verify() == "audit chain intact: 3 entries"


def test_a_changed_entry_is_named_as_the_first_break():
    ask(4)
    third = AuditEntry.objects.order_by("id")[2]
    AuditEntry.objects.filter(pk=third.pk).update(purpose="something else")

    with pytest.raises(CommandError) as error:
        verify()

    assert str(error.value).startswith(f"audit chain broken at entry {third.pk} ")
    assert str(error.value).endswith("; 2 entries before it are intact")


def test_a_deleted_entry_in_the_middle_breaks_the_link():
    ask(3)
    second = AuditEntry.objects.order_by("id")[1]
    second.subjects.all().delete()
    AuditEntry.objects.filter(pk=second.pk).delete()

    with pytest.raises(CommandError, match="audit chain broken at entry"):
        verify()


def test_deleting_the_newest_entry_is_detected_by_the_head():
    ask(3)
    last = AuditEntry.objects.order_by("id").last()
    last.subjects.all().delete()
    AuditEntry.objects.filter(pk=last.pk).delete()

    with pytest.raises(CommandError) as error:
        verify()

    assert str(error.value) == (
        f"audit chain truncated: the head records 3 entries ending at id {last.pk}, "
        f"the chain has 2 ending at id {last.pk - 1}"
    )
