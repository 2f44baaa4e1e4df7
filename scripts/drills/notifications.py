"""Drill: queued messages survive a sending worker killed mid-batch and a Redis restart.

Sets up its own database with N families (each a verified phone) and one queued SMS each,
written through the outbox as an event would write them; starts its own throwaway Redis, two
workers and a beat (reconciler every few seconds, short lease). It kills the busy worker
(its whole process group, SIGKILL) several times while messages are being sent, restarting it
as a supervisor would, then kills Redis and starts it again empty. Then waits until nothing
is queued or sending and prints one JSON line with, counted from PostgreSQL: doubles (SMS
with more than one `sent` delivery attempt, must be 0) and lost (SMS not sent exactly once,
must be 0), and the time from Redis coming back to the outbox drained.

    python scripts/drills/notifications.py [--messages 5000] [--kills 5] [--port 6391]
"""

import argparse
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

import common
from redis_restart import start_redis


def write_messages(count: int) -> int:
    """count families and one SMS each, through the outbox's own write."""
    from django.db import transaction
    from django.utils import timezone

    from enrollment.models import User
    from enrollment.services import notifications

    users = User.objects.bulk_create(
        [
            User(
                username=f"drill{i}",
                role="parent",
                phone=f"139{i:08d}",
                verified_id_number=f"B{i:017d}",
            )  # fmt: skip
            for i in range(count)
        ],
        batch_size=5000,
    )
    renderer = notifications.Renderer(notifications.Event.REVIEW_DIGEST)
    rows = []
    for user in users:
        rows += notifications.notification_rows(
            event=notifications.Event.REVIEW_DIGEST,
            object_key="drill",
            recipient=notifications.recipient_of(user),
            renderer=renderer,
            params={"count": 1},
            now=timezone.now(),
        )
    with transaction.atomic():
        return notifications._store(rows)


def group_cpu_seconds(process) -> float:
    """CPU seconds of every process in `process`'s group (a worker and its pool child), read
    from /proc so that the drill needs nothing beyond the product's own packages."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == process.pid:  # the process group id
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def outbox() -> dict:
    from django.db import connection

    queries = {
        "open": "SELECT count(*) FROM enrollment_notification "
        "WHERE channel <> 'inbox' AND status IN ('queued', 'sending')",
        "sending": "SELECT count(*) FROM enrollment_notification WHERE status = 'sending'",
        "doubles": "SELECT count(*) FROM (SELECT notification_id FROM enrollment_deliveryattempt "
        "WHERE outcome = 'sent' GROUP BY notification_id HAVING count(*) > 1) d",
        "sent_once": "SELECT count(*) FROM enrollment_notification n WHERE n.channel = 'sms' "
        "AND n.status = 'sent' AND (SELECT count(*) FROM enrollment_deliveryattempt a "
        "WHERE a.notification_id = n.id AND a.outcome = 'sent') = 1",
        "sms": "SELECT count(*) FROM enrollment_notification WHERE channel = 'sms'",
    }
    with connection.cursor() as cursor:
        result = {}
        for key, sql in queries.items():
            cursor.execute(sql)
            result[key] = cursor.fetchone()[0]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--port", type=int, default=6391)
    parser.add_argument("--timeout", type=int, default=600)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="drill-notifications-"))
    env = common.stack_env(
        common.database_url("drill_notifications"),
        common.broker_url(0, port=args.port),  # the throwaway server is the drill's alone
        SMS_BACKEND="enrollment.sms.LocmemBackend",
        NOTIFY_QUIET_START="0",
        NOTIFY_QUIET_END="0",
        NOTIFY_DAILY_CAP="1000",
        NOTIFY_BATCH_SIZE="50",
        NOTIFY_RECONCILE_SECONDS="5",
        NOTIFY_LEASE_SECONDS="15",
        CELERY_VISIBILITY_TIMEOUT="30",
    )
    redis_server = start_redis(args.port, workdir)
    processes = {}
    try:
        common.setup_django(env)
        rows = write_messages(args.messages)
        processes = {
            name: common.start_worker(env, name, workdir / f"{name}.log") for name in ("w1", "w2")
        }
        processes["beat"] = common.start_beat(env, workdir)
        kills = mid_batch = 0
        rng = random.Random(2027)
        started = time.monotonic()
        while kills < args.kills and time.monotonic() - started < args.timeout:
            time.sleep(rng.uniform(0.6, 1.6))
            if not outbox()["sending"]:
                continue
            workers = {n: p for n, p in processes.items() if n != "beat"}
            before = {n: group_cpu_seconds(p) for n, p in workers.items()}
            time.sleep(0.3)
            spent = {n: group_cpu_seconds(p) - before[n] for n, p in workers.items()}
            name = max(sorted(spent), key=lambda n: spent[n])
            common.kill(processes[name], signal.SIGKILL)
            kills += 1
            mid_batch += spent[name] >= 0.05
            processes[name] = common.start_worker(env, name, workdir / f"{name}.log")
        open_at_restart = outbox()["open"]
        common.kill(redis_server, signal.SIGKILL)
        redis_server = start_redis(args.port, workdir)
        back = time.monotonic()
        while outbox()["open"] and time.monotonic() - back < args.timeout:
            time.sleep(0.5)
        recovered = time.monotonic() - back
    finally:
        for process in processes.values():
            common.kill(process, signal.SIGTERM)
        common.kill(redis_server, signal.SIGTERM)
    final = outbox()
    lost = final["sms"] - final["sent_once"]
    common.report(
        "notifications",
        messages=args.messages,
        rows_written=rows,
        kills=kills,
        kills_mid_batch=mid_batch,
        open_when_redis_restarted=open_at_restart,
        doubles=final["doubles"],
        lost=lost,
        recover_seconds=round(recovered, 1),
        ok=final["doubles"] == 0 and lost == 0 and kills == args.kills,
    )
    return 0 if final["doubles"] == 0 and lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
