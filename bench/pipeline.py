"""Submitted to decided, through two real Celery worker processes, Redis and PostgreSQL.

The registry holds 1,000,000 people (hukou rows; `--scale` shrinks it): the 200,000 families
that apply (child and one or two guardians) and as many other residents as it takes. Every
DOMAIN.md path appears: owners (alone, or shares on one certificate, some under 50 %), renters
(some owning elsewhere in the city), families with no housing record, children with no hukou
row, migrants with and without a qualifying permit and with 0-48 insured months. Built with
COPY in a few seconds (untimed), in its own database `bench_pipeline`.

Cases (one JSON line each):
- `submit`: the applications stored through `application_submit_many` (the services' own
  checks, bulk writes, enqueue off), 5,000 at a time.
- `<N>x<people>`: the timed pipeline: every job enqueued in batches (VERIFICATION_BATCH_SIZE)
  to Redis, claimed, looked up through the registry gateway (audited), scored and recorded by
  two `celery -A config worker -c 1` processes, until every job is done.
  Baseline: the same lookups as raw set-based SQL in this one process (one statement with
  CTEs over the same tables), nothing written; `ratio` = baseline seconds / pipeline seconds
  (below 1: the pipeline is slower than the bare lookups, which it is, since it also audits,
  scores, traces, records and moves states). `identical`: every decision's packed facts equal
  the facts the SQL derives. `lost`: jobs not done at the end; `decided_once`: every
  application has exactly one decision.

    python bench/pipeline.py              # 200,000 applications, 1,000,000 people
    python bench/pipeline.py --scale 0.05 # a quick look
    python bench/pipeline.py --scale 0.1 --people 1000000  # 20,000 against the full registry

With `--compare copy`, the run measures `copy_insert` (COPY of new rows) against Django's
`bulk_create` (bench/django_way.py) instead: the applications are split into 2 x `--rounds`
phases, alternating ours and Django's (ours first in odd rounds, second in even ones); each
phase submits its share (`application_submit_many`) and then verifies it with two workers
started for that side. One JSON line a phase, then one with the medians of each side:

    python bench/pipeline.py --compare copy --rounds 4 --scale 0.3 --people 300000
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from _common import ROOT, database_url, django_setup, emit, recreate_database
from _pipeline_summaries import django_way_summary, gateway_summary
from _pipeline_world import CITY, CUTOFF, DISTRICT, YEAR, build_world


def submit(families: list[dict]) -> tuple[float, list[int]]:
    from enrollment.services.applications import (
        ApplicationInput,
        PersonInput,
        application_submit_many,
    )

    relations = ("mother", "father")
    started = time.perf_counter()
    job_ids, rejected = [], 0
    for start in range(0, len(families), 5000):
        items = [
            ApplicationInput(
                ref=f["ref"],
                admission_year=YEAR,
                child=PersonInput(name="孩子", id_number=f["child"]),
                guardians=[
                    PersonInput(name="家长", id_number=g, relation=relations[n])
                    for n, g in enumerate(f["guardians"])
                ],  # fmt: skip
                home_community_code=f["home"],
                preferences=f["preferences"],
                consent_given_by=f["guardians"][0],
            )
            for f in families[start : start + 5000]
        ]
        result = application_submit_many(items=items, enqueue=False)
        job_ids += result.job_ids
        rejected += len(result.rejected)
    if rejected:
        raise SystemExit(f"{rejected} applications were refused; the population is wrong")
    return time.perf_counter() - started, job_ids


def analyze_written() -> None:
    """What autovacuum would have done by now (untimed): the submissions' tables analysed.

    This machine's PostgreSQL runs with autovacuum off, so without it the planner would go on
    believing the tables as empty as when the world was built, and scan every guardian of the
    run for each batch of 500 (production runs autovacuum: docs/operations.md)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE enrollment_application, enrollment_guardian, enrollment_schoolpreference, "
            "enrollment_consent, enrollment_verificationjob, enrollment_applicationevent, "
            "enrollment_decision, enrollment_notification"
        )


