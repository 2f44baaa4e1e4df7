"""The audit chain's anchors: its head, written outside the database after every append.

An anchor is one line of JSON in an append-only file (AUDIT_ANCHOR_PATH):

    {"entries": 1204, "last_id": 1290, "head": "<entry hash>", "at": "<UTC time>",
     "event": "append", "key": "<key id>", "mac": "<HMAC of the rest>"}

`event` is `append` for an append, `seal` when `seal_audit_chain` vouched for the whole log
(with a `note` saying why). Each line commits to the whole chain before it, as a Certificate
Transparency tree head does, so the newest line alone shows a wipe, a truncation or a chain
recomputed with the key; the earlier ones narrow down where it happened.
"""

import hashlib
import hmac
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from django.conf import settings
from django.utils import timezone

EVENT_APPEND = "append"
EVENT_SEAL = "seal"
# Well under the 4 KiB that one write(2) with O_APPEND puts down whole and unmixed with
# another process's line; a seal's note is cut to fit.
_NOTE_MAX = 500


class AnchorUnreadable(Exception):
    """The anchor file or one of its lines cannot be trusted; the message says which."""


@dataclass(frozen=True)
class Anchor:
    entries: int
    last_id: int
    head: str
    at: str
    event: str
    key_id: str
    note: str = ""
    # Where it was read from: "<path>:<line number>".
    source: str = ""


def anchor_mac(*, fields: dict, key: str) -> str:
    # "anchor\n" first: an anchor's MAC can never pass for an entry's hash under the same key.
    payload = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key.encode(), b"anchor\n" + payload.encode(), hashlib.sha256).hexdigest()


def anchor_line(
    *, entries: int, last_id: int, head: str, event: str = EVENT_APPEND, note: str = ""
) -> str:
    """One signed line under the newest key, newline included, ready to append."""
    key_id, key = list(settings.AUDIT_LOG_KEYS.items())[-1]
    fields = {
        "entries": entries,
        "last_id": last_id,
        "head": head,
        "at": timezone.now().astimezone(UTC).isoformat(),
        "event": event,
        "key": key_id,
    }
    if note:
        fields["note"] = note[:_NOTE_MAX]
    fields["mac"] = anchor_mac(fields=fields, key=key)
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")) + "\n"


def anchor_file_open(*, path: Path | None = None) -> int:
    """A descriptor that appends to the anchor file, creating it (and its folder) if need be."""
    path = Path(path or settings.AUDIT_ANCHOR_PATH)
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)


def anchor_write(*, fd: int, line: str) -> None:
    """Append one line with a single write(2): O_APPEND puts it at the end as one piece, so
    several processes appending at once never interleave their lines."""
    data = line.encode()
    written = os.write(fd, data)
    if written != len(data):
        raise OSError(f"wrote {written} of the anchor's {len(data)} bytes")


def audit_anchor_append(
    *,
    entries: int,
    last_id: int,
    head: str,
    event: str = EVENT_APPEND,
    note: str = "",
    path: Path | None = None,
) -> str:
    """Sign and append one anchor; returns the line written."""
    line = anchor_line(entries=entries, last_id=last_id, head=head, event=event, note=note)
    fd = anchor_file_open(path=path)
    try:
        anchor_write(fd=fd, line=line)
    finally:
        os.close(fd)
    return line


def audit_anchors_read(*, paths: Iterable[Path]) -> list[Anchor]:
    """Every anchor in these files, each line's MAC checked. A missing file holds none.

    Raises AnchorUnreadable naming the first line that is not a well-formed anchor signed by
    one of AUDIT_LOG_KEYS.
    """
    keys = settings.AUDIT_LOG_KEYS
    anchors = []
    for path in paths:
        path = Path(path)
        try:
            handle = path.open(encoding="utf-8")
        except FileNotFoundError:
            continue
        except OSError as error:
            raise AnchorUnreadable(
                f"the anchor file {path} cannot be read ({error.strerror})"
            ) from None
        with handle:
            for number, text in enumerate(handle, start=1):
                if text.strip():
                    anchors.append(_parse(text, keys=keys, source=f"{path}:{number}"))
    return anchors


def _parse(text: str, *, keys: dict[str, str], source: str) -> Anchor:
    try:
        fields = json.loads(text)
        mac = fields.pop("mac")
        anchor = Anchor(
            entries=fields["entries"],
            last_id=fields["last_id"],
            head=fields["head"],
            at=fields["at"],
            event=fields["event"],
            key_id=fields["key"],
            note=fields.get("note", ""),
            source=source,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        raise AnchorUnreadable(f"anchor {source} is not an anchor line") from None
    if not (
        isinstance(anchor.entries, int)
        and isinstance(anchor.last_id, int)
        and isinstance(anchor.head, str)
        and isinstance(mac, str)
        and anchor.event in (EVENT_APPEND, EVENT_SEAL)
    ):
        raise AnchorUnreadable(f"anchor {source} is not an anchor line")
    key = keys.get(anchor.key_id)
    if key is None:
        raise AnchorUnreadable(
            f"anchor {source} was signed with key {anchor.key_id!r}, which AUDIT_LOG_KEYS "
            "does not hold"
        )
    if not hmac.compare_digest(anchor_mac(fields=fields, key=key), mac):
        raise AnchorUnreadable(f"anchor {source} was altered: its MAC does not match")
    return anchor


def anchors_in_force(anchors: Iterable[Anchor]) -> dict[int, list[Anchor]]:
    """The anchors the chain must match, by the number of entries each records.

    A seal vouched for the whole log as it then was (after checking it against the anchors
    before it) and may have re-keyed it, so it stands in for every append anchor up to its
    length; those are left out. What comes after the longest seal must all match.
    """
    anchors = list(anchors)
    seal = max((a for a in anchors if a.event == EVENT_SEAL), key=lambda a: a.entries, default=None)
    in_force: dict[int, list[Anchor]] = {}
    for anchor in anchors:
        if seal is not None and anchor.entries <= seal.entries and anchor is not seal:
            continue
        in_force.setdefault(anchor.entries, []).append(anchor)
    return in_force
