"""Exports: one school's admitted list, and the city-wide allocation file streamed.

Cases (one JSON line each), every one alternating ours and its baseline `--rounds` times (5 by
default; `seconds`, `cpu_seconds` and the baseline's are medians, `load_average_start` the
one-minute load when the case began):
- `admitted_csv_500`, `admitted_xlsx_500`: `admitted_export` of one school with 500 admitted
  children (live offers of a published run, two guardians each), each call logged as a
  download, as a school's click would be. Baseline: PostgreSQL's `COPY (SELECT ...) TO STDOUT
  (FORMAT csv, HEADER)` of the same columns through a separate psycopg connection (one plain
  statement: no formula guard, no workbook).
- `allocation_csv_200000`: `manage.py export_allocation` of a 200,000-placement run, in a
  fresh child process so that `peak_rss_mb` is the export's own; `rss_before_mb` is the same
  process just before the export started, so the difference is what the export held.
  `allocation_csv_20000` is the same at a tenth of the rows: the peaks should be about equal.
  Baseline: a child process writing `COPY (SELECT ...) TO STDOUT (FORMAT csv)` of the same
  columns in the same order to a file through psycopg alone (no Django).

Every case checks what it wrote: the file is parsed back (csv, or openpyxl for XLSX) and
compared row by row and cell by cell with the rows of an independent plain SQL query (a
separate psycopg connection); a cell may differ only by the leading apostrophe that guards a
would-be spreadsheet formula (INTERCHANGE.md, "Exports"). `n` is the rows written,
`expected_n` the query's, `mismatched` the rows that differ in any round (the worst round),
`identical` is true when the header is the documented one, `n == expected_n` and no row
differs.

`cpu_seconds` is the measuring process's CPU time (PostgreSQL's is not in it): on a busy
machine the wall-clock `seconds` also count waiting for a core.

The run uses its own PostgreSQL database (`bench_alloc_export` by default, dropped and created)
so it never touches anyone else's data; the population is written with bulk inserts (untimed).

    python bench/export.py
    python bench/export.py --scale 0.1 --rounds 5
"""

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import time
from datetime import date, timedelta

from _common import (
    ROOT,
    Alternation,
    Run,
    alternate,
    database_url,
    django_setup,
    emit,
    load_average,
    peak_rss_mb,
    recreate_database,
)

YEAR = 2027
CHUNK = 5000
ADMITTED_HEADER = [
    "school_code", "ref", "child_name", "child_id_number", "guardian_names", "home_address",
    "total_points", "rank",
]  # fmt: skip
ALLOCATION_HEADER = ["ref", "school_code", "in_catchment", "total_points", "lottery_number", "seed"]
# What a spreadsheet would read as a formula (INTERCHANGE.md, "Exports"), written out here
# rather than taken from the product, so the check does not lean on the code it checks.
FORMULA_FIRST = set("=+-@\t\r＝＋－＠")
FORMULA_SKIPPED = " \u3000\ufeff\u200b\u200c\u200d\u2060"


