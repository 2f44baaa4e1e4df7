"""Admitted lists for schools (CSV, XLSX) and the city-wide allocation file.

Every cell goes through `safe_cell`, so no cell can start a spreadsheet formula; every download
of an admitted list, and every refused attempt, is a DownloadLog row.
"""

import codecs
import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import TextIO

from django.db import connection
from django.utils import timezone
from openpyxl import Workbook

from enrollment.errors import ApplicationError, ErrorCode
from enrollment.exports import FORMULA_LEAD, FORMULA_START, safe_cell
from enrollment.models import (
    AllocationRun,
    Application,
    DownloadLog,
    Guardian,
    Offer,
    Placement,
    School,
    User,
)

ADMITTED_COLUMNS = (
    "school_code",
    "ref",
    "child_name",
    "child_id_number",
    "guardian_names",
    "home_address",
    "total_points",
    "rank",
)
ALLOCATION_COLUMNS = (
    "ref",
    "school_code",
    "in_catchment",
    "total_points",
    "lottery_number",
    "seed",
)
FORMATS = ("csv", "xlsx")
# Rows fetched per round trip by the streamed allocation export: about 1 MB of tuples.
STREAM_CHUNK = 5000


def admitted_rows(*, school: School, now: datetime | None = None) -> list[tuple]:
    """The school's admitted children (live offers made visible), in the school's priority
    order as the latest published run of their scope ranked them, numbered from 1.

    Plain value queries, no model instances: five queries and a few ms for a 500-row list."""
    now = now or timezone.now()
    offers = list(
        Offer.objects.filter(school=school)
        .live()
        .visible_to_parents(now)
        .values_list(
            "application_id",
            "run_id",
            "run__round",
            "run__admission_year",
            "run__district_code",
            "application__ref",
            "application__child_name",
            "application__child_id_number",
            "application__home_address",
        )
    )
    if not offers:
        return []
    newest = max(offers, key=lambda offer: (offer[2], offer[1]))
    latest_id = (
        AllocationRun.objects.published()
        .filter(admission_year=newest[3], district_code=newest[4])
        .order_by("-round")
        .values_list("id", flat=True)
        .first()
    )
    application_ids = [offer[0] for offer in offers]
    ranked = dict(
        Placement.objects.filter(run_id=latest_id, school=school).values_list(
            "application_id", "school_rank"
        )
    )
    points = dict(
        Placement.objects.filter(
            run_id__in={offer[1] for offer in offers} | {latest_id},
            application_id__in=application_ids,
        )
        .order_by("run_id")
        .values_list("application_id", "total_points")
    )
    guardians: dict[int, list[str]] = {}
    for application_id, name in (
        Guardian.objects.filter(application_id__in=application_ids)
        .order_by("application_id", "position")
        .values_list("application_id", "name")
    ):
        guardians.setdefault(application_id, []).append(name)
    unranked = len(ranked) + 1
    offers.sort(key=lambda offer: (ranked.get(offer[0]) or unranked, offer[5]))
    return [
        (
            school.code,
            ref,
            child_name,
            child_id_number,
            ";".join(guardians.get(application_id, [])),
            home_address,
            points.get(application_id, ""),
            rank,
        )
        for rank, (
            application_id,
            _,
            _,
            _,
            _,
            ref,
            child_name,
            child_id_number,
            home_address,
        ) in enumerate(offers, start=1)
    ]


# Excel on a Chinese Windows reads a CSV without a byte-order mark as GBK and garbles every
# name; with one it reads UTF-8. Scripts reading the command's or the API's file by the header
# would see the mark glued to `school_code`, so only files for people carry it.
UTF8_BOM = "\ufeff"


def _csv_bytes(rows: list[tuple], *, bom: bool = False) -> bytes:
    buffer = io.StringIO()
    if bom:
        buffer.write(UTF8_BOM)
    writer = csv.writer(buffer)
    writer.writerow(ADMITTED_COLUMNS)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return buffer.getvalue().encode("utf-8")


def _xlsx_bytes(rows: list[tuple], title: str) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31] or "admitted")
    sheet.append(list(ADMITTED_COLUMNS))
    for row in rows:
        *text, rank = row
        # text as text, made safe; the rank a number (a number cannot be a formula)
        sheet.append([safe_cell(value) for value in text] + [rank])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def admitted_export(
    *, school: School, fmt: str, actor: User | None, channel: str = "api", for_people: bool = False
) -> tuple[bytes, int]:
    """The admitted list as file content and its row count; the download is logged. The caller
    has already checked that `actor` is the school's own staff (or an operator's command).

    `for_people`: a CSV downloaded from a page, to be opened in a spreadsheet, starts with a
    UTF-8 byte-order mark (INTERCHANGE.md, "Exports"); the command's and the API's files are
    read by scripts and stay as they were."""
    if fmt not in FORMATS:
        raise ApplicationError(ErrorCode.INVALID, "The format is csv or xlsx.", field="format")
    rows = admitted_rows(school=school)
    content = _csv_bytes(rows, bom=for_people) if fmt == "csv" else _xlsx_bytes(rows, school.code)
    DownloadLog.objects.create(
        at=timezone.now(),
        user=actor,
        school_code=school.code,
        admission_year=school.admission_year,
        format=fmt,
        channel=channel,
        allowed=True,
        rows=len(rows),
    )
    return content, len(rows)


