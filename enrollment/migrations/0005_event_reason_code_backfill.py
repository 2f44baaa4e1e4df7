"""Existing events get the code of the English sentence the product wrote into `reason`, and
keep in `reason` only what a person typed (an override's reason after "override: ", ...).

The texts below are the ones the services wrote before events had a code; a reason matching
none of them is left as it is (with no code), because it is a person's own words. Going back
writes the sentences again from the codes.
"""

import re

from django.db import migrations
from django.db.models.functions import Substr

# The whole reason was the product's: it becomes the code and nothing is left.
EXACT = {
    "submitted": "submitted",
    "verification started": "verification_started",
    "verified against the registry": "verified",
    "registry unavailable; retrying": "registry_waiting",
    "no active points policy; manual review": "no_policy",
}
# The product's words, then a person's.
PREFIXES = {
    "override: ": "override",
    "verify again: ": "verify_again",
    "re-check changed the decision: ": "recheck_changed",
}
# The product's words with specifics in them: (a prefix to find them by, pattern, code, params).
PATTERNS = [
    (
        "registry unavailable after ",
        re.compile(r"registry unavailable after (\d+) attempts; manual review"),
        "registry_unavailable",
        lambda m: {"attempts": int(m.group(1))},
    ),
    (
        "registry refused the lookup: ",
        re.compile(r"registry refused the lookup: (.*); manual review"),
        "lookup_refused",
        lambda m: {"refusal": m.group(1)},
    ),
    (
        "",
        re.compile(r"(upload|commitment) offered about (\w+)"),
        "evidence_offered",
        lambda m: {"kind": m.group(1), "fact": m.group(2)},
    ),
]
CHUNK = 2000


def forwards(apps, schema_editor):
    Event = apps.get_model("enrollment", "ApplicationEvent")
    uncoded = Event.objects.filter(reason_code="")
    for text, code in EXACT.items():
        uncoded.filter(reason=text).update(reason_code=code, reason="")
    for prefix, code in PREFIXES.items():
        uncoded.filter(reason__startswith=prefix).update(
            reason_code=code, reason=Substr("reason", len(prefix) + 1)
        )
    for prefix, pattern, code, params in PATTERNS:
        rows = (
            uncoded.filter(reason__startswith=prefix)
            if prefix
            else uncoded.filter(reason__contains=" offered about ")
        )
        changed = []
        for event in rows.only("id", "reason").iterator(chunk_size=CHUNK):
            match = pattern.fullmatch(event.reason)
            if match is None:
                continue
            event.reason_code, event.reason_params, event.reason = code, params(match), ""
            changed.append(event)
            if len(changed) >= CHUNK:
                Event.objects.bulk_update(changed, ["reason_code", "reason_params", "reason"])
                changed = []
        Event.objects.bulk_update(changed, ["reason_code", "reason_params", "reason"])
    # A withdrawal's reason was always the person's own words.
    uncoded.filter(to_state="withdrawn").update(reason_code="withdrawn")


def _sentence(event) -> str:
    code, params, words = event.reason_code, event.reason_params or {}, event.reason
    for text, exact in EXACT.items():
        if code == exact:
            return text
    for prefix, prefixed in PREFIXES.items():
        if code == prefixed:
            return f"{prefix}{words}"
    if code == "registry_unavailable":
        return f"registry unavailable after {params.get('attempts', '')} attempts; manual review"
    if code == "lookup_refused":
        return f"registry refused the lookup: {params.get('refusal', '')}; manual review"
    if code == "evidence_offered":
        return f"{params.get('kind', '')} offered about {params.get('fact', '')}"
    # evidence_reviewed and withdrawn carried the person's words alone.
    return words


def backwards(apps, schema_editor):
    Event = apps.get_model("enrollment", "ApplicationEvent")
    changed = []
    for event in (
        Event.objects.exclude(reason_code="")
        .only("id", "reason_code", "reason_params", "reason")
        .iterator(chunk_size=CHUNK)
    ):
        event.reason = _sentence(event)[:500]
        changed.append(event)
        if len(changed) >= CHUNK:
            Event.objects.bulk_update(changed, ["reason"])
            changed = []
    Event.objects.bulk_update(changed, ["reason"])


class Migration(migrations.Migration):
    dependencies = [
        ("enrollment", "0004_event_reason_code"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
