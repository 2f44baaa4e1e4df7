"""Every statement the enrollment side writes by hand, and the one way their values are prepared.

Django's ORM writes everything else. A statement is here only while the benchmark named in its
docstring shows that it gains at least a fifth on that benchmark's end-to-end figure against
the ORM's own way, measured in the same run (docs/benchmarks.md, "Hand-written paths").
Values are prepared by the models' own fields (`pre_save`, then `get_db_prep_save`), exactly
as a save would prepare them, so a field's conversion lives in one place: the field.
"""

from collections.abc import Sequence
from contextlib import nullcontext

from django.db import connection, models, transaction


def _insert_values(obj: models.Model, fields) -> list:
    """The values an INSERT of `obj` stores, as the model's fields prepare them for a save."""
    return [field.get_db_prep_save(field.pre_save(obj, add=True), connection) for field in fields]


def _insert_fields(model) -> list:
    return [field for field in model._meta.concrete_fields if not field.primary_key]


def copy_insert(model, objects: Sequence[models.Model]) -> None:
    """Insert new rows. On PostgreSQL with COPY: a verification batch carries 500 decisions of
    a few kilobytes of JSON each (and 500 events), which a parameterised multi-row INSERT
    spends seconds escaping. Elsewhere (SQLite, the demo) bulk_create.

    Kept against bulk_create: `bench/pipeline.py --compare copy` (2026-12-05): 357 against 214
    applications verified a second (1.67), 0.61 against 1.04 ms of worker CPU per application,
    in the same run."""
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objects)
        return
    fields = _insert_fields(model)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    statement = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for obj in objects:
            copy.write_row(_insert_values(obj, fields))


def submission_store(
    application: models.Model, dependents: Sequence[models.Model], job: models.Model
) -> None:
    """Insert a new application, the rows that belong to it and its verification job, all or
    nothing; sets their ids.

    On PostgreSQL this is one statement (the application's insert, then the others' in the
    same WITH), so a submission is one round trip and, outside a caller's transaction, needs
    no BEGIN or COMMIT: on opening day the ORM's eight round trips (BEGIN, six inserts,
    COMMIT) were a third of what a submission cost the web tier. Elsewhere (SQLite, the demo)
    the ORM saves them in a transaction.

    Kept against the ORM's saves: `bench/surge.py --compare submission` (2026-12-05): 57.9
    against 39.8 submissions a second (1.46), 6.8 against 10.0 ms of web CPU per submission,
    in the same run."""
    rows = [*dependents, job]
    if connection.vendor != "postgresql":
        with transaction.atomic():
            application.save(force_insert=True)
            for row in rows:
                row.application = application
                row.save(force_insert=True)
        return
    quote = connection.ops.quote_name
    objects = [application, *rows]
    names = ["a", *(f"d{index}" for index in range(len(rows)))]
    inserts, params = [], []
    for name, obj in zip(names, objects, strict=True):
        fields = _insert_fields(type(obj))
        columns, placeholders = [], []
        for field, value in zip(fields, _insert_values(obj, fields), strict=True):
            columns.append(quote(field.column))
            if obj is not application and field.name == "application":
                placeholders.append("(SELECT id FROM a)")
            else:
                placeholders.append("%s")
                params.append(value)
        inserts.append(
            f"{name} AS (INSERT INTO {quote(obj._meta.db_table)} ({', '.join(columns)})"  # noqa: S608
            f" VALUES ({', '.join(placeholders)}) RETURNING {quote(obj._meta.pk.column)} AS id)"
        )
    ids = ", ".join(f"(SELECT id FROM {name})" for name in names)  # noqa: S608
    # Inside a caller's transaction, a savepoint: a refused statement must not leave the
    # caller's transaction unusable. Outside one, the statement is its own transaction.
    with (
        transaction.atomic() if connection.in_atomic_block else nullcontext(),
        connection.cursor() as cursor,
    ):
        # Identifiers come from the models' metadata; every value is a parameter.
        cursor.execute(f"WITH {', '.join(inserts)} SELECT {ids}", params)  # noqa: S608
        stored = cursor.fetchone()
    for obj, pk in zip(objects, stored, strict=True):
        obj.pk = pk
        obj._state.adding, obj._state.db = False, connection.alias
        if obj is not application:
            obj.application = application


# Below this many rows a temporary table costs more than the multi-row INSERT it replaces.
_COPY_FROM = 1000


def insert_skipping_conflicts(model, objects: Sequence[models.Model], *, unique: str) -> int:
    """Insert the rows whose `unique` column is new and skip the others; returns how many were
    inserted. The outbox's idempotency: a message written twice is written once.

    On PostgreSQL, for a large set, COPY into a temporary table and one INSERT … SELECT … ON
    CONFLICT DO NOTHING: a publication of 200,000 offers writes 400,000 messages, which a
    parameterised INSERT spends most of its time escaping. Elsewhere, and for a few rows,
    bulk_create with ignore_conflicts.

    Kept against bulk_create(ignore_conflicts=True): `bench/notifications.py` prints both in
    the same run (docs/benchmarks.md, "Notifications")."""
    if connection.vendor != "postgresql" or len(objects) < _COPY_FROM:
        keys = {getattr(obj, unique) for obj in objects}
        # The count is for the caller's report; the unique constraint is the guarantee.
        existing = set(
            model.objects.filter(**{f"{unique}__in": keys}).values_list(unique, flat=True)
        )
        model.objects.bulk_create(objects, ignore_conflicts=True)
        return len(keys - existing)
    quote = connection.ops.quote_name
    fields = _insert_fields(model)
    columns = ", ".join(quote(field.column) for field in fields)
    table = quote(model._meta.db_table)
    staging = quote(f"staging_{model._meta.db_table}")
    with transaction.atomic(), connection.cursor() as cursor:
        # Identifiers come from the models' metadata; every value goes through COPY.
        cursor.execute(
            f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS "  # noqa: S608
            f"SELECT {columns} FROM {table} WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY {staging} ({columns}) FROM STDIN") as copy:
            for obj in objects:
                copy.write_row(_insert_values(obj, fields))
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} "  # noqa: S608
            f"ON CONFLICT ({quote(model._meta.get_field(unique).column)}) DO NOTHING"
        )
        inserted = cursor.rowcount
        cursor.execute(f"DROP TABLE {staging}")
    return inserted
