"""The two baselines of bench/registry_import.py: what a DBA would do with psql's `\\copy`.

- plain: `COPY … (FORMAT csv, HEADER)` of each canonical file into a table of text columns,
  no types, no keys, no checks.
- typed: `COPY` of each canonical file into the registry's own tables, made empty in the
  scratch schema `typed` by `CREATE TABLE … (LIKE registry_… INCLUDING ALL)`: the same column
  types and collations, primary key, unique natural keys, lookup indexes and check
  constraints, maintained row by row as COPY inserts. The file's header gives the column
  list; the provenance (batch, as-of date, updated-at) comes from column defaults, an empty
  field is empty text (`FORCE_NOT_NULL`), no row is checked. The one value PostgreSQL does not
  take as written is the social-insurance month (`2025-02` is no date): the stream gets `-01`
  appended to it on the way, one regular-expression pass per block, which this side pays for.
"""

import re
import time
from pathlib import Path

from _import_checksums import FEEDS

_BLOCK = 4 << 20
_MONTH = re.compile(rb"^([^,\n]*,\d{4}-\d{2}),", re.MULTILINE)
TYPED = "typed"


def _header(path: Path) -> list[str]:
    with path.open("rb") as handle:
        return handle.readline().decode().strip().split(",")


def _stream(copy, path: Path, rewrite=None) -> None:
    with path.open("rb") as handle:
        rest = b""
        while block := handle.read(_BLOCK):
            block = rest + block
            cut = block.rfind(b"\n") + 1
            block, rest = block[:cut], block[cut:]
            copy.write(rewrite(block) if rewrite else block)
        if rest:
            copy.write(rewrite(rest) if rewrite else rest)


def plain_prepare(conn) -> None:
    for feed in FEEDS:
        conn.execute(f"DROP TABLE IF EXISTS plain_{feed}")


def plain_copy(conn, folder: Path) -> dict:
    """COPY every canonical file into a new table of text columns: rows copied and seconds,
    by feed."""
    counts, seconds = {}, {}
    for feed in FEEDS:
        started = time.perf_counter()
        path = folder / f"{feed}.csv"
        table = f"plain_{feed}"
        conn.execute(f"CREATE TABLE {table} ({', '.join(f'{c} text' for c in _header(path))})")
        statement = f"COPY {table} FROM STDIN (FORMAT csv, HEADER true)"
        with conn.transaction(), conn.cursor() as cursor:
            with cursor.copy(statement) as copy:
                _stream(copy, path)
            counts[feed] = cursor.rowcount
        seconds[feed] = time.perf_counter() - started
    return {"rows": counts, "feed_seconds": seconds}


def typed_create(conn) -> None:
    """The registry's tables, empty, in the scratch schema (untimed, once)."""
    conn.execute(f"DROP SCHEMA IF EXISTS {TYPED} CASCADE")
    conn.execute(f"CREATE SCHEMA {TYPED}")
    for table, _ in FEEDS.values():
        conn.execute(f"CREATE TABLE {TYPED}.{table} (LIKE public.{table} INCLUDING ALL)")
        conn.execute(
            f"ALTER TABLE {TYPED}.{table} ALTER COLUMN batch_id SET DEFAULT 0,"
            " ALTER COLUMN as_of SET DEFAULT current_date,"
            " ALTER COLUMN updated_at SET DEFAULT now()"
        )


def typed_prepare(conn) -> None:
    tables = ", ".join(f"{TYPED}.{table}" for table, _ in FEEDS.values())
    conn.execute(f"TRUNCATE {tables}")


def typed_copy(conn, folder: Path) -> dict:
    """COPY every canonical file into the typed, keyed tables: rows copied and seconds, by
    feed."""
    counts, seconds = {}, {}
    for feed, (table, columns) in FEEDS.items():
        started = time.perf_counter()
        path = folder / f"{feed}.csv"
        listed = ", ".join(_header(path))
        texts = ", ".join(name for name, kind in columns if kind == "text")
        statement = (
            f"COPY {TYPED}.{table} ({listed}) FROM STDIN"
            f" (FORMAT csv, HEADER true, FORCE_NOT_NULL ({texts}))"
        )
        rewrite = (
            (lambda block: _MONTH.sub(rb"\1-01,", block)) if feed == "social_insurance" else None
        )
        with conn.transaction(), conn.cursor() as cursor:
            with cursor.copy(statement) as copy:
                _stream(copy, path, rewrite)
            counts[feed] = cursor.rowcount
        seconds[feed] = time.perf_counter() - started
    return {"rows": counts, "feed_seconds": seconds}