def rss_mb() -> float:
    """Current resident set size of this process (Linux /proc), in MB."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024, 1)


def populate(total: int, admitted_at_one: int, schools: int) -> int:
    """Schools, `total` applications placed by one published run (`admitted_at_one` of them at
    school S00000 with live offers and guardians); returns the run id."""
    from django.utils import timezone

    from enrollment.models import (
        AllocationRun,
        Application,
        Guardian,
        Offer,
        Placement,
        School,
    )
    from registry import idnumber

    now = timezone.now()
    School.objects.bulk_create(
        School(
            code=f"S{index:05d}",
            admission_year=YEAR,
            name=f"第{index}小学",
            district_code="440604",
            kind="public",
            capacity=max(admitted_at_one, total // schools + 50),
            catchment_communities=[f"440604{index // 100 + 1:03d}{index % 100:03d}"],
        )
        for index in range(schools)
    )
    school_ids = list(School.objects.order_by("code").values_list("id", flat=True))
    run = AllocationRun.objects.create(
        admission_year=YEAR,
        district_code="",
        seed=20270701,
        status=AllocationRun.Status.DONE,
        progress=100,
        applicants_count=total,
        placed_count=total,
        published_at=now,
        visible_from=now - timedelta(hours=1),
        respond_by=now + timedelta(days=7),
    )
    first_day = date(2019, 9, 1)
    for start in range(0, total, CHUNK):
        batch = range(start, min(start + CHUNK, total))
        Application.objects.bulk_create(
            Application(
                ref=f"A{index:07d}",
                admission_year=YEAR,
                district_code="440604",
                channel="online",
                child_name=f"=学生{index}" if index % 97 == 0 else f"学生{index}",
                child_id_number=idnumber.make(
                    "440604", first_day + timedelta(days=index // 900), index % 900
                ),
                child_birth_date=first_day + timedelta(days=index // 900),
                home_community_code="440604001001",
                home_address=f"禅城区示范路{index}号",
                state="decided",
                submitted_at=now,
            )
            for index in batch
        )
    app_ids = list(Application.objects.order_by("ref").values_list("id", flat=True))
    lottery = list(range(1, total + 1))
    import random

    random.Random(20270701).shuffle(lottery)
    for start in range(0, total, CHUNK):
        Placement.objects.bulk_create(
            Placement(
                run=run,
                application_id=app_ids[index],
                school_id=school_ids[0]
                if index < admitted_at_one
                else (None if index % 20 == 0 else school_ids[1 + index % (schools - 1)]),
                in_catchment=index % 3 == 0,
                total_points=f"{60 + index % 500 / 10:.1f}",
                lottery_number=lottery[index],
                preference_rank=1,
                school_rank=index + 1 if index < admitted_at_one else None,
            )
            for index in range(start, min(start + CHUNK, total))
        )
    Offer.objects.bulk_create(
        Offer(
            run=run,
            application_id=app_ids[index],
            school_id=school_ids[0],
            round=1,
            made_at=now,
            respond_by=now + timedelta(days=7),
        )
        for index in range(admitted_at_one)
    )
    Guardian.objects.bulk_create(
        Guardian(
            application_id=app_ids[index],
            position=position,
            name=f"家长{index}-{position}",
            id_number=idnumber.make("440604", date(1990, 1, 1), position),
            relation="mother" if position == 1 else "father",
        )
        for index in range(admitted_at_one)
        for position in (1, 2)
    )
    return run.pk


# --- the independent side: plain SQL through a connection of its own ---------------------

ADMITTED_SQL = """
    SELECT s.code AS school_code, a.ref, a.child_name, a.child_id_number,
           coalesce((SELECT string_agg(g.name, ';' ORDER BY g.position)
                     FROM enrollment_guardian g WHERE g.application_id = a.id), '')
               AS guardian_names,
           a.home_address, coalesce(p.total_points::text, '') AS total_points,
           row_number() OVER (ORDER BY p.school_rank NULLS LAST, a.ref COLLATE "C") AS rank
    FROM enrollment_offer o
    JOIN enrollment_allocationrun r ON r.id = o.run_id
    JOIN enrollment_application a ON a.id = o.application_id
    JOIN enrollment_school s ON s.id = o.school_id
    LEFT JOIN enrollment_placement p
        ON p.run_id = o.run_id AND p.application_id = o.application_id
    WHERE s.code = {school} AND s.admission_year = {year}
      AND o.status IN ('offered', 'accepted')
      AND r.published_at IS NOT NULL AND r.visible_from <= now()
    ORDER BY rank
"""
ALLOCATION_SQL = """
    SELECT a.ref, coalesce(s.code, '') AS school_code,
           CASE WHEN p.in_catchment THEN 1 ELSE 0 END AS in_catchment,
           p.total_points, p.lottery_number, r.seed
    FROM enrollment_placement p
    JOIN enrollment_application a ON a.id = p.application_id
    JOIN enrollment_allocationrun r ON r.id = p.run_id
    LEFT JOIN enrollment_school s ON s.id = p.school_id
    WHERE p.run_id = {run}
    ORDER BY a.ref COLLATE "C"
"""


def admitted_sql(school_code: str):
    from psycopg import sql

    return sql.SQL(ADMITTED_SQL).format(school=sql.Literal(school_code), year=sql.Literal(YEAR))


def allocation_sql(run_id: int):
    from psycopg import sql

    return sql.SQL(ALLOCATION_SQL).format(run=sql.Literal(int(run_id)))


def expected_rows(url: str, query) -> list[list[str]]:
    """The query's rows as the text PostgreSQL gives each value (NULL as "")."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT * FROM ({}) AS q LIMIT 0").format(query))
        width = len(cursor.description)
        cursor.execute(
            sql.SQL("SELECT {} FROM ({}) AS q").format(
                sql.SQL(", ").join(
                    sql.SQL(f"q.{column.name}::text") for column in cursor.description
                ),
                query,
            )
        )
        rows = [["" if value is None else value for value in row] for row in cursor]
    assert all(len(row) == width for row in rows)
    return rows