def start_workers(
    url: str, count: int, logs: Path, ways: tuple[str, ...] = (), extra_env: dict | None = None
) -> list:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "0",
        "DJANGO_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    if ways:
        # Django's way for these paths (bench/django_way.py), on the same settings otherwise.
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "django_way",
                "DJANGO_WAY_BASE": "config.settings.local",
                "DJANGO_WAY": ",".join(ways),
                "PYTHONPATH": os.pathsep.join(
                    filter(None, [str(ROOT / "bench"), str(ROOT), os.environ.get("PYTHONPATH")])
                ),
            }
        )
    workers = []
    for n in range(count):
        log = (logs / f"worker{n}.log").open("w")
        workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "-c",
                    "1",
                    "-Q",
                    "verification,default",
                    "-n",
                    f"bench{n}@%h",
                    "--loglevel",
                    "INFO",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        )
    deadline = time.monotonic() + 90
    for n, worker in enumerate(workers):
        while "ready." not in (logs / f"worker{n}.log").read_text():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit((logs / f"worker{n}.log").read_text()[-2000:])
            time.sleep(0.2)
    return workers


def stop_workers(workers) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


BASELINE_SQL = """
WITH g AS (
    -- Related guardians only (DOMAIN.md "Guardianship"): hukou in the child's household.
    SELECT eg.application_id, eg.id_number
    FROM enrollment_guardian eg
    JOIN enrollment_application ea ON ea.id = eg.application_id
    JOIN registry_hukourecord ch
      ON ch.id_number = ea.child_id_number AND ch.household_no <> ''
    JOIN registry_hukourecord gh
      ON gh.id_number = eg.id_number AND gh.household_no = ch.household_no
    WHERE ea.admission_year = %(year)s
),
a AS (
    SELECT id, child_id_number, home_community_code FROM enrollment_application
    WHERE admission_year = %(year)s
),
owned AS (
    SELECT application_id, max(share) AS share FROM (
        SELECT g.application_id, p.certificate_no, sum(p.share_percent) AS share
        FROM g JOIN a ON a.id = g.application_id
        JOIN registry_propertyrecord p
          ON p.owner_id_number = g.id_number AND p.community_code = a.home_community_code
        GROUP BY g.application_id, p.certificate_no
    ) s GROUP BY application_id
),
rented AS (
    SELECT DISTINCT g.application_id
    FROM g JOIN a ON a.id = g.application_id
    JOIN registry_rentalrecord r
      ON r.tenant_id_number = g.id_number AND r.community_code = a.home_community_code
     AND r.start_date <= %(cutoff)s AND r.end_date >= %(cutoff)s
),
elsewhere AS (
    SELECT DISTINCT g.application_id
    FROM g JOIN a ON a.id = g.application_id
    JOIN registry_propertyrecord p
      ON p.owner_id_number = g.id_number AND p.community_code <> a.home_community_code
     AND p.community_code LIKE %(city)s
),
insured AS (
    SELECT application_id, max(months) AS months FROM (
        SELECT g.application_id, g.id_number, count(DISTINCT s.month) AS months
        FROM g JOIN registry_socialinsurancerecord s ON s.id_number = g.id_number
        WHERE s.month BETWEEN %(window_start)s AND %(window_end)s AND s.pension AND s.medical
        GROUP BY g.application_id, g.id_number
    ) m GROUP BY application_id
),
related AS (
    SELECT DISTINCT application_id FROM g
),
permitted AS (
    SELECT DISTINCT g.application_id
    FROM g JOIN registry_residencepermitrecord r ON r.id_number = g.id_number
    WHERE r.issued_on <= %(permit_latest)s AND r.expires_on >= %(cutoff)s
)
SELECT a.id,
       CASE WHEN h.hukou_district_code IS NULL THEN 0
            WHEN h.hukou_district_code = %(district)s THEN 1
            WHEN h.hukou_district_code LIKE %(city)s THEN 2 ELSE 3 END,
       coalesce(to_char(h.registered_on, 'YYYYMMDD')::int, 0),
       coalesce((owned.share * 100)::int, 0),
       (rented.application_id IS NOT NULL)::int,
       (elsewhere.application_id IS NOT NULL)::int,
       coalesce(insured.months, 0),
       (permitted.application_id IS NOT NULL)::int,
       (related.application_id IS NOT NULL)::int
FROM a
LEFT JOIN registry_hukourecord h ON h.id_number = a.child_id_number
LEFT JOIN owned ON owned.application_id = a.id
LEFT JOIN rented ON rented.application_id = a.id
LEFT JOIN elsewhere ON elsewhere.application_id = a.id
LEFT JOIN insured ON insured.application_id = a.id
LEFT JOIN permitted ON permitted.application_id = a.id
LEFT JOIN related ON related.application_id = a.id
"""


