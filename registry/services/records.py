"""Single records captured at a one-stop counter (一门式), pushed by a department client.

The same checks as a bulk feed; each accepted record gets its own counter batch as
provenance. A rejected record writes nothing.
"""

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone

from registry.feeds.specs import FEEDS, RowRejected, check_record
from registry.models import RECORD_MODELS, Channel, ImportBatch


class RecordRejected(ValueError):
    def __init__(self, reason: str, *, field: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.field = field


@dataclass(frozen=True)
class PushResult:
    source: str
    outcome: str  # "inserted", "updated" or "unchanged"
    batch_id: int


@transaction.atomic
def registry_record_push(
    *, client_id: str, source: str, record: dict, as_of: date | None = None
) -> PushResult:
    if source not in FEEDS:
        raise RecordRejected(f"source: one of {', '.join(FEEDS)}", field="source")
    spec = FEEDS[source]
    try:
        values = check_record(source, record)
    except RowRejected as rejection:
        raise RecordRejected(rejection.reason, field=rejection.field) from None
    model = RECORD_MODELS[source]
    data = {
        name: model._meta.get_field(name).to_python(value)
        for name, value in zip(spec.columns, values, strict=True)
    }
    key = {name: data[name] for name in spec.key}
    stored = model.objects.select_for_update().filter(**key).first()
    if stored is not None and all(getattr(stored, name) == data[name] for name in data):
        return PushResult(source=source, outcome="unchanged", batch_id=stored.batch_id)
    outcome = "inserted" if stored is None else "updated"
    as_of = as_of or timezone.localdate()
    batch = ImportBatch.objects.create(
        source=source,
        channel=Channel.COUNTER,
        as_of=as_of,
        submitted_by=client_id,
        status=ImportBatch.Status.DONE,
        finished_at=timezone.now(),
        rows_read=1,
        rows_inserted=int(outcome == "inserted"),
        rows_updated=int(outcome == "updated"),
    )
    if stored is None:
        model.objects.create(batch=batch, as_of=as_of, **data)
    else:
        for name, value in data.items():
            setattr(stored, name, value)
        stored.batch = batch
        stored.as_of = as_of
        stored.save()
    return PushResult(source=source, outcome=outcome, batch_id=batch.id)
