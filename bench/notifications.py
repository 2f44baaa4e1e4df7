"""Publishing an allocation's offers queues one message per family and channel; real workers
drain the outbox.

One JSON line:
- `n`: offers published; `rows`: outbox rows written (an inbox row and an SMS row an offer);
- `seconds`: the publication's outbox write (`offers_made_notify` over the run's offers in
  one transaction: rendering in each family's language, COPY into a staging table, INSERT …
  ON CONFLICT DO NOTHING), the part a publication adds;
- `baseline_seconds`: the same rows rendered the same way and written with Django's
  `bulk_create(ignore_conflicts=True)` (rolled back), and `ratio` = baseline / ours;
- `rewrite_rows`: rows written when the same publication is written again (must be 0);
- `drain_seconds`: from the commit until no SMS is queued or sending, through `--workers`
  Celery worker processes (`-c 1`), Redis and PostgreSQL, with the in-memory SMS backend;
- `doubles`: SMS sent more than once (delivery log rows `sent` per message beyond one), and
  `lost`: offers without exactly one sent SMS, both counted from the database.

    CELERY_BROKER_URL=redis://127.0.0.1:6379/10 python bench/notifications.py --scale 0.05

Full scale is 200,000 offers. The families, applications and offers are made directly (the
allocation's own cost is bench/allocation.py's); quiet hours are off and the daily cap high
so that the figure is the outbox's, whatever the hour.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, database_url, django_setup, emit, recreate_database  # noqa: E402

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


def baseline(offers, run) -> float:
    from django.db import transaction

    from enrollment.models import Notification
    from enrollment.services import notifications

    started = time.perf_counter()
    try:
        with transaction.atomic():
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
            Notification.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)
            elapsed = time.perf_counter() - started
            raise Rollback
    except Rollback:
        return elapsed


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
    args = parser.parse_args()
    if not os.environ.get("CELERY_BROKER_URL"):
        raise SystemExit("set CELERY_BROKER_URL: the outbox drains through real workers")
    n = max(1, int(FULL * args.scale))
    os.environ.update(QUIET_OFF)
    url = database_url("bench_notifications")
    recreate_database(url)
    django_setup(url, migrate=True)

    from django.db import transaction
    from django.db.models import Count, Q

    from enrollment.models import DeliveryAttempt, Notification, Offer
    from enrollment.services.notifications import offers_made_notify

    run, offers = build(n)
    baseline_seconds = baseline(offers, run)
    started = time.perf_counter()
    with transaction.atomic():
        rows = offers_made_notify(offers=offers, visible_from=run.visible_from, round=1)
    seconds = time.perf_counter() - started
    # The commit above woke NOTIFY_PARALLEL senders through Redis; they wait for workers.
    committed = time.perf_counter()
    with tempfile.TemporaryDirectory() as logs:
        workers = start_workers(args.workers, url, Path(logs))
        try:
            while Notification.objects.filter(status__in=["queued", "sending"]).exists():
                if any(worker.poll() is not None for worker in workers):
                    raise SystemExit((Path(logs) / "worker0.log").read_text()[-2000:])
                time.sleep(0.5)
            drain_seconds = time.perf_counter() - committed
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
    emit(
        case="publish_offers",
        n=n,
        rows=rows,
        seconds=round(seconds, 2),
        baseline="bulk_create(ignore_conflicts=True), same rows, same run",
        baseline_seconds=round(baseline_seconds, 2),
        rewrite_rows=rewrite_rows,
        drain_seconds=round(drain_seconds, 2),
        workers=args.workers,
        doubles=doubles,
        lost=n - sent_once.count(),
    )


if __name__ == "__main__":
    main()