def copy_out(url: str, query, out, *, header: bool) -> None:
    """`COPY (query) TO STDOUT (FORMAT csv)` into the binary file `out`."""
    import psycopg
    from psycopg import sql

    statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv{})").format(
        query, sql.SQL(", HEADER" if header else "")
    )
    with psycopg.connect(url) as conn, conn.cursor() as cursor, cursor.copy(statement) as copy:
        for chunk in copy:
            out.write(chunk)


def cell_matches(written, expected: str) -> bool:
    text = "" if written is None else str(written)
    if text == expected:
        return True
    guarded = expected.lstrip(FORMULA_SKIPPED)[:1] in FORMULA_FIRST
    return guarded and text == "'" + expected


def compare(rows: list[list], header: list[str], expected: list[list[str]], columns) -> dict:
    """Written rows (header first) against the independent query's, cell by cell."""
    written_header, body = (rows[0], rows[1:]) if rows else ([], [])
    mismatched = abs(len(body) - len(expected))
    for got, want in zip(body, expected, strict=False):
        if len(got) != len(want) or not all(map(cell_matches, got, want)):
            mismatched += 1
    return {
        "n": len(body),
        "expected_n": len(expected),
        "mismatched": mismatched,
        "header_ok": list(written_header) == list(columns),
    }


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def xlsx_rows(data: bytes) -> list[list]:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True)
    rows = [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    workbook.close()
    return rows


def checked_fields(checks: list[dict]) -> dict:
    """One case's check over every round of ours: the worst round's figures."""
    worst = max(checks, key=lambda check: (check["mismatched"], check["n"] != check["expected_n"]))
    identical = all(
        check["header_ok"] and check["mismatched"] == 0 and check["n"] == check["expected_n"]
        for check in checks
    )
    return {
        "n": worst["n"],
        "expected_n": worst["expected_n"],
        "mismatched": worst["mismatched"],
        "header_ok": all(check["header_ok"] for check in checks),
        "identical": identical,
    }


# --- child processes: one export each, with the process's own memory figures -------------


def child_export(run_id: int, out: str) -> None:
    """Ours, in a fresh process: `manage.py export_allocation`."""
    from django.core.management import call_command

    before = rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    call_command(
        "export_allocation", "--year", str(YEAR), "--run", str(run_id), "--out", out,
        stdout=open(os.devnull, "w"),  # noqa: SIM115
    )  # fmt: skip
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "rss_before_mb": before,
                      "peak_rss_mb": peak_rss_mb()}))  # fmt: skip


def child_copy(url: str, run_id: int, out: str) -> None:
    """The baseline, in a fresh process: psycopg's COPY of the same columns, no Django."""
    before = rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    with open(out, "wb") as handle:
        handle.write((",".join(ALLOCATION_HEADER) + "\n").encode())
        copy_out(url, allocation_sql(run_id), handle, header=False)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "rss_before_mb": before,
                      "peak_rss_mb": peak_rss_mb()}))  # fmt: skip


def in_child(mode: str, database: str, url: str, run_id: int, out) -> Run:
    child = subprocess.run(
        [sys.executable, __file__, "--database", database, mode, str(run_id), str(out)],
        capture_output=True, text=True, check=True, env={**os.environ, "DATABASE_URL": url},
    )  # fmt: skip
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    return Run(seconds=figures["seconds"], cpu_seconds=figures["cpu_seconds"], result=figures)


# --- the cases -----------------------------------------------------------------------------


def admitted_cases(url: str, rounds: int, admitted: int) -> None:
    from enrollment.models import School
    from enrollment.services.exports import admitted_export

    school = School.objects.get(code="S00000", admission_year=YEAR)
    expected = expected_rows(url, admitted_sql(school.code))
    for fmt, parse in (("csv", csv_rows), ("xlsx", xlsx_rows)):

        def ours(fmt=fmt):
            return admitted_export(school=school, fmt=fmt, actor=None, channel="bench")[0]

        def baseline():
            buffer = io.BytesIO()
            copy_out(url, admitted_sql(school.code), buffer, header=True)
            return buffer.getvalue()

        ours(), baseline()  # warm the connections and the caches
        alternation = alternate(ours, baseline, rounds=rounds)
        checks = [
            compare(parse(run.result), ADMITTED_HEADER, expected, ADMITTED_HEADER)
            for run in alternation.ours
        ]
        baseline_check = compare(
            csv_rows(alternation.baseline[-1].result), ADMITTED_HEADER, expected, ADMITTED_HEADER
        )
        emit(bench="export", case=f"admitted_{fmt}_{admitted}", **checked_fields(checks),
             baseline="COPY (SELECT the same columns) TO STDOUT (FORMAT csv), psycopg",
             baseline_n=baseline_check["n"], **alternation.fields())  # fmt: skip


