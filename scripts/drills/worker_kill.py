"""Drill: a verification worker killed with SIGKILL in the middle of a batch, twenty times.

Sets up its own database with N submitted applications, queues them in small batches, runs two
workers and a beat (reconciler every few seconds, short lease), and kills a worker (the whole
process group, as a lost host would) twenty times while jobs are running, restarting it each
time as a supervisor would. Then waits until every job is finished and prints one JSON line:
applications lost (must be 0), decided twice (must be 0), and the time from the last kill
until every application was decided.

    python scripts/drills/worker_kill.py [--applications 30000] [--kills 20]
"""

import argparse
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

import common


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=30000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--redis-db", type=int, default=8)
    parser.add_argument("--timeout", type=int, default=600)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="drill-worker-kill-"))
    env = common.stack_env(
        common.database_url("drill_worker_kill"),
        common.broker_url(args.redis_db),
        VERIFICATION_BATCH_SIZE=str(args.batch),
        VERIFICATION_RECONCILE_SECONDS="5",
        VERIFICATION_REQUEUE_SECONDS="10",
        VERIFICATION_LEASE_SECONDS="15",
        # A killed worker's unacknowledged message comes back from Redis after this long.
        CELERY_VISIBILITY_TIMEOUT="30",
    )
    common.setup_django(env)
    import redis

    from enrollment.models import VerificationJob

    redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()  # the drill's own db number
    pairs = common.district(args.applications)
    job_ids = common.submit(pairs)
    messages = common.enqueue_all(job_ids)

    workers = {
        name: common.start_worker(env, name, workdir / f"{name}.log") for name in ("w1", "w2")
    }
    beat = common.start_beat(env, workdir)
    kills = mid_batch = 0
    rng = random.Random(2027)
    started = time.monotonic()
    try:
        while kills < args.kills:
            time.sleep(rng.uniform(0.6, 1.6))
            running = VerificationJob.objects.filter(status="running").count()
            if not running:
                if not VerificationJob.objects.filter(status__in=["pending", "running"]).exists():
                    break  # nothing left to interrupt
                continue
            # Kill the worker that is busy right now (CPU spent in the last 0.3 s), so that the
            # kill lands in the middle of a batch; count it as mid-batch only when it was.
            before = {name: common.cpu_seconds(p) for name, p in workers.items()}
            time.sleep(0.3)
            spent = {name: common.cpu_seconds(p) - before[name] for name, p in workers.items()}
            name = max(sorted(spent), key=lambda n: spent[n])
            common.kill(workers[name], signal.SIGKILL)
            kills += 1
            mid_batch += spent[name] >= 0.05
            workers[name] = common.start_worker(env, name, workdir / f"{name}.log")
        last_kill = time.monotonic()
        settled, _ = common.wait_settled(args.timeout)
        recovered = time.monotonic() - last_kill
    finally:
        for process in [*workers.values(), beat]:
            common.kill(process, signal.SIGTERM)
    lost = args.applications - settled["decided"] - settled["needs_review"]
    common.report(
        "worker_kill",
        applications=args.applications,
        messages=messages,
        kills=kills,
        kills_mid_batch=mid_batch,
        lost=lost,
        decided_twice=settled["decided_twice"],
        decided=settled["decided"],
        needs_review=settled["needs_review"],
        open_jobs_left=settled["open_jobs"],
        seconds_total=round(time.monotonic() - started, 1),
        recover_seconds=round(recovered, 1),
        ok=lost == 0 and settled["decided_twice"] == 0 and kills == args.kills,
    )
    return 0 if lost == 0 and settled["decided_twice"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
