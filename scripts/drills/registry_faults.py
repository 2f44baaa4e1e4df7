"""Drill: the registry answers with errors, then hangs, then recovers.

Serves the product's own registry API (the real view, the drill's database) from this process
behind a fault switch, and points the workers at it with REGISTRY_GATEWAY=http. Timeline after
the jobs are queued: --errors seconds of HTTP 503, then --hang seconds in which every call
hangs past the gateway's timeout, then normal answers. Prints one JSON line: lost (must be 0),
decided twice (must be 0), sent to manual review, registry calls by outcome, and the time from
the registry's recovery until every application was decided.

    python scripts/drills/registry_faults.py [--applications 1000] [--errors 20] [--hang 25]
"""

import argparse
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import common


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class FaultSwitch:
    """WSGI middleware in front of the registry API: ok, error (503) or hang."""

    def __init__(self, app, hang_seconds: float):
        self.app = app
        self.mode = "ok"
        self.hang_seconds = hang_seconds
        self.calls = Counter()
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        mode = self.mode
        with self.lock:
            self.calls[mode] += 1
        if mode == "error":
            start_response("503 Service Unavailable", [("Content-Type", "application/json")])
            return [b'{"message": "registry down for the drill", "code": "unavailable"}']
        if mode == "hang":
            time.sleep(self.hang_seconds)
            start_response("504 Gateway Timeout", [("Content-Type", "application/json")])
            return [b"{}"]
        try:
            return self.app(environ, start_response)
        finally:
            from django.db import connection

            connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=1000)
    parser.add_argument("--errors", type=float, default=20)
    parser.add_argument("--hang", type=float, default=25)
    parser.add_argument("--port", type=int, default=8795)
    parser.add_argument("--redis-db", type=int, default=9)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--timeout", type=int, default=900)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="drill-registry-"))
    env = common.stack_env(
        common.database_url("drill_registry_faults"),
        common.broker_url(args.redis_db),
        VERIFICATION_BATCH_SIZE=str(args.batch),
        VERIFICATION_RECONCILE_SECONDS="5",
        VERIFICATION_REQUEUE_SECONDS="10",
        VERIFICATION_LEASE_SECONDS="60",
    )
    key = common.setup_django(env)
    import redis
    from django.core.wsgi import get_wsgi_application

    redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()  # the drill's own db number
    # The gateway gives up on a call after REGISTRY_API_TIMEOUT (5 s here) and tries it once
    # more; hang well past that.
    switch = FaultSwitch(get_wsgi_application(), hang_seconds=12)
    server = make_server(
        "127.0.0.1", args.port, switch, server_class=ThreadingServer, handler_class=QuietHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env.update(
        {
            "REGISTRY_GATEWAY": "http",
            "REGISTRY_API_URL": f"http://127.0.0.1:{args.port}/registry/api/v1",
            "REGISTRY_API_KEY": key,
            "REGISTRY_API_TIMEOUT": "5",
            "REGISTRY_API_RETRIES": "1",
        }
    )
    pairs = common.district(args.applications)
    job_ids = common.submit(pairs)

    processes = [common.start_worker(env, name, workdir / f"{name}.log") for name in ("w1", "w2")]
    processes.append(common.start_beat(env, workdir))
    try:
        time.sleep(4)  # workers up
        switch.mode = "error"
        common.enqueue_all(job_ids)
        time.sleep(args.errors)
        switch.mode = "hang"
        time.sleep(args.hang)
        switch.mode = "ok"
        back = time.monotonic()
        waiting_at_recovery = common.figures()["open_jobs"]
        settled, _ = common.wait_settled(args.timeout)
        recovered = time.monotonic() - back
    finally:
        for process in processes:
            common.kill(process, signal.SIGTERM)
        server.shutdown()
    from enrollment.models import VerificationJob

    attempts = list(VerificationJob.objects.values_list("attempts", flat=True))
    lost = args.applications - settled["decided"] - settled["needs_review"]
    common.report(
        "registry_faults",
        applications=args.applications,
        error_seconds=args.errors,
        hang_seconds=args.hang,
        registry_calls=dict(switch.calls),
        open_jobs_at_recovery=waiting_at_recovery,
        lost=lost,
        decided_twice=settled["decided_twice"],
        decided=settled["decided"],
        needs_review=settled["needs_review"],
        open_jobs_left=settled["open_jobs"],
        max_attempts=max(attempts) if attempts else 0,
        recover_seconds=round(recovered, 1),
        ok=lost == 0 and settled["decided_twice"] == 0,
    )
    return 0 if lost == 0 and settled["decided_twice"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
