"""Publishing an allocation's offers queues one message per family and channel; real workers
drain the outbox.

One JSON line (`bench` notifications, `case` publish_offers):
- `n`: offers published; `rows`: outbox rows written (an inbox row and an SMS row an offer);
- `seconds` and `baseline_seconds`: medians of `--rounds` (default 5) alternated writes
  (`_common.alternate`), each in a transaction rolled back, of ours (`offers_made_notify`
  over the run's offers: rendering in each family's language, COPY into a staging table,
  INSERT … ON CONFLICT DO NOTHING: the part a publication adds) and of the same rows built as
  model instances and written with Django's `bulk_create(ignore_conflicts=True)`; `ratio` =
  baseline / ours. `cpu_seconds` and `baseline_cpu_seconds`: this process's CPU plus that of
  the database's PostgreSQL backends (bench/_import_cpu.py; the database must run on this
  host), the latter also alone as `db_cpu_seconds` and `baseline_db_cpu_seconds`;
- `committed_seconds`: ours once more, committed, after a VACUUM of the rounds' dead rows;
- `rewrite_rows`: rows written when the same publication is written again (must be 0);
- `drain_seconds`: from the commit until no SMS is queued or sending, through `--workers`
  Celery worker processes (`-c 1`), Redis and PostgreSQL, with the in-memory SMS backend;
- `doubles`: SMS sent more than once (delivery log rows `sent` per message beyond one), and
  `lost`: offers without exactly one sent SMS, both counted from the database.

    CELERY_BROKER_URL=redis://127.0.0.1:6379/10 python bench/notifications.py --scale 0.05
    python bench/notifications.py --scale 0.05 --no-drain --database bench_mine --rounds 7

Full scale is 200,000 offers. The families, applications and offers are made directly (the
allocation's own cost is bench/allocation.py's); quiet hours are off and the daily cap high
so that the figure is the outbox's, whatever the hour.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    ROOT,
    alternate,
    database_url,
    django_setup,
    emit,
    recreate_database,
)
from _import_cpu import DatabaseCpu  # noqa: E402

FULL = 200_000
QUIET_OFF = {"NOTIFY_QUIET_START": "0", "NOTIFY_QUIET_END": "0", "NOTIFY_DAILY_CAP": "1000"}


def build(n: int):
    """n families, each with a verified phone, an application and an offer of a published
    run; Chinese for four families in five, English for the fifth."""
    from django.utils import timezone

    from enrollment.models import AllocationRun, Application, Offer, School, User

    now = timezone.now()
    school = School.objects.create(
        code="S440604001", name="佛山市禅城区文华小学", district_code="440604",
        kind="public", capacity=n, admission_year=2027, catchment_communities=[],
    )  # fmt: skip
    users = User.objects.bulk_create(
        [
            User(
                username=f"p{i}",
                role="parent",
                phone=f"139{i:08d}",
                verified_id_number=f"B{i:017d}",
                language="en" if i % 5 == 4 else "zh-hans",
            )  # fmt: skip
            for i in range(n)
        ],
        batch_size=5000,
    )
    applications = Application.objects.bulk_create(
        [
            Application(
                ref=f"A{i:011d}",
                admission_year=2027,
                district_code="440604",
                channel="online",
                applicant=user,
                child_name="陈小明",
                child_id_number=f"C{i:017d}",
                child_birth_date="2020-03-15",
                home_community_code="440604010003",
                state="decided",
                submitted_at=now,
            )  # fmt: skip
            for i, user in enumerate(users)
        ],
        batch_size=5000,
    )
    run = AllocationRun.objects.create(
        admission_year=2027, district_code="440604", round=1, seed=1, status="done",
        published_at=now, visible_from=now, respond_by=now + timedelta(days=7),
    )  # fmt: skip
    offers = Offer.objects.bulk_create(
        [
            Offer(
                run=run,
                application=a,
                school=school,
                round=1,
                made_at=now,
                respond_by=run.respond_by,
            )  # fmt: skip
            for a in applications
        ],
        batch_size=5000,
    )
    return run, offers


class Rollback(Exception):
    pass


def rolled_back(write, meter: DatabaseCpu):
    """One write in a transaction that is rolled back; the CPU of the database's backends
    meanwhile (`db_cpu`; in `cpu_seconds` less the meter's own CPU, to which `_common.timed`
    adds this process's)."""
    from django.db import transaction

    def side() -> dict:
        def in_transaction() -> None:
            try:
                with transaction.atomic():
                    write()
                    raise Rollback
            except Rollback:
                pass

        _, db_cpu = meter.measure(in_transaction)
        return {"cpu_seconds": db_cpu - meter.own_cpu, "db_cpu": db_cpu}

    return side


def ours(offers, run):
    from enrollment.services.notifications import offers_made_notify

    return lambda: offers_made_notify(offers=offers, visible_from=run.visible_from, round=1)


def baseline(offers, run):
    """The same rows rendered the same way, built as model instances and written with
    bulk_create(ignore_conflicts=True)."""
    from enrollment.models import Notification
    from enrollment.services import notifications

    def write():
        applicants = notifications._applicants(o.application_id for o in offers)
        renderer = notifications.Renderer("offer_made")
        rows = []
        for offer in offers:
            ref, recipient = applicants[offer.application_id]
            rows += notifications.notification_rows(
                event="offer_made", object_key=str(offer.pk), recipient=recipient,
                renderer=renderer, now=run.published_at, send_after=run.visible_from,
                params={"ref": ref, "school": "佛山市禅城区文华小学",
                        "deadline": offer.respond_by, "round": 1},
                application_id=offer.application_id,
            )  # fmt: skip
        Notification.objects.bulk_create(
            [Notification(**row._asdict()) for row in rows], batch_size=5000, ignore_conflicts=True
        )

    return write


def start_workers(count: int, url: str, logs: Path) -> list:
    env = {
        **os.environ,
        **QUIET_OFF,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "0",
        "DJANGO_LOG_LEVEL": "WARNING",
        "SMS_BACKEND": "enrollment.sms.LocmemBackend",
    }
    workers = []
    for n in range(count):
        log = logs / f"worker{n}.log"
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
                    "default",
                    "-n",
                    f"notify{n}@%h",
                    "--loglevel",
                    "WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                env=env,
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        )
    return workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5, help="alternated rounds of both writes")
    parser.add_argument("--database", help="the database to drop, create and use")
    parser.add_argument("--no-drain", action="store_true", help="measure the write only")
    args = parser.parse_args()
    if not os.environ.get("CELERY_BROKER_URL"):
        raise SystemExit("set CELERY_BROKER_URL: the outbox drains through real workers")
    n = max(1, int(FULL * args.scale))
    os.environ.update(QUIET_OFF)
    # Named after the configured database too, so two checkouts benchmarking at once do not
    # drop each other's.
    own = urlsplit(os.environ.get("DATABASE_URL", "")).path.strip("/")
    url = database_url(
        args.database or "bench_notifications" + (f"_{own}" if own not in ("", "postgres") else "")
    )
    recreate_database(url)
    django_setup(url, migrate=True)

    from django.db import transaction
    from django.db.models import Count, Q

    from enrollment.models import DeliveryAttempt, Notification, Offer
    from enrollment.services.notifications import offers_made_notify

    run, offers = build(n)
    # Alternated, each in a transaction rolled back, so neither always runs on a warmer cache.
    meter = DatabaseCpu(url)
    alternation = alternate(
        rolled_back(ours(offers, run), meter),
        rolled_back(baseline(offers, run), meter),
        rounds=max(1, args.rounds),
    )
    meter.close()
    # The rolled-back rounds left dead rows and index entries a real publication would not
    # find in its way.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {Notification._meta.db_table}")
    # The publication's own write, committed: the figure the target is about.
    started = time.perf_counter()
    with transaction.atomic():
        rows = offers_made_notify(offers=offers, visible_from=run.visible_from, round=1)
    seconds = time.perf_counter() - started
    # The commit above woke NOTIFY_PARALLEL senders through Redis; they wait for workers.
    committed = time.perf_counter()
    drain_seconds = None
    with tempfile.TemporaryDirectory() as logs:
        workers = [] if args.no_drain else start_workers(args.workers, url, Path(logs))
        try:
            while (
                workers and Notification.objects.filter(status__in=["queued", "sending"]).exists()
            ):
                if any(worker.poll() is not None for worker in workers):
                    raise SystemExit((Path(logs) / "worker0.log").read_text()[-2000:])
                time.sleep(0.5)
            if workers:
                drain_seconds = round(time.perf_counter() - committed, 2)
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=60)
    with transaction.atomic():
        rewrite_rows = offers_made_notify(offers=offers, visible_from=run.visible_from, round=1)
    doubles = (
        DeliveryAttempt.objects.filter(outcome="sent")
        .values("notification_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    sent_once = Offer.objects.annotate(
        sms=Count(
            "application__notifications",
            filter=Q(
                application__notifications__channel="sms", application__notifications__status="sent"
            ),
        )  # fmt: skip
    ).filter(sms=1)

    def db_cpu(runs) -> float:
        return round(statistics.median(r.result["db_cpu"] for r in runs), 3)

    emit(
        bench="notifications",
        case="publish_offers",
        n=n,
        rows=rows,
        **alternation.fields(),
        db_cpu_seconds=db_cpu(alternation.ours),
        baseline_db_cpu_seconds=db_cpu(alternation.baseline),
        baseline="model instances and bulk_create(ignore_conflicts=True), same rows, same run",
        committed_seconds=round(seconds, 3),
        load_average_end=round(os.getloadavg()[0], 2),
        rewrite_rows=rewrite_rows,
        drain_seconds=drain_seconds,
        workers=args.workers,
        doubles=doubles,
        lost=None if args.no_drain else n - sent_once.count(),
    )


if __name__ == "__main__":
    main()
