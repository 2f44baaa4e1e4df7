"""The registry's append-only audit log of every query: keyed, chained, and anchored outside
the database (docs/operations.md, "The audit log")."""

import hashlib
import hmac
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from registry.contract import LookupRefused, to_json
from registry.models import AuditChainHead, AuditEntry, AuditSubject
from registry.services.audit_anchor import (
    EVENT_SEAL,
    Anchor,
    AnchorUnreadable,
    anchor_file_open,
    anchor_line,
    anchor_write,
    anchors_in_force,
    audit_anchor_append,
    audit_anchors_read,
)

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
# The key id of entries written before the log was keyed.
UNKEYED = ""
# Any constant works: it names the one lock that serialises appends to the chain.
_CHAIN_LOCK_KEY = 440604_0001


@dataclass(frozen=True)
class AuditItem:
    client_id: str
    end_user: str
    purpose: str
    consent_reference: str
    outcome: str
    question: object
    answer: object = None
    refusal_reason: str = ""
    subjects: Sequence[str] = ()


def refused(
    *,
    context,
    questions: Sequence,
    code: str,
    why: str,
    subjects: Callable[[object], Sequence[str]] = lambda question: (),
) -> LookupRefused:
    """Audit a refused lookup, one entry per question (the code first in the reason, so a
    steward and a page can tell refusals apart), and return the refusal for the caller to
    raise. `subjects` names the people each question is about."""
    audit_append(
        items=[
            AuditItem(
                client_id=context.client_id,
                end_user=question.end_user,
                purpose=context.purpose,
                consent_reference=question.consent_reference,
                outcome=AuditEntry.Outcome.REFUSED,
                refusal_reason=f"{code}: {why}"[:255],
                question=to_json(question),
                subjects=tuple(subjects(question)),
            )
            for question in questions
        ]
    )
    return LookupRefused(code, why)


def subject_digest(id_number: str) -> str:
    key = settings.AUDIT_DIGEST_KEY.encode()
    keyed = _keyed_hmac(key).copy()
    keyed.update(id_number.encode())
    return keyed.hexdigest()


@lru_cache(maxsize=8)
def _keyed_hmac(key: bytes):
    # Keying an HMAC is most of its cost; a batch digests tens of thousands of numbers.
    return hmac.new(key, digestmod=hashlib.sha256)


def content_hash(value: object) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def subjects_hash(digests: Iterable[str]) -> str:
    """What an entry's keyed hash knows of its index rows: their digests, sorted."""
    return hashlib.sha256(",".join(sorted(digests)).encode()).hexdigest()


def _entry_fields(entry: AuditEntry) -> dict:
    return {
        "at": entry.at.isoformat(),
        "client_id": entry.client_id,
        "end_user": entry.end_user,
        "purpose": entry.purpose,
        "consent_reference": entry.consent_reference,
        "outcome": entry.outcome,
        "refusal_reason": entry.refusal_reason,
        "question_hash": entry.question_hash,
        "answer_hash": entry.answer_hash,
    }


def _unkeyed_hash(entry: AuditEntry) -> str:
    """How entries were chained before the log was keyed; `audit_chain_seal` checks them so."""
    return content_hash({"prev": entry.prev_hash, "entry": _entry_fields(entry)})