def download_denied_log(*, actor: User | None, school_code: str, admission_year: int, fmt: str):
    return DownloadLog.objects.create(
        at=timezone.now(),
        user=actor if actor is not None and actor.is_authenticated else None,
        school_code=school_code[:16],
        admission_year=admission_year,
        format=fmt,
        allowed=False,
    )


def allocation_run_for_export(
    *, admission_year: int, run_id: int | None = None
) -> AllocationRun | None:
    """The run named, or the year's latest published one, or its latest finished real run."""
    runs = AllocationRun.objects.filter(
        admission_year=admission_year, status=AllocationRun.Status.DONE
    )
    if run_id is not None:
        return runs.filter(pk=run_id).first()
    published = runs.published().order_by("-published_at", "-id").first()
    return published or runs.filter(is_dry_run=False).order_by("-finished_at", "-id").first()


def allocation_rows(*, run: AllocationRun) -> Iterator[tuple]:
    """Every placement of the run, ordered by reference, fetched in chunks (server-side cursor
    on PostgreSQL), so memory stays flat however large the city."""
    placements = (
        Placement.objects.filter(run=run)
        .order_by("application__ref")
        .values_list(
            "application__ref", "school__code", "in_catchment", "total_points", "lottery_number"
        )
        .iterator(chunk_size=STREAM_CHUNK)
    )
    seed = run.seed
    for ref, code, in_catchment, total, lottery in placements:
        yield (ref, code or "", 1 if in_catchment else 0, total, lottery, seed)


def allocation_export_csv(*, run: AllocationRun, out: TextIO) -> int:
    """Write the run's allocation file; returns the number of rows.

    On PostgreSQL the rows come straight from `COPY ... TO STDOUT` in chunks (the server writes
    the CSV; the formula guard of `safe_cell` is the same test done in SQL), sorted by the
    references' bytes (the "C" collation: references are ASCII, and a linguistic collation
    sorts several times slower); elsewhere, the streamed ORM rows."""
    if connection.vendor == "postgresql":
        return _allocation_copy(run=run, out=out)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ALLOCATION_COLUMNS)
    count = 0
    for row in allocation_rows(run=run):
        writer.writerow([safe_cell(value) for value in row])
        count += 1
    return count


def _safe_sql(column: str) -> str:
    """`safe_cell` in SQL: a leading apostrophe where a spreadsheet would see a formula."""
    starts = ", ".join(
        {"\t": "E'\\t'", "\r": "E'\\r'"}.get(start, f"'{start}'") for start in FORMULA_START
    )
    # FORMULA_LEAD holds no quote or backslash: it is a plain SQL literal as written.
    lead = f"ltrim({column}, '{FORMULA_LEAD}')"
    return f"CASE WHEN left({lead}, 1) IN ({starts}) THEN '''' || {column} ELSE {column} END"


def _allocation_copy(*, run: AllocationRun, out: TextIO) -> int:
    from psycopg import sql

    query = sql.SQL(
        "COPY (SELECT {ref}, {code}, CASE WHEN p.in_catchment THEN 1 ELSE 0 END, "
        "p.total_points, p.lottery_number, {seed} "
        "FROM {placement} p JOIN {application} a ON a.id = p.application_id "
        "LEFT JOIN {school} s ON s.id = p.school_id "
        'WHERE p.run_id = {run} ORDER BY a.ref COLLATE "C") TO STDOUT WITH (FORMAT csv)'
    ).format(
        ref=sql.SQL(_safe_sql("a.ref")),
        code=sql.SQL(_safe_sql("s.code")),
        seed=sql.Literal(int(run.seed)),
        run=sql.Literal(int(run.pk)),
        placement=sql.Identifier(Placement._meta.db_table),
        application=sql.Identifier(Application._meta.db_table),
        school=sql.Identifier(School._meta.db_table),
    )
    csv.writer(out, lineterminator="\n").writerow(ALLOCATION_COLUMNS)
    # The server sends a message per row: join STREAM_CHUNK of them before decoding and
    # writing. A message may end inside a multi-byte character, so decode incrementally.
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0
    pending: list = []

    def flush():
        nonlocal lines
        data = b"".join(pending)
        pending.clear()
        lines += data.count(b"\n")
        out.write(decoder.decode(data))

    connection.ensure_connection()
    with connection.connection.cursor() as cursor, cursor.copy(query) as copy:
        for chunk in copy:
            pending.append(chunk)
            if len(pending) >= STREAM_CHUNK:
                flush()
    flush()
    out.write(decoder.decode(b"", final=True))
    return lines
