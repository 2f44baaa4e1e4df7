"""Exports: one school's admitted list, and the city-wide allocation file streamed.

Cases (one JSON line each):
- `admitted_csv_500`, `admitted_xlsx_500`: `admitted_export` of one school with 500 admitted
  children (live offers of a published run, two guardians each); the median of 7 calls, each
  one logged as a download, as a school's click would be.
- `allocation_csv_200000`: `manage.py export_allocation` of a 200,000-placement run, in a
  fresh child process so that `peak_rss_mb` is the export's own; `rss_before_mb` is the same
  process just before the export started, so the difference is what the export held.
  `allocation_csv_20000` is the same at a tenth of the rows: the peaks should be about equal.

`cpu_seconds` is this process's CPU time (PostgreSQL's is not in it): on a busy machine the
wall-clock `seconds` also count waiting for a core, and `load_average` says how busy it was.

The run uses its own PostgreSQL database (`bench_alloc_export` by default, dropped and created)
so it never touches anyone else's data; the population is written with bulk inserts (untimed).

    python bench/export.py
    python bench/export.py --scale 0.1
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
YEAR = 2027
CHUNK = 5000


def database_url(name: str) -> str:
    base = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    return urlunsplit(base._replace(path="/" + name))


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def django_setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    import django

    django.setup()


def rss_mb() -> float:
    """Current resident set size of this process (Linux /proc), in MB."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024, 1)


def peak_rss_mb() -> float:
    """This process's peak resident set size (VmHWM). Not getrusage's ru_maxrss: that one
    survives exec, so a child forked from the big parent would report the parent's size."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


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


def child_export(run_id: int, out: str) -> None:
    """Runs in a fresh process: the export alone, with this process's memory figures."""
    from django.core.management import call_command

    before = rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    call_command(
        "export_allocation", "--year", str(YEAR), "--run", str(run_id), "--out", out,
        stdout=open(os.devnull, "w"),  # noqa: SIM115
    )  # fmt: skip
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu,
                "rss_before_mb": before,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--database", default="bench_alloc_export")
    parser.add_argument("--child-export", nargs=2, metavar=("RUN", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = database_url(args.database)

    if args.child_export:
        django_setup(url)
        child_export(int(args.child_export[0]), args.child_export[1])
        return 0

    total = max(1000, int(200_000 * args.scale))
    admitted = 500
    recreate_database(url)
    django_setup(url)
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    run_id = populate(total, admitted, schools=max(10, int(1000 * args.scale)))
    from django.db import connection

    with connection.cursor() as cursor:
        # what autovacuum would do after a bulk load: fresh planner statistics
        cursor.execute("ANALYZE")

    from enrollment.models import School
    from enrollment.services.exports import admitted_export

    school = School.objects.get(code="S00000", admission_year=YEAR)
    for fmt in ("csv", "xlsx"):
        admitted_export(school=school, fmt=fmt, actor=None, channel="bench")  # warm-up
        times, cpu_times, rows = [], [], 0
        for _ in range(7):
            started, cpu = time.perf_counter(), time.process_time()
            _, rows = admitted_export(school=school, fmt=fmt, actor=None, channel="bench")
            times.append(time.perf_counter() - started)
            cpu_times.append(time.process_time() - cpu)
        seconds = statistics.median(times)
        print(
            json.dumps(
                {
                    "bench": "export",
                    "case": f"admitted_{fmt}_{admitted}",
                    "n": rows,
                    "seconds": round(seconds, 4),
                    "per_second": round(rows / seconds),
                    "max_seconds": round(max(times), 4),
                    "cpu_seconds": round(statistics.median(cpu_times), 4),
                    "load_average": round(os.getloadavg()[0], 1),
                    "baseline": None,
                }
            ),
            flush=True,
        )

    connection.close()
    out_dir = ROOT / "var" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    cases = [(run_id, total)]
    for run, rows in cases + [(None, total // 10)]:
        if run is None:
            # the same export at a tenth of the rows: a second run holding the first rows only
            django_setup(url)
            from enrollment.models import AllocationRun, Placement

            source = AllocationRun.objects.get(pk=run_id)
            small = AllocationRun.objects.create(
                admission_year=YEAR,
                seed=source.seed,
                status=AllocationRun.Status.DONE,
                progress=100,
            )
            ids = (
                Placement.objects.filter(run_id=run_id)
                .order_by("id")
                .values_list(
                    "application_id", "school_id", "in_catchment", "total_points", "lottery_number"
                )[:rows]
            )
            Placement.objects.bulk_create(
                Placement(
                    run=small,
                    application_id=a,
                    school_id=s,
                    in_catchment=c,
                    total_points=t,
                    lottery_number=lot,
                )
                for a, s, c, t, lot in ids
            )
            run = small.pk
            connection.close()
        out = out_dir / f"allocation-{rows}.csv"
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--database",
                args.database,
                "--child-export",
                str(run),
                str(out),
            ],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "DATABASE_URL": url},
        )
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        written = sum(1 for _ in out.open(encoding="utf-8")) - 1
        print(
            json.dumps(
                {
                    "bench": "export",
                    "case": f"allocation_csv_{rows}",
                    "n": written,
                    "seconds": round(figures["seconds"], 3),
                    "per_second": round(written / figures["seconds"]),
                    "cpu_seconds": round(figures["cpu_seconds"], 3),
                    "load_average": round(os.getloadavg()[0], 1),
                    "peak_rss_mb": figures["peak_rss_mb"],
                    "rss_before_mb": figures["rss_before_mb"],
                    "baseline": None,
                }
            ),
            flush=True,
        )
        out.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
