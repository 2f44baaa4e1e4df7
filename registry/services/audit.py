"""The registry's append-only, hash-chained audit log of every query."""

import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from registry.models import AuditChainHead, AuditEntry, AuditSubject

GENESIS_HASH = "0" * 64
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


def subject_digest(id_number: str) -> str:
    key = settings.AUDIT_DIGEST_KEY.encode()
    keyed = _keyed_hmac(key).copy()
    keyed.update(id_number.encode())
    return keyed.hexdigest()


@lru_cache(maxsize=4)
def _keyed_hmac(key: bytes):
    # Keying an HMAC is most of its cost; a batch digests tens of thousands of numbers.
    return hmac.new(key, digestmod=hashlib.sha256)


def content_hash(value: object) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _entry_hash(entry: AuditEntry) -> str:
    body = {
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
    return content_hash({"prev": entry.prev_hash, "entry": body})


def _lock_chain() -> None:
    # SQLite serialises writers already; PostgreSQL needs the chain's tail read and the new
    # entries written under one lock, or two workers would both chain onto the same tail.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])


@transaction.atomic
def audit_append(*, items: Iterable[AuditItem]) -> list[AuditEntry]:
    """Append entries to the chain in one transaction; returns them with their ids."""
    items = list(items)
    if not items:
        return []
    _lock_chain()
    head = _chain_head()
    prev_hash = head.last_hash
    now = timezone.now()
    entries = []
    for item in items:
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
        )
        entry.entry_hash = _entry_hash(entry)
        prev_hash = entry.entry_hash
        entries.append(entry)
    subjects = [
        (entry, subject_digest(id_number))
        for entry, item in zip(entries, items, strict=True)
        for id_number in dict.fromkeys(item.subjects)
    ]
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
    return entries


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


def audit_chain_first_break(*, chunk_size: int = 5000) -> AuditEntry | None:
    """The first entry whose hash or link does not match, or None when the chain is whole."""
    prev_hash = GENESIS_HASH
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=chunk_size):
        if entry.prev_hash != prev_hash or _entry_hash(entry) != entry.entry_hash:
            return entry
        prev_hash = entry.entry_hash
    return None


@dataclass(frozen=True)
class ChainReport:
    entries: int
    first_break: AuditEntry | None = None
    # Set when the entries chain but do not end where the head says (the newest deleted).
    head_mismatch: str = ""

    @property
    def intact(self) -> bool:
        return self.first_break is None and not self.head_mismatch


def audit_chain_verify(*, chunk_size: int = 5000) -> ChainReport:
    """Walk the whole chain, then check that it ends where the head row says it does."""
    prev_hash = GENESIS_HASH
    count, last_id = 0, 0
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=chunk_size):
        if entry.prev_hash != prev_hash or _entry_hash(entry) != entry.entry_hash:
            return ChainReport(entries=count, first_break=entry)
        prev_hash, last_id = entry.entry_hash, entry.id
        count += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None:
        if count:
            return ChainReport(entries=count, head_mismatch="the chain head row is missing")
        return ChainReport(entries=0)
    if (head.entries, head.last_id, head.last_hash) != (count, last_id, prev_hash):
        return ChainReport(
            entries=count,
            head_mismatch=(
                f"the head records {head.entries} entries ending at id {head.last_id}, "
                f"the chain has {count} ending at id {last_id}"
            ),
        )
    return ChainReport(entries=count)