def _keyed_hash(entry: AuditEntry, key: str) -> str:
    body = {**_entry_fields(entry), "subjects_hash": entry.subjects_hash, "key_id": entry.key_id}
    text = json.dumps(
        {"prev": entry.prev_hash, "entry": body},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    keyed = _keyed_hmac(key.encode()).copy()
    # "entry\n" first: an entry's hash can never pass for an anchor's MAC under the same key.
    keyed.update(b"entry\n" + text.encode())
    return keyed.hexdigest()


def _writing_key() -> tuple[str, str]:
    """The newest of AUDIT_LOG_KEYS: (its id, the key)."""
    return next(reversed(settings.AUDIT_LOG_KEYS.items()))


def _lock_chain() -> None:
    # SQLite serialises writers already; PostgreSQL needs the chain's tail read and the new
    # entries written under one lock, or two workers would both chain onto the same tail.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])


@transaction.atomic
def audit_append(*, items: Iterable[AuditItem]) -> list[AuditEntry]:
    """Append entries to the chain in one transaction; returns them with their ids.

    Once the transaction commits, the new head is anchored outside the database.
    """
    items = list(items)
    if not items:
        return []
    _lock_chain()
    head = _chain_head()
    prev_hash = head.last_hash
    key_id, key = _writing_key()
    now = timezone.now()
    entries, subjects = [], []
    for item in items:
        digests = [subject_digest(id_number) for id_number in dict.fromkeys(item.subjects)]
        entry = AuditEntry(
            at=now,
            client_id=item.client_id,
            end_user=item.end_user,
            purpose=item.purpose,
            consent_reference=item.consent_reference,
            outcome=item.outcome,
            refusal_reason=item.refusal_reason,
            question_hash=content_hash(item.question),
            answer_hash=content_hash(item.answer) if item.answer is not None else "",
            prev_hash=prev_hash,
            subjects_hash=subjects_hash(digests),
            key_id=key_id,
        )
        entry.entry_hash = _keyed_hash(entry, key)
        prev_hash = entry.entry_hash
        entries.append(entry)
        subjects.extend((entry, digest) for digest in digests)
    if connection.vendor == "postgresql":
        _copy_entries(entries, subjects)
    else:
        AuditEntry.objects.bulk_create(entries, batch_size=500)
        if connection.features.can_return_rows_from_bulk_insert is False:
            # Backends that cannot return ids: read them back by their unique hashes.
            ids = dict(
                AuditEntry.objects.filter(
                    entry_hash__in=[e.entry_hash for e in entries]
                ).values_list("entry_hash", "id")
            )
            for entry in entries:
                entry.id = ids[entry.entry_hash]
        AuditSubject.objects.bulk_create(
            (AuditSubject(entry_id=entry.id, digest=digest) for entry, digest in subjects),
            batch_size=500,
        )
    head.entries += len(entries)
    head.last_id = entries[-1].id
    head.last_hash = entries[-1].entry_hash
    head.save(update_fields=["entries", "last_id", "last_hash", "updated_at"])
    # After the commit, never before: an anchor for entries a rollback took back would read as
    # a truncated log. Commits and their anchors may finish in either order between two
    # workers; each anchor records its own length, so order in the file does not matter.
    transaction.on_commit(
        partial(_anchor, entries=head.entries, last_id=head.last_id, head=head.last_hash),
        robust=True,
    )
    return entries


def _anchor(*, entries: int, last_id: int, head: str) -> None:
    try:
        audit_anchor_append(entries=entries, last_id=last_id, head=head)
    except OSError as error:
        # The entries are committed and the answer given; failing the caller now would only
        # have it ask again. Said loudly instead: the next append's anchor covers these too,
        # and `verify_audit_chain` reports entries no anchor covers yet.
        logger.error(
            "audit anchor not written to %s (%s): entries up to %s are not anchored yet",
            settings.AUDIT_ANCHOR_PATH,
            error,
            last_id,
        )


def _copy_entries(entries: list[AuditEntry], subjects: list[tuple[AuditEntry, str]]) -> None:
    """PostgreSQL: ids drawn from the table's sequence, then both tables filled by COPY.

    A batch of ten thousand entries is one round trip per table instead of a statement with
    a hundred thousand parameters. Ids come out of the sequence in order, and appends hold
    the chain lock, so id order stays chain order.
    """
    fields = [f for f in AuditEntry._meta.concrete_fields]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [AuditEntry._meta.db_table, len(entries)],
        )
        for entry, (entry_id,) in zip(entries, sorted(cursor.fetchall()), strict=True):
            entry.id = entry_id
        columns = ", ".join(f.column for f in fields)
        with cursor.cursor.copy(f"COPY {AuditEntry._meta.db_table} ({columns}) FROM STDIN") as copy:
            for entry in entries:
                copy.write_row([getattr(entry, f.attname) for f in fields])
        with cursor.cursor.copy(
            f"COPY {AuditSubject._meta.db_table} (entry_id, digest) FROM STDIN"
        ) as copy:
            for entry, digest in subjects:
                copy.write_row((entry.id, digest))


def _chain_head() -> AuditChainHead:
    """The head row, under the chain lock; made on first use from whatever chain exists."""
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None:
        tail = AuditEntry.objects.order_by("-id").values_list("id", "entry_hash").first()
        head = AuditChainHead.objects.create(
            pk=1,
            entries=AuditEntry.objects.count(),
            last_id=tail[0] if tail else 0,
            last_hash=tail[1] if tail else GENESIS_HASH,
        )
    return head