def allocation_case(url: str, database: str, rounds: int, run_id: int, rows: int) -> None:
    out_dir = ROOT / "var" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    ours_out = out_dir / f"allocation-{database}-{rows}.csv"
    baseline_out = out_dir / f"allocation-{database}-{rows}-copy.csv"
    expected = expected_rows(url, allocation_sql(run_id))
    alternation = Alternation(load_average_start=load_average())
    checks, baseline_checks = [], []
    for index in range(rounds):
        order = ["ours", "baseline"] if index % 2 == 0 else ["baseline", "ours"]
        for side in order:
            if side == "ours":
                alternation.ours.append(in_child("--child-export", database, url, run_id, ours_out))
                with ours_out.open(encoding="utf-8", newline="") as handle:
                    written = list(csv.reader(handle))
                checks.append(compare(written, ALLOCATION_HEADER, expected, ALLOCATION_HEADER))
                ours_out.unlink()
            else:
                alternation.baseline.append(
                    in_child("--child-copy", database, url, run_id, baseline_out)
                )
                with baseline_out.open(encoding="utf-8", newline="") as handle:
                    written = list(csv.reader(handle))
                baseline_checks.append(
                    compare(written, ALLOCATION_HEADER, expected, ALLOCATION_HEADER)
                )
                baseline_out.unlink()

    def figure(runs, name, pick=max):
        return pick(run.result[name] for run in runs)

    emit(
        bench="export",
        case=f"allocation_csv_{rows}",
        **checked_fields(checks),
        baseline="COPY (SELECT the same columns) TO STDOUT (FORMAT csv), psycopg, no Django",
        baseline_identical=checked_fields(baseline_checks)["identical"],
        peak_rss_mb=figure(alternation.ours, "peak_rss_mb"),
        rss_before_mb=figure(alternation.ours, "rss_before_mb", min),
        baseline_peak_rss_mb=figure(alternation.baseline, "peak_rss_mb"),
        **alternation.fields(),
    )


def small_run(run_id: int, rows: int) -> int:
    """A second run holding the first `rows` placements of the first (untimed)."""
    from enrollment.models import AllocationRun, Placement

    source = AllocationRun.objects.get(pk=run_id)
    small = AllocationRun.objects.create(
        admission_year=YEAR, seed=source.seed, status=AllocationRun.Status.DONE, progress=100
    )
    placements = (
        Placement.objects.filter(run_id=run_id)
        .order_by("id")
        .values_list(
            "application_id", "school_id", "in_catchment", "total_points", "lottery_number"
        )[:rows]
    )
    Placement.objects.bulk_create(
        Placement(run=small, application_id=a, school_id=s, in_catchment=c, total_points=t,
                  lottery_number=lot)
        for a, s, c, t, lot in placements
    )  # fmt: skip
    return small.pk


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database", default="bench_alloc_export")
    parser.add_argument("--child-export", nargs=2, metavar=("RUN", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--child-copy", nargs=2, metavar=("RUN", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = database_url(args.database)

    if args.child_export:
        django_setup(url)
        child_export(int(args.child_export[0]), args.child_export[1])
        return 0
    if args.child_copy:
        child_copy(url, int(args.child_copy[0]), args.child_copy[1])
        return 0

    total = max(1000, int(200_000 * args.scale))
    admitted = 500
    recreate_database(url)
    django_setup(url, migrate=True)
    run_id = populate(total, admitted, schools=max(10, int(1000 * args.scale)))
    from django.db import connection

    with connection.cursor() as cursor:
        # what autovacuum would do after a bulk load: fresh planner statistics
        cursor.execute("ANALYZE")

    admitted_cases(url, args.rounds, admitted)
    allocation_case(url, args.database, args.rounds, run_id, total)
    small = small_run(run_id, total // 10)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    connection.close()
    allocation_case(url, args.database, args.rounds, small, total // 10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
