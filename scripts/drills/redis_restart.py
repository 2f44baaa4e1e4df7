"""Drill: Redis restarted with nothing on disk while a thousand verification jobs are queued.

Starts its own throwaway redis-server (another port, no RDB, no AOF), submits N applications
and queues their jobs, then kills Redis and starts it again empty: every message is gone.
Two workers and a beat (reconciler every few seconds) are started on the new Redis; the jobs
live on in PostgreSQL, so the reconciler re-enqueues them. Prints one JSON line: lost (must
be 0), decided twice (must be 0), messages lost with Redis, and the time from Redis coming
back to every application decided.

    python scripts/drills/redis_restart.py [--applications 1000] [--port 6390]
"""

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common


def start_redis(port: int, workdir: Path) -> subprocess.Popen:
    server = shutil.which("redis-server")
    if not server:
        raise SystemExit("redis-server is not installed")
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=(workdir / "redis.log").open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    for _ in range(50):
        try:
            if client.ping():
                return process
        except redis.ConnectionError:
            time.sleep(0.1)
    raise SystemExit(f"redis-server did not start on port {port}")


def queued_messages(port: int, db: int) -> int:
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, db=db)
    return sum(client.llen(queue) for queue in common.QUEUES.split(","))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=1000)
    parser.add_argument("--port", type=int, default=6390)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--timeout", type=int, default=600)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="drill-redis-"))
    db = 0  # the throwaway server is the drill's alone
    env = common.stack_env(
        common.database_url("drill_redis_restart"),
        common.broker_url(db, port=args.port),
        VERIFICATION_BATCH_SIZE=str(args.batch),
        VERIFICATION_RECONCILE_SECONDS="5",
        VERIFICATION_REQUEUE_SECONDS="10",
        VERIFICATION_LEASE_SECONDS="15",
    )
    redis_server = start_redis(args.port, workdir)
    processes = []
    try:
        common.setup_django(env)
        pairs = common.district(args.applications)
        job_ids = common.submit(pairs)
        common.enqueue_all(job_ids)
        before = queued_messages(args.port, db)

        common.kill(redis_server, signal.SIGKILL)
        redis_server = start_redis(args.port, workdir)
        back = time.monotonic()
        after = queued_messages(args.port, db)

        processes = [
            common.start_worker(env, name, workdir / f"{name}.log") for name in ("w1", "w2")
        ]
        processes.append(common.start_beat(env, workdir))
        settled, _ = common.wait_settled(args.timeout)
        recovered = time.monotonic() - back
    finally:
        for process in processes:
            common.kill(process, signal.SIGTERM)
        common.kill(redis_server, signal.SIGTERM)
    lost = args.applications - settled["decided"] - settled["needs_review"]
    common.report(
        "redis_restart",
        applications=args.applications,
        jobs_queued=len(job_ids),
        messages_before_restart=before,
        messages_after_restart=after,
        lost=lost,
        decided_twice=settled["decided_twice"],
        decided=settled["decided"],
        needs_review=settled["needs_review"],
        open_jobs_left=settled["open_jobs"],
        recover_seconds=round(recovered, 1),
        reconcile_seconds=int(env["VERIFICATION_RECONCILE_SECONDS"]),
        requeue_seconds=int(env["VERIFICATION_REQUEUE_SECONDS"]),
        ok=lost == 0 and settled["decided_twice"] == 0 and after == 0,
    )
    return 0 if lost == 0 and settled["decided_twice"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