def _chain(*, chunk_size: int, after_id: int = 0) -> Iterator[list[tuple[AuditEntry, list[str]]]]:
    """The log in id order, a chunk at a time, each entry with its index rows' digests.

    Keyset pages rather than one cursor, so that `audit_chain_seal` can update a chunk
    before reading the next.
    """
    while True:
        chunk = list(AuditEntry.objects.filter(id__gt=after_id).order_by("id")[:chunk_size])
        if not chunk:
            return
        digests: dict[int, list[str]] = {}
        for entry_id, digest in AuditSubject.objects.filter(
            entry_id__gte=chunk[0].id, entry_id__lte=chunk[-1].id
        ).values_list("entry_id", "digest"):
            digests.setdefault(entry_id, []).append(digest)
        yield [(entry, digests.get(entry.id, [])) for entry in chunk]
        after_id = chunk[-1].id


def _entry_problem(entry: AuditEntry, digests: list[str], prev_hash: str, *, sealing: bool) -> str:
    """Why this entry is not as it was written, or "" when it is."""
    if entry.prev_hash != prev_hash:
        return "its link to the previous entry does not match"
    if entry.key_id == UNKEYED:
        if not sealing:
            return (
                "it carries no key: it was written before the log was keyed and has not been "
                "sealed (manage.py seal_audit_chain)"
            )
        return "" if _unkeyed_hash(entry) == entry.entry_hash else "its hash does not match"
    key = settings.AUDIT_LOG_KEYS.get(entry.key_id)
    if key is None:
        return f"it was keyed with key {entry.key_id!r}, which AUDIT_LOG_KEYS does not hold"
    if subjects_hash(digests) != entry.subjects_hash:
        return (
            "its index of the people it was about has changed (rows deleted or added), "
            "so their lists of who looked at their data are wrong"
        )
    if _keyed_hash(entry, key) != entry.entry_hash:
        return "its keyed hash does not match its fields"
    return ""


def _broken(entry: AuditEntry, why: str, intact: int) -> str:
    return (
        f"audit chain broken at entry {entry.id} (at {entry.at.isoformat()}, "
        f"client {entry.client_id}): {why}; {intact} entries before it are intact"
    )


def audit_chain_first_break(*, chunk_size: int = 5000) -> AuditEntry | None:
    """The first entry whose keyed hash, index or link does not match, or None when the chain
    is whole. The anchors are not read: `audit_chain_verify` does that."""
    prev_hash = GENESIS_HASH
    for chunk in _chain(chunk_size=chunk_size):
        for entry, digests in chunk:
            if _entry_problem(entry, digests, prev_hash, sealing=False):
                return entry
            prev_hash = entry.entry_hash
    return None


@dataclass(frozen=True)
class ChainReport:
    entries: int
    # One sentence naming the first thing that differs; empty when the log is intact.
    problem: str = ""
    first_break: AuditEntry | None = None
    last_id: int = 0
    head: str = GENESIS_HASH
    # How many entries the newest anchor vouches for; those after it rest on their keyed
    # hashes and the head row alone until the next append anchors them.
    anchored: int = 0

    @property
    def intact(self) -> bool:
        return not self.problem


def audit_chain_verify(*, anchor_paths: Sequence[Path] = (), chunk_size: int = 5000) -> ChainReport:
    """Walk the whole chain with its index, checking each keyed hash and link, every anchor
    it passes, and that it is as long as the newest anchor and the head row say."""
    if connection.in_atomic_block:
        return _verify(anchor_paths=anchor_paths, chunk_size=chunk_size, sealing=False)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # One snapshot for the whole walk and the head row: appends go on meanwhile, and a
            # head read after them would look longer than the chain walked. The anchors are
            # read before it, and each was written after its commit, so it holds them all.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return _verify(anchor_paths=anchor_paths, chunk_size=chunk_size, sealing=False)


