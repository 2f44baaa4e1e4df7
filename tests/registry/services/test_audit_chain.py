"""The audit chain: keyed, covering its index, anchored outside the database; and each way of
rewriting it quietly (an entry, an index row, a recomputed chain, a wipe, a cut tail) caught
and named."""

import io
import json
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import TestCase

from registry import idnumber
from registry.contract import FamilyQuestion, LookupContext
from registry.models import AuditChainHead, AuditEntry, AuditSubject
from registry.selectors import lookups_about
from registry.services.audit import _keyed_hash, _unkeyed_hash, subject_digest
from registry.services.verification import verify_families
from tests.registry.factories import signed

pytestmark = pytest.mark.django_db

CHILD = idnumber.make("440604", date(2020, 3, 15), 123)
MOTHER = idnumber.make("440604", date(1990, 7, 1), 222)
OTHER_CHILD = idnumber.make("440604", date(2020, 5, 2), 456)
OTHER_FATHER = idnumber.make("440604", date(1988, 1, 9), 333)
OURS = (CHILD, MOTHER)
THEIRS = (OTHER_CHILD, OTHER_FATHER)
KEY_2026 = "audit-log-key-of-2026-" + "a" * 20
KEY_2027 = "audit-log-key-of-2027-" + "b" * 20


def question(n: int, family: tuple[str, str] = OURS) -> FamilyQuestion:
    return signed(
        FamilyQuestion(
            key=f"A{n}",
            consent_reference=f"consent-{n}",
            end_user="user:1",
            child_id_number=family[0],
            guardian_id_numbers=(family[1],),
            home_community_code="440604010003",
            cutoff=date(2027, 3, 31),
            district_code="440604",
            city_code="4406",
        ),
        purpose="enrollment-2027",
    )


def ask(*batches: int | tuple[str, str], anchored: bool = True) -> None:
    """One `verify_families` call per batch (a number of questions, or one question about a
    family), each committed and then anchored, as outside a test's transaction."""
    with TestCase.captureOnCommitCallbacks(execute=anchored):
        for batch in batches:
            family = batch if isinstance(batch, tuple) else OURS
            size = batch if isinstance(batch, int) else 1
            start = AuditEntry.objects.count()
            verify_families(
                questions=[question(start + n, family) for n in range(size)],
                context=LookupContext(client_id="edu-440604", purpose="enrollment-2027"),
            )


