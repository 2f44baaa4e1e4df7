from collections.abc import Sequence

from registry.contract import LookupRecord
from registry.models import AuditEntry, DepartmentClient
from registry.services.audit import subject_digest


def lookups_about(*, id_numbers: Sequence[str]) -> list[LookupRecord]:
    """Every registry query about these people, newest first, as a parent may see it."""
    digests = [subject_digest(n) for n in id_numbers]
    entries = (
        AuditEntry.objects.filter(subjects__digest__in=digests).distinct().order_by("-at", "-id")
    )
    entries = list(entries)
    names = dict(
        DepartmentClient.objects.filter(
            client_id__in={entry.client_id for entry in entries}
        ).values_list("client_id", "name")
    )
    return [
        LookupRecord(
            at=entry.at.isoformat(),
            client_id=entry.client_id,
            client_name=names.get(entry.client_id, ""),
            purpose=entry.purpose,
            consent_reference=entry.consent_reference,
            outcome=entry.outcome,
        )
        for entry in entries
    ]