def baseline() -> tuple[float, dict[int, str]]:
    from django.db import connection

    from enrollment.policy.engine import PACKED_FIELDS
    from registry.contract import month_window

    window = month_window(CUTOFF, 120)
    params = {
        "year": YEAR,
        "cutoff": CUTOFF,
        "city": f"{CITY}%",
        "district": DISTRICT,
        "window_start": window[0],
        "window_end": window[1],
        "permit_latest": date(CUTOFF.year - 1, CUTOFF.month, CUTOFF.day),
    }
    with connection.cursor() as cursor:
        # Untimed: the world was analysed before any application existed, and with those
        # statistics the planner nests loops over the related guardians (minutes, not seconds).
        cursor.execute("ANALYZE enrollment_application, enrollment_guardian")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(BASELINE_SQL, params)
        rows = cursor.fetchall()
    seconds = time.perf_counter() - started
    widths = [width for _, width in PACKED_FIELDS]
    return seconds, {
        # No evidence and no review in a pipeline run: those fields are 0.
        row[0]: " ".join(
            f"{v:0{w}d}" for v, w in zip([*row[1:8], 0, 0, 0, row[8], 0], widths, strict=True)
        )
        for row in rows
    }


def compare(args, url: str, families: list[dict], sides: list, summary) -> None:
    """Two sides alternating, each phase with its own families: submitted in this process,
    then verified by two workers of that side. `sides`: (name, Django's ways, worker env)
    each; `summary` turns the phases into the run's last line."""

    import psutil
    from django.db import connection
    from django_way_paths import apply

    from config.celery_app import app
    from enrollment.models import VerificationJob
    from enrollment.services.dispatch import verification_enqueue

    count = 2 * args.rounds
    share = len(families) // count
    results = []
    for number in range(count):
        # ours, Django's, Django's, ours, ...: with an even number of rounds each side runs
        # first as often as second while the shared machine's load drifts.
        side, ways, extra_env = sides[number % 2 if number // 2 % 2 == 0 else 1 - number % 2]
        apply(ways)
        load_before = os.getloadavg()[0]
        cpu_started = time.process_time()
        submit_seconds, job_ids = submit(families[number * share : (number + 1) * share])
        submit_cpu = time.process_time() - cpu_started
        analyze_written()
        connection.close()
        with app.connection_for_write() as conn:
            for queue in ("default", "verification"):
                conn.default_channel.queue_purge(queue)
        with tempfile.TemporaryDirectory() as logs:
            workers = start_workers(url, args.workers, Path(logs), ways, extra_env)
            # Each worker's pool process does the work: the CPU of the whole tree.
            processes = [
                process
                for worker in workers
                for process in [
                    psutil.Process(worker.pid),
                    *psutil.Process(worker.pid).children(recursive=True),
                ]
            ]
            cpu_before = sum(sum(p.cpu_times()[:2]) for p in processes)
            try:
                started = time.perf_counter()
                verification_enqueue(job_ids=job_ids, on_commit=False)
                # The phase's jobs are one id range: a range scan, not an IN list of 20,000
                # ids that PostgreSQL would parse and probe ten times a second.
                phase_jobs = VerificationJob.objects.filter(
                    id__gte=min(job_ids), id__lte=max(job_ids)
                )
                while phase_jobs.exclude(status="done").exists():
                    if time.perf_counter() - started > 3600:
                        break
                    time.sleep(0.2)
                seconds = time.perf_counter() - started
                workers_cpu = sum(sum(p.cpu_times()[:2]) for p in processes) - cpu_before
            finally:
                stop_workers(workers)
                errors = sum(
                    (Path(logs) / f"worker{n}.log").read_text().count("ERROR")
                    for n in range(args.workers)
                )
        lost = (
            VerificationJob.objects.filter(id__gte=min(job_ids), id__lte=max(job_ids))
            .exclude(status="done")
            .count()
        )
        record = {
            "bench": "pipeline",
            "case": f"phase-{side}-{number // 2 + 1}",
            "side": side,
            "n": len(job_ids),
            "submit_seconds": round(submit_seconds, 3),
            "submit_per_second": round(len(job_ids) / submit_seconds, 1),
            "submit_cpu_ms": round(1000 * submit_cpu / len(job_ids), 3),
            "seconds": round(seconds, 3),
            "per_second": round(len(job_ids) / seconds, 1),
            "workers_cpu_ms": round(1000 * workers_cpu / len(job_ids), 3),
            "lost": lost,
            "errors": errors,
            "load_average_before": round(load_before, 2),
        }
        results.append(record)
        emit(**record)

    from django.db.models import Count

    from enrollment.models import Decision

    counts = Decision.objects.values("application_id").annotate(n=Count("id")).order_by()
    decided = sum(r["n"] for r in results)
    decided_once = counts.filter(n=1).count() == decided and not counts.filter(n__gt=1)
    # The bare lookups over every application of the run, as often as each side ran.
    baselines = [baseline() for _ in range(args.rounds)]
    expected = baselines[0][1]
    packed = dict(Decision.objects.values_list("application_id", "facts_packed"))

    identical = (
        packed == expected and decided_once and not any(r["lost"] or r["errors"] for r in results)
    )
    summary(results, identical=identical, decided=decided, decided_once=decided_once,
            mismatched=sum(1 for k, v in expected.items() if packed.get(k) != v),
            baseline_seconds=[seconds for seconds, _ in baselines])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument(
        "--people", type=int, default=None, help="registry size (default 1,000,000 x scale)"
    )
    parser.add_argument(
        "--compare", choices=["copy"], help="run a hand-written path against Django's way"
    )
    parser.add_argument(
        "--gateway",
        choices=["http"],
        help="alternate phases verified in-process and over HTTP against the registry's own "
        "deployment (its own process and database)",
    )
    parser.add_argument("--registry-web-workers", type=int, default=2)
    parser.add_argument("--database", default="bench_pipeline")
    parser.add_argument(
        "--rounds", type=int, default=5, help="rounds of phases with --compare or --gateway"
    )
    args = parser.parse_args()
    applications = max(int(200_000 * args.scale), 10)
    people = max(args.people or int(1_000_000 * args.scale), applications * 3)

    url = database_url(args.database)
    recreate_database(url)
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
    django_setup(url, migrate=True)
    from django.conf import settings
    from django.db import connection
    from django.db.models import Count

    from config.celery_app import app
    from enrollment.consent_tokens import consent_public_key
    from enrollment.models import Decision, VerificationJob
    from enrollment.services.dispatch import verification_enqueue
    from registry.services.clients import department_client_create

    if settings.CELERY_TASK_ALWAYS_EAGER:
        raise SystemExit("the pipeline benchmark needs CELERY_BROKER_URL (Redis)")
    # The registry checks each question's consent token with the bureau's registered key.
    _, api_key = department_client_create(
        client_id=settings.REGISTRY_CLIENT_ID,
        name="教育局招生系统",
        scopes=["verify"],
        consent_public_key=consent_public_key(),
    )

    started = time.perf_counter()
    families, registry_rows = build_world(applications, people, args.seed)
    build_seconds = time.perf_counter() - started
    if args.compare:
        sides = [("ours", (), {}), (args.compare, (args.compare,), {})]
        compare(args, url, families, sides, django_way_summary(args))
        return
    if args.gateway:
        from _registry_process import RegistryDeployment

        connection.close()
        with tempfile.TemporaryDirectory() as logs:
            registry = RegistryDeployment(url, Path(logs), web_workers=args.registry_web_workers)
            copied = registry.build()
            emit(bench="pipeline", case="registry-deployment", n=sum(copied.values()),
                 tables=copied, registry_build_seconds=round(build_seconds, 1))  # fmt: skip
            registry.start()
            try:
                sides = [("inprocess", (), {}), ("http", (), registry.worker_env(api_key))]
                summary = gateway_summary(args, f"{applications}x{people}", registry)
                compare(args, url, families, sides, summary)
            finally:
                registry.stop()
        return
    submit_seconds, job_ids = submit(families)
    analyze_written()
    emit(bench="pipeline", case="submit", n=len(job_ids), seconds=round(submit_seconds, 3),
         registry_build_seconds=round(build_seconds, 1), registry_rows=registry_rows)  # fmt: skip
    connection.close()

    with app.connection_for_write() as conn:
        for queue in ("default", "verification"):
            conn.default_channel.queue_purge(queue)
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as logs:
        workers = start_workers(url, args.workers, Path(logs))
        try:
            started = time.perf_counter()
            verification_enqueue(job_ids=job_ids, on_commit=False)
            while True:
                open_jobs = VerificationJob.objects.exclude(status="done").count()
                if open_jobs == 0:
                    break
                if time.perf_counter() - started > 3600:
                    break
                time.sleep(0.25)
            seconds = time.perf_counter() - started
            load_average = os.getloadavg()[0]
        finally:
            stop_workers(workers)
            errors = sum(
                (Path(logs) / f"worker{n}.log").read_text().count("ERROR")
                for n in range(args.workers)
            )

    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # The workers' CPU (with their start-up): the machine is shared, wall time waits for cores.
    workers_cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (
        cpu_before.ru_utime + cpu_before.ru_stime
    )
    lost = VerificationJob.objects.exclude(status="done").count()
    counts = Decision.objects.values("application_id").annotate(n=Count("id")).order_by()
    decided_once = counts.filter(n=1).count() == len(job_ids) and not counts.filter(n__gt=1)
    outcomes = dict(
        Decision.objects.values_list("outcome").annotate(n=Count("id")).order_by("outcome")
    )
    baseline_seconds, expected = baseline()
    packed = dict(Decision.objects.values_list("application_id", "facts_packed"))
    identical = packed == expected
    emit(
        bench="pipeline",
        case=f"{applications}x{people}",
        n=len(job_ids),
        seconds=round(seconds, 3),
        baseline="raw set-based SQL, one process",
        baseline_seconds=round(baseline_seconds, 3),
        identical=identical,
        mismatched=sum(1 for k, v in expected.items() if packed.get(k) != v),
        lost=lost,
        decided_once=decided_once,
        errors=errors,
        workers=args.workers,
        workers_cpu_seconds=round(workers_cpu, 1),
        load_average=load_average,
        batch_size=settings.VERIFICATION_BATCH_SIZE,
        outcomes=outcomes,
    )


if __name__ == "__main__":
    main()