def verify(*args: str) -> str:
    out = io.StringIO()
    call_command("verify_audit_chain", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


def failure(*args: str) -> str:
    with pytest.raises(CommandError) as error:
        verify(*args)
    return str(error.value)


def anchors(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def entries() -> list[AuditEntry]:
    return list(AuditEntry.objects.order_by("id"))


def test_an_intact_log_of_several_batches_passes_and_each_batch_is_anchored(audit_anchor):
    ask(1, 2, 3)

    assert verify() == "audit chain intact: 6 entries"
    log = entries()
    assert [
        (a["entries"], a["last_id"], a["head"], a["event"], a["key"]) for a in anchors(audit_anchor)
    ] == [
        (1, log[0].id, log[0].entry_hash, "append", "dev"),
        (3, log[2].id, log[2].entry_hash, "append", "dev"),
        (6, log[5].id, log[5].entry_hash, "append", "dev"),
    ]
    assert {entry.key_id for entry in log} == {"dev"}


def test_a_changed_entry_is_named_as_the_first_break():
    ask(1, 1, 1, 1)
    third = entries()[2]
    AuditEntry.objects.filter(pk=third.pk).update(purpose="something else")

    assert failure() == (
        f"audit chain broken at entry {third.pk} (at {third.at.isoformat()}, client "
        "edu-440604): its keyed hash does not match its fields; 2 entries before it are intact"
    )


def test_a_rewritten_entry_with_the_chain_recomputed_without_the_key_is_named():
    ask(1, 1, 1, 1)
    log = entries()
    third = log[2]
    # What anyone who can write the tables can do: change an entry, then recompute every hash
    # after it (and the head) with SHA-256, as the log was chained before it was keyed.
    prev = log[1].entry_hash
    for entry in log[2:]:
        if entry.pk == third.pk:
            entry.purpose = "something else"
        entry.prev_hash = prev
        entry.entry_hash = _unkeyed_hash(entry)
        prev = entry.entry_hash
        entry.save()
    AuditChainHead.objects.filter(pk=1).update(last_hash=prev)

    assert failure() == (
        f"audit chain broken at entry {third.pk} (at {third.at.isoformat()}, client "
        "edu-440604): its keyed hash does not match its fields; 2 entries before it are intact"
    )


def test_a_chain_recomputed_with_the_key_differs_from_its_anchors(settings, audit_anchor):
    ask(1, 1, 1, 1)
    log = entries()
    # Someone who holds the key as well as the tables: every hash from the second entry on
    # is recomputed and passes; the anchors outside the database still show it.
    key = settings.AUDIT_LOG_KEYS["dev"]
    prev = log[0].entry_hash
    for entry in log[1:]:
        if entry.pk == log[1].pk:
            entry.purpose = "something else"
        entry.prev_hash = prev
        entry.entry_hash = _keyed_hash(entry, key)
        prev = entry.entry_hash
        entry.save()
    AuditChainHead.objects.filter(pk=1).update(last_hash=prev)
    written = anchors(audit_anchor)

    assert failure() == (
        f"audit chain rewritten at or after entry {log[1].pk}: the anchor of "
        f"{written[1]['at']} records entry number 2 as id {log[1].pk} with hash "
        f"{written[1]['head'][:16]}, the chain has id {log[1].pk} with hash "
        f"{log[1].entry_hash[:16]}; the 1 entries before it match the anchor of "
        f"{written[0]['at']}"
    )


def test_deleting_a_persons_index_rows_is_caught_and_what_it_hid_is_named():
    ask(THEIRS, OURS, THEIRS, OURS)
    log = entries()
    assert [r.consent_reference for r in lookups_about(id_numbers=[MOTHER])] == [
        "consent-3",
        "consent-1",
    ]

    AuditSubject.objects.filter(digest=subject_digest(MOTHER)).delete()

    # "Who looked at my data" now hides both lookups from the mother, not from her child.
    assert lookups_about(id_numbers=[MOTHER]) == []
    assert len(lookups_about(id_numbers=[CHILD])) == 2
    second = log[1]
    assert failure() == (
        f"audit chain broken at entry {second.pk} (at {second.at.isoformat()}, client "
        "edu-440604): its index of the people it was about has changed (rows deleted or "
        "added), so their lists of who looked at their data are wrong; 1 entries before it "
        "are intact"
    )


def test_an_index_row_added_to_invent_a_lookup_is_caught():
    ask(THEIRS, OURS)
    first = entries()[0]
    AuditSubject.objects.create(entry=first, digest=subject_digest(MOTHER))

    assert failure().startswith(
        f"audit chain broken at entry {first.pk} (at {first.at.isoformat()}, client "
        "edu-440604): its index of the people it was about has changed"
    )


def test_wiping_every_entry_and_the_head_is_caught_by_the_anchor(audit_anchor):
    ask(1, 3)
    last = entries()[-1]
    AuditSubject.objects.all().delete()
    AuditEntry.objects.all().delete()
    AuditChainHead.objects.all().delete()

    assert failure() == (
        "audit chain truncated: every entry is gone, the anchor of "
        f"{anchors(audit_anchor)[-1]['at']} records 4 entries ending at id {last.pk}"
    )


def test_cutting_the_tail_and_mending_the_head_is_caught_by_the_anchor(audit_anchor):
    ask(1, 1, 2)
    log = entries()
    cut = [entry.pk for entry in log[2:]]
    AuditSubject.objects.filter(entry_id__in=cut).delete()
    AuditEntry.objects.filter(pk__in=cut).delete()
    AuditChainHead.objects.filter(pk=1).update(
        entries=2, last_id=log[1].pk, last_hash=log[1].entry_hash
    )

    assert failure() == (
        f"audit chain truncated after entry {log[1].pk}: the anchor of "
        f"{anchors(audit_anchor)[-1]['at']} records 4 entries ending at id {log[3].pk}, "
        "the chain has 2"
    )


def test_a_deleted_entry_in_the_middle_breaks_the_link():
    ask(1, 1, 1)
    second, third = entries()[1:3]
    second.subjects.all().delete()
    AuditEntry.objects.filter(pk=second.pk).delete()

    assert failure() == (
        f"audit chain broken at entry {third.pk} (at {third.at.isoformat()}, client "
        "edu-440604): its link to the previous entry does not match; 1 entries before it are "
        "intact"
    )


def test_entries_whose_anchor_was_lost_rest_on_the_head_row():
    ask(1, 1)
    # The process died between its commit and its anchor: the entry is not anchored yet.
    ask(1, anchored=False)
    err = io.StringIO()
    call_command("verify_audit_chain", stdout=io.StringIO(), stderr=err)
    assert err.getvalue() == (
        "note: the newest 1 entries are not anchored yet (the newest anchor records 2); the "
        "next append anchors them\n"
    )

    last = entries()[-1]
    last.subjects.all().delete()
    AuditEntry.objects.filter(pk=last.pk).delete()

    assert failure() == (
        f"audit chain truncated: the head records 3 entries ending at id {last.pk}, "
        f"the chain has 2 ending at id {last.pk - 1}"
    )


def test_an_anchor_is_written_only_for_what_was_committed(audit_anchor):
    def append_then_fail():
        with transaction.atomic():
            ask(2, anchored=False)
            raise RuntimeError("the caller's transaction fails after the append")

    with TestCase.captureOnCommitCallbacks(execute=True), pytest.raises(RuntimeError):
        append_then_fail()
    ask(1)

    assert [a["entries"] for a in anchors(audit_anchor)] == [1]
    assert verify() == "audit chain intact: 1 entries"


def test_an_anchor_that_cannot_be_written_is_logged_and_the_check_says_so(
    settings, tmp_path, caplog
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings.AUDIT_ANCHOR_PATH = blocker / "audit-anchor.log"

    ask(2)

    last = entries()[-1]
    assert [
        (r.levelname, r.getMessage()) for r in caplog.records if r.name.startswith("registry")
    ] == [
        (
            "ERROR",
            f"audit anchor not written to {settings.AUDIT_ANCHOR_PATH} ([Errno 17] File exists: "
            f"'{blocker}'): entries up to {last.pk} are not anchored yet",
        )
    ]
    assert failure() == (
        f"audit chain not checked: the anchor file {settings.AUDIT_ANCHOR_PATH} cannot be read "
        "(Not a directory)"
    )


def test_an_altered_anchor_line_is_named(audit_anchor):
    ask(1, 1)
    lines = audit_anchor.read_text().splitlines()
    lines[1] = lines[1].replace('"entries":2', '"entries":1')
    audit_anchor.write_text("\n".join(lines) + "\n")

    assert failure() == (
        f"audit chain not checked: anchor {audit_anchor}:2 was altered: its MAC does not match"
    )


def test_a_deleted_anchor_file_leaves_the_log_unanchored(audit_anchor):
    ask(1, 1)
    audit_anchor.unlink()

    assert failure() == (
        f"audit chain not anchored: {audit_anchor} holds no anchor, the chain has 2 entries "
        f"ending at id {entries()[-1].pk}"
    )


def test_entries_and_anchors_written_under_an_older_key_still_verify(settings, audit_anchor):
    settings.AUDIT_LOG_KEYS = {"k2026": KEY_2026}
    ask(1, 1)
    settings.AUDIT_LOG_KEYS = {"k2026": KEY_2026, "k2027": KEY_2027}
    ask(2)

    assert [entry.key_id for entry in entries()] == ["k2026", "k2026", "k2027", "k2027"]
    assert [a["key"] for a in anchors(audit_anchor)] == ["k2026", "k2026", "k2027"]
    assert verify() == "audit chain intact: 4 entries"

    settings.AUDIT_LOG_KEYS = {"k2027": KEY_2027}
    assert failure() == (
        f"audit chain not checked: anchor {audit_anchor}:1 was signed with key 'k2026', which "
        "AUDIT_LOG_KEYS does not hold"
    )


def test_a_second_anchor_file_is_read_with_the_first(tmp_path, settings, audit_anchor):
    ask(1)
    settings.AUDIT_ANCHOR_PATH = tmp_path / "other-host.log"
    ask(1, 1)
    settings.AUDIT_ANCHOR_PATH = audit_anchor
    log = entries()
    AuditSubject.objects.filter(entry_id=log[2].pk).delete()
    AuditEntry.objects.filter(pk=log[2].pk).delete()
    AuditChainHead.objects.filter(pk=1).update(
        entries=2, last_id=log[1].pk, last_hash=log[1].entry_hash
    )

    # This host's file alone knows only the first entry; the other host's shows the cut.
    assert verify() == "audit chain intact: 2 entries"
    assert failure(
        "--anchor", str(audit_anchor), "--anchor", str(tmp_path / "other-host.log")
    ).startswith(f"audit chain truncated after entry {log[1].pk}: the anchor of ")
