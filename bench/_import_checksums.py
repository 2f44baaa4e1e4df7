"""Order-independent checksums of the feed files and of the registry tables, computed apart
from the product's import code (bench/registry_import.py).

A file is read with the csv module by its header; each row becomes the text of its columns in
a fixed order, in the forms PostgreSQL prints them back (a share `100` as `100.00`), joined by
the unit separator. A table's rows become the same text in SQL (`to_char` for dates and
months, `1`/`0` for flags). Each row's text is hashed (the first 64 bits of its MD5) and the
hashes are summed modulo 2**64: the checksum is (rows, sum), equal whatever the rows' order.
Only the canonical files of `generate_district` are read here: the department forms of the
same facts are held to the canonical checksums.
"""

import csv
import hashlib
from decimal import Decimal
from pathlib import Path

SEPARATOR = "\x1f"

# Each feed's table and its columns (as the canonical file names them, and the table too)
# with the kind of value each holds.
FEEDS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "hukou": (
        "registry_hukourecord",
        [
            ("id_number", "text"),
            ("name", "text"),
            ("sex", "text"),
            ("birth_date", "date"),
            ("hukou_district_code", "text"),
            ("community_code", "text"),
            ("address", "text"),
            ("registered_on", "date"),
            ("household_no", "text"),
        ],
    ),
    "property": (
        "registry_propertyrecord",
        [
            ("certificate_no", "text"),
            ("owner_id_number", "text"),
            ("share_percent", "share"),
            ("community_code", "text"),
            ("address", "text"),
            ("registered_on", "date"),
        ],
    ),
    "rental": (
        "registry_rentalrecord",
        [
            ("registration_no", "text"),
            ("tenant_id_number", "text"),
            ("community_code", "text"),
            ("address", "text"),
            ("start_date", "date"),
            ("end_date", "date"),
        ],
    ),
    "social_insurance": (
        "registry_socialinsurancerecord",
        [
            ("id_number", "text"),
            ("month", "month"),
            ("pension", "flag"),
            ("medical", "flag"),
            ("employer_name", "text"),
        ],
    ),
    "residence_permit": (
        "registry_residencepermitrecord",
        [
            ("permit_no", "text"),
            ("id_number", "text"),
            ("district_code", "text"),
            ("issued_on", "date"),
            ("expires_on", "date"),
        ],
    ),
}

_MASK = (1 << 64) - 1


def _file_value(kind: str, value: str) -> str:
    if kind == "share":
        return f"{Decimal(value):.2f}"
    return value  # canonical dates, months (YYYY-MM) and flags (1/0) are printed as written


def _sql_value(kind: str, column: str) -> str:
    if kind == "date":
        return f"to_char({column}, 'YYYY-MM-DD')"
    if kind == "month":
        return f"to_char({column}, 'YYYY-MM')"
    if kind == "flag":
        return f"CASE WHEN {column} THEN '1' ELSE '0' END"
    return f"{column}::text"


def file_checksum(path: Path, feed: str) -> tuple[int, str]:
    """(rows, checksum) of a canonical feed file."""
    _, columns = FEEDS[feed]
    total = rows = 0
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, strict=True)
        header = next(reader)
        at = [(header.index(name), kind) for name, kind in columns]
        for row in reader:
            if not row:
                continue
            text = SEPARATOR.join(_file_value(kind, row[i]) for i, kind in at)
            total += int.from_bytes(hashlib.md5(text.encode()).digest()[:8], "big")  # noqa: S324 - a checksum, not security
            rows += 1
    return rows, f"{total & _MASK:016x}"


def table_checksum(conn, feed: str, schema: str = "public") -> tuple[int, str]:
    """(rows, checksum) of a feed's table as it is stored (provenance left out)."""
    table, columns = FEEDS[feed]
    expressions = ", ".join(_sql_value(kind, name) for name, kind in columns)
    rows, total = conn.execute(
        f"SELECT count(*), coalesce(sum(('x' || substr(md5(concat_ws(%s, {expressions})), 1, 16))"  # noqa: S608 - names are constants
        f"::bit(64)::bigint::numeric), 0) FROM {schema}.{table}",
        [SEPARATOR],
    ).fetchone()
    return rows, f"{int(total) & _MASK:016x}"


def files_checksums(folder: Path) -> dict[str, tuple[int, str]]:
    return {feed: file_checksum(folder / f"{feed}.csv", feed) for feed in FEEDS}


def tables_checksums(url: str, schema: str = "public") -> dict[str, tuple[int, str]]:
    import psycopg

    with psycopg.connect(url) as conn:
        return {feed: table_checksum(conn, feed, schema) for feed in FEEDS}
