"""Sealing: a log written before it was keyed is checked by the rule it was written with, then
re-keyed once and anchored with a seal that says so; a tampered log is never sealed."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from registry.models import AuditChainHead, AuditEntry
from registry.services.audit import GENESIS_HASH, _unkeyed_hash, subjects_hash
from tests.registry.services.test_audit_chain import anchors, ask, entries, failure, verify

pytestmark = pytest.mark.django_db


def written_before_keying() -> list[AuditEntry]:
    """Turn the log into what the release before the keyed log wrote: SHA-256 over the
    fields, no key, no index hash, and no anchors."""
    prev = GENESIS_HASH
    for entry in entries():
        entry.key_id, entry.subjects_hash, entry.prev_hash = "", "", prev
        entry.entry_hash = _unkeyed_hash(entry)
        prev = entry.entry_hash
        entry.save()
    AuditChainHead.objects.filter(pk=1).update(last_hash=prev)
    return entries()


def seal(*args: str) -> str:
    out = io.StringIO()
    call_command("seal_audit_chain", *args, stdout=out)
    return out.getvalue().strip()


def test_an_unkeyed_log_fails_the_check_until_it_is_sealed(audit_anchor):
    ask(1, 1, 1, anchored=False)
    old = written_before_keying()

    assert failure() == (
        f"audit chain broken at entry {old[0].pk} (at {old[0].at.isoformat()}, client "
        "edu-440604): it carries no key: it was written before the log was keyed and has not "
        "been sealed (manage.py seal_audit_chain); 0 entries before it are intact"
    )

    assert seal() == f"audit chain sealed: 3 entries ending at id {old[2].pk}, 3 re-keyed"

    (line,) = anchors(audit_anchor)
    sealed = entries()
    assert (line["event"], line["entries"], line["last_id"], line["head"], line["key"]) == (
        "seal",
        3,
        old[2].pk,
        sealed[2].entry_hash,
        "dev",
    )
    assert line["note"] == (
        f"re-keyed 3 entries from id {old[0].pk} under key dev; the unkeyed chain verified "
        f"and its hash at entry {old[2].pk} was {old[2].entry_hash}"
    )
    assert [(e.key_id, e.subjects_hash) for e in sealed] == [
        ("dev", subjects_hash(e.subjects.values_list("digest", flat=True))) for e in sealed
    ]
    assert verify() == "audit chain intact: 3 entries"
    ask(1)
    assert verify() == "audit chain intact: 4 entries"


def test_entries_appended_between_the_upgrade_and_the_seal_are_re_keyed_with_it(audit_anchor):
    ask(1, 1, anchored=False)
    old = written_before_keying()
    # The new release appends, keyed and anchored, onto the unkeyed chain's head.
    ask(1, 2)
    assert [a["entries"] for a in anchors(audit_anchor)] == [3, 5]

    assert seal() == f"audit chain sealed: 5 entries ending at id {entries()[-1].pk}, 5 re-keyed"

    assert [a["event"] for a in anchors(audit_anchor)] == ["append", "append", "seal"]
    assert entries()[0].prev_hash == GENESIS_HASH
    assert entries()[0].entry_hash != old[0].entry_hash
    assert verify() == "audit chain intact: 5 entries"


def test_a_tampered_unkeyed_log_is_not_sealed_and_nothing_changes(audit_anchor):
    ask(1, 1, 1, anchored=False)
    old = written_before_keying()
    AuditEntry.objects.filter(pk=old[1].pk).update(purpose="something else")

    with pytest.raises(CommandError) as error:
        seal()

    assert str(error.value) == (
        f"not sealed, nothing changed: audit chain broken at entry {old[1].pk} (at "
        f"{old[1].at.isoformat()}, client edu-440604): its hash does not match; 1 entries "
        "before it are intact"
    )
    assert [(e.key_id, e.prev_hash, e.entry_hash) for e in entries()] == [
        ("", e.prev_hash, e.entry_hash) for e in old
    ]
    assert audit_anchor.read_text() == ""


def test_after_a_restore_the_log_is_sealed_again_into_a_fresh_anchor_file(audit_anchor):
    ask(1, 1, 1)
    log = entries()
    # The database restored to a moment before the last append.
    log[2].subjects.all().delete()
    AuditEntry.objects.filter(pk=log[2].pk).delete()
    AuditChainHead.objects.filter(pk=1).update(
        entries=2, last_id=log[1].pk, last_hash=log[1].entry_hash
    )
    truncated = (
        f"audit chain truncated after entry {log[1].pk}: the anchor of "
        f"{anchors(audit_anchor)[-1]['at']} records 3 entries ending at id {log[2].pk}, "
        "the chain has 2"
    )
    assert failure() == truncated
    with pytest.raises(CommandError) as error:
        seal()
    assert str(error.value) == f"not sealed, nothing changed: {truncated}"

    kept = audit_anchor.with_name("audit-anchor-before-restore.log")
    audit_anchor.rename(kept)
    note = "restored to 2027-04-12 10:41; earlier anchors in audit-anchor-before-restore.log"

    assert seal("--note", note) == (
        f"audit chain sealed: 2 entries ending at id {log[1].pk}, 0 re-keyed"
    )
    (line,) = anchors(audit_anchor)
    assert (line["event"], line["entries"], line["head"], line["note"]) == (
        "seal",
        2,
        log[1].entry_hash,
        note,
    )
    assert verify() == "audit chain intact: 2 entries"
    assert [json.loads(text)["entries"] for text in kept.read_text().splitlines()] == [1, 2, 3]


def test_a_seal_that_cannot_write_its_anchor_changes_nothing(settings, tmp_path):
    ask(1, anchored=False)
    old = written_before_keying()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")

    with pytest.raises(CommandError) as error:
        seal("--anchor", str(blocker / "anchor.log"))

    assert str(error.value) == (
        f"not sealed, nothing changed: the anchor file {blocker / 'anchor.log'} cannot be "
        "opened for appending (File exists)"
    )
    assert [e.entry_hash for e in entries()] == [e.entry_hash for e in old]