def _verify(*, anchor_paths: Sequence[Path], chunk_size: int, sealing: bool) -> ChainReport:
    paths = [Path(p) for p in anchor_paths] or [Path(settings.AUDIT_ANCHOR_PATH)]
    try:
        anchors = anchors_in_force(audit_anchors_read(paths=paths))
    except AnchorUnreadable as error:
        return ChainReport(entries=0, problem=f"audit chain not checked: {error}")
    prev_hash, count, last_id = GENESIS_HASH, 0, 0
    # The newest anchor matched so far, and the first entry after it: a chain recomputed with
    # the key differs from the anchors somewhere from that entry on.
    matched: Anchor | None = None
    since_match: AuditEntry | None = None
    for chunk in _chain(chunk_size=chunk_size):
        for entry, digests in chunk:
            why = _entry_problem(entry, digests, prev_hash, sealing=sealing)
            if why:
                return ChainReport(
                    entries=count, first_break=entry, problem=_broken(entry, why, count)
                )
            count += 1
            since_match = since_match or entry
            for anchor in anchors.get(count, ()):
                if (anchor.last_id, anchor.head) != (entry.id, entry.entry_hash):
                    return ChainReport(
                        entries=count - 1,
                        first_break=since_match,
                        problem=_rewritten(anchor, entry, since_match, matched),
                    )
            if count in anchors:
                matched, since_match = anchors[count][-1], None
            prev_hash, last_id = entry.entry_hash, entry.id
    newest = anchors[max(anchors)][-1] if anchors else None
    if newest is not None and newest.entries > count:
        return ChainReport(
            entries=count, last_id=last_id, problem=_truncated(newest, count, last_id)
        )
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None and count:
        return ChainReport(
            entries=count, problem="audit chain truncated: the chain head row is missing"
        )
    if head is not None and (head.entries, head.last_id, head.last_hash) != (
        count,
        last_id,
        prev_hash,
    ):
        return ChainReport(
            entries=count,
            problem=(
                f"audit chain truncated: the head records {head.entries} entries ending at id "
                f"{head.last_id}, the chain has {count} ending at id {last_id}"
            ),
        )
    if newest is None and count and not sealing:
        return ChainReport(
            entries=count,
            problem=(
                f"audit chain not anchored: {' or '.join(map(str, paths))} holds no anchor, "
                f"the chain has {count} entries ending at id {last_id}"
            ),
        )
    return ChainReport(
        entries=count,
        last_id=last_id,
        head=prev_hash,
        anchored=newest.entries if newest is not None else 0,
    )


def _rewritten(anchor: Anchor, entry: AuditEntry, first: AuditEntry, matched: Anchor | None) -> str:
    before = (
        f"the {matched.entries} entries before it match the anchor of {matched.at}"
        if matched is not None
        else "no anchor before it to compare with"
    )
    return (
        f"audit chain rewritten at or after entry {first.id}: the anchor of {anchor.at} "
        f"records entry number {anchor.entries} as id {anchor.last_id} with hash "
        f"{anchor.head[:16]}, the chain has id {entry.id} with hash {entry.entry_hash[:16]}; "
        f"{before}"
    )


def _truncated(anchor: Anchor, count: int, last_id: int) -> str:
    recorded = (
        f"the anchor of {anchor.at} records {anchor.entries} entries ending at id {anchor.last_id}"
    )
    if not count:
        return f"audit chain truncated: every entry is gone, {recorded}"
    return f"audit chain truncated after entry {last_id}: {recorded}, the chain has {count}"


class SealRefused(Exception):
    """The log is not as written; sealing it would vouch for a tampered log."""


@dataclass(frozen=True)
class SealResult:
    entries: int
    rekeyed: int
    last_id: int
    line: str
    # Set when the database was sealed but the line could not be appended to the file.
    anchor_error: str = ""


