"""Departments' names for the feeds' columns (HeaderMapping): what a steward adds, and what
an import reads once per file."""

from django.db import IntegrityError, transaction

from registry.feeds.specs import FEEDS
from registry.loading.rows import ENGLISH_HEADERS, header_name
from registry.models import HeaderMapping


class HeaderMappingRefused(ValueError):
    """The mapping cannot be added; `field` is the form field at fault, `code` says why
    (unknown_source, unknown_column, empty, too_long, reserved, english_name, taken)."""

    def __init__(self, message: str, *, field: str, code: str, params: dict | None = None):
        super().__init__(message)
        self.field = field
        self.code = code
        self.params = params or {}


def header_mappings(*, source: str) -> dict[str, dict[str, str]]:
    """The source's header sets, {set name: {header: column}}: one query, read once per
    imported file (never per row)."""
    sets: dict[str, dict[str, str]] = {}
    rows = HeaderMapping.objects.filter(source=source).values_list("header_set", "header", "column")
    for header_set, header, column in rows:
        sets.setdefault(header_set, {})[header] = column
    return sets


@transaction.atomic
def header_mapping_add(
    *, source: str, header_set: str, header: str, column: str, acting_user: str
) -> HeaderMapping:
    """Name one of a feed's columns as a department's files name it; from the next import
    on, files with that header load. The row keeps who added it."""
    if source not in FEEDS:
        raise HeaderMappingRefused(
            f"unknown source {source!r}", field="source", code="unknown_source"
        )
    spec = FEEDS[source]
    if column not in spec.columns:
        raise HeaderMappingRefused(
            f"{column!r} is not a column of the {source} feed",
            field="column",
            code="unknown_column",
        )
    name = header_name(header)
    set_name = header_set.strip()
    if not name or not set_name:
        field = "header" if not name else "header_set"
        raise HeaderMappingRefused(f"{field}: required", field=field, code="empty")
    if len(name) > 64 or len(set_name) > 64:
        field = "header" if len(name) > 64 else "header_set"
        raise HeaderMappingRefused(
            f"{field}: longer than 64 characters", field=field, code="too_long"
        )
    if set_name == ENGLISH_HEADERS:
        raise HeaderMappingRefused(
            f"header_set: {ENGLISH_HEADERS} are the feeds' own",
            field="header_set",
            code="reserved",
        )
    if name in spec.columns:
        # An English column name always means its own column.
        raise HeaderMappingRefused(
            f"{name!r} is already the {source} feed's column {name}",
            field="header",
            code="english_name",
        )
    taken = HeaderMapping.objects.filter(source=source, header=name).first()
    if taken is not None:
        raise HeaderMappingRefused(
            f"{name!r} already names {taken.column} ({taken.header_set})",
            field="header",
            code="taken",
            params={"column": taken.column, "header_set": taken.header_set},
        )
    try:
        with transaction.atomic():
            return HeaderMapping.objects.create(
                source=source,
                header_set=set_name,
                header=name,
                column=column,
                created_by=acting_user,
            )
    except IntegrityError:
        # Another steward added the same header a moment before.
        raise HeaderMappingRefused(
            f"{name!r} is already mapped", field="header", code="taken"
        ) from None