def audit_chain_seal(
    *, note: str = "", anchor_path: Path | None = None, chunk_size: int = 2000
) -> SealResult:
    """Check the whole log (entries written before it was keyed by the rule they were written
    with), re-key any such entries and everything after them under the newest key, and
    anchor the result with a `seal` line that says what was done.

    Refused, changing nothing, when any entry, index or anchor differs. A seal also starts
    anchoring afresh in an empty anchor file (docs/operations.md says when that is right).
    """
    path = Path(anchor_path or settings.AUDIT_ANCHOR_PATH)
    try:
        # Opened first: a file that cannot take the seal's line stops it before any change.
        fd = anchor_file_open(path=path)
    except OSError as error:
        raise SealRefused(
            f"the anchor file {path} cannot be opened for appending ({error.strerror})"
        ) from None
    try:
        with transaction.atomic():
            _lock_chain()
            report = _verify(anchor_paths=[path], chunk_size=chunk_size, sealing=True)
            if report.problem:
                raise SealRefused(report.problem)
            rekeyed, head_hash, legacy = _rekey(chunk_size=chunk_size)
            head = _chain_head()
            head.entries, head.last_id = report.entries, report.last_id
            head.last_hash = head_hash if rekeyed else report.head
            head.save(update_fields=["entries", "last_id", "last_hash", "updated_at"])
            said = [legacy] if legacy else []
            said += [note.strip()] if note.strip() else []
            line = anchor_line(
                entries=head.entries,
                last_id=head.last_id,
                head=head.last_hash,
                event=EVENT_SEAL,
                note="; ".join(said) or "sealed",
            )
        try:
            anchor_write(fd=fd, line=line)
        except OSError as error:
            return SealResult(
                entries=head.entries,
                rekeyed=rekeyed,
                last_id=head.last_id,
                line=line,
                anchor_error=str(error),
            )
    finally:
        os.close(fd)
    return SealResult(entries=head.entries, rekeyed=rekeyed, last_id=head.last_id, line=line)


def _rekey(*, chunk_size: int) -> tuple[int, str, str]:
    """Re-key from the first entry written without a key to the end of the chain (each later
    entry's link changes with it). Returns how many, the new head, and what the seal's note
    records of the unkeyed chain it replaced."""
    unkeyed = AuditEntry.objects.filter(key_id=UNKEYED)
    first = unkeyed.order_by("id").values_list("id", flat=True).first()
    if first is None:
        return 0, "", ""
    last_id, last_hash = unkeyed.order_by("-id").values_list("id", "entry_hash").first()
    prev_hash = (
        AuditEntry.objects.filter(id__lt=first)
        .order_by("-id")
        .values_list("entry_hash", flat=True)
        .first()
    ) or GENESIS_HASH
    key_id, key = _writing_key()
    rekeyed = 0
    with _RekeyWriter() as writer:
        for chunk in _chain(chunk_size=chunk_size, after_id=first - 1):
            for entry, digests in chunk:
                entry.prev_hash = prev_hash
                entry.key_id = key_id
                entry.subjects_hash = subjects_hash(digests)
                entry.entry_hash = _keyed_hash(entry, key)
                prev_hash = entry.entry_hash
            writer.write([entry for entry, _ in chunk])
            rekeyed += len(chunk)
    legacy = (
        f"re-keyed {rekeyed} entries from id {first} under key {key_id}; the unkeyed chain "
        f"verified and its hash at entry {last_id} was {last_hash}"
    )
    return rekeyed, prev_hash, legacy


_REKEYED = ["prev_hash", "entry_hash", "subjects_hash", "key_id"]


class _RekeyWriter:
    """Writes re-keyed entries back. PostgreSQL: COPY into a temporary table, then one UPDATE
    joined on id (a CASE per row, as bulk_update writes it, took minutes for fifty thousand
    entries); other databases: bulk_update."""

    def __enter__(self):
        self.postgres = connection.vendor == "postgresql"
        if self.postgres:
            with connection.cursor() as cursor:
                cursor.execute(
                    "CREATE TEMPORARY TABLE audit_rekeyed (id bigint PRIMARY KEY,"
                    " prev_hash varchar(64), entry_hash varchar(64),"
                    " subjects_hash varchar(64), key_id varchar(16)) ON COMMIT DROP"
                )
        return self

    def write(self, entries: list[AuditEntry]) -> None:
        if not self.postgres:
            AuditEntry.objects.bulk_update(entries, _REKEYED, batch_size=500)
            return
        with connection.cursor() as cursor:
            columns = ", ".join(["id", *_REKEYED])
            with cursor.cursor.copy(f"COPY audit_rekeyed ({columns}) FROM STDIN") as copy:
                for entry in entries:
                    copy.write_row([entry.id, *(getattr(entry, name) for name in _REKEYED)])

    def __exit__(self, kind, error, trace):
        if error is None and self.postgres:
            # The table and column names come from the model; there are no values.
            table = AuditEntry._meta.db_table
            columns = ", ".join(f"{name} = r.{name}" for name in _REKEYED)
            sql = f"UPDATE {table} AS e SET {columns} FROM audit_rekeyed AS r WHERE e.id = r.id"  # noqa: S608
            with connection.cursor() as cursor:
                cursor.execute(sql)
                cursor.execute("DROP TABLE audit_rekeyed")
        return False
