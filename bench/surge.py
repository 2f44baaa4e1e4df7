"""Opening-day surge: parents submitting over HTTP, through the production stack.

gunicorn (config.settings.production) on loopback, PostgreSQL, Redis and two Celery workers;
locust drives it headless. Two phases in one run, each with the same number of users:
1. bare: GET /api/v1/healthz/ (no auth, one SELECT 1): what the stack serves at most;
2. submit: POST /api/v1/applications/, every request a different signed-in parent.
Afterwards the workers drain the queue, and the run checks that the applications stored equal
the 201 responses and that every one of them reached a decision.

The run uses its own database (bench_surge, dropped and created) and its own Redis database
number, so it never touches anyone else's data.

    python bench/surge.py            # 60 s of submissions, 30 s of baseline, 48 users
    python bench/surge.py --scale 0.2

With `--compare`, the run measures the product's hand-written paths against Django's own way
(bench/django_way.py) instead: submission phases only, each with parents of its own and
gunicorn started anew, alternating the product's stack with stacks where the named paths are
Django's (`--compare submission`: ours, Django's, Django's, ours, ... for `--rounds` rounds;
with several paths, ours, a, b, then b, a, ours, so that with an even number of rounds every
side runs first as often as last). The workers run throughout and the queue is drained
between phases. One JSON line per phase, then one per path with the medians of each side:

    python bench/surge.py --compare submission --rounds 6 --scale 0.2
"""

import argparse
import base64
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from _common import recreate_database
from _processes import CpuMeter, start, stop, wait_http
from _surge_data import WARM_UP, prepare

ROOT = Path(__file__).resolve().parent.parent


PY = sys.executable


# The hand-written paths a submission goes through, each of which bench/django_way.py can
# replace with Django's own.
COMPARABLE = {"submission"}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="shrinks durations")
    parser.add_argument("--users", type=int, default=48, help="concurrent locust users")
    parser.add_argument("--seconds", type=int, default=60, help="submission phase at scale 1")
    parser.add_argument("--baseline-seconds", type=int, default=30, help="bare phase at scale 1")
    # As docs/operations.md deploys a 2-core web host: cores + 1 single-threaded workers (a
    # CPU-bound request gains nothing from a second thread but a longer tail).
    parser.add_argument("--gunicorn-workers", type=int, default=3)
    parser.add_argument("--gunicorn-threads", type=int, default=1)
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--database", default="bench_surge")
    parser.add_argument("--redis-db", type=int, default=7)
    parser.add_argument("--drain-timeout", type=int, default=900)
    parser.add_argument(
        "--max-rate", type=int, default=150, help="parents prepared per second of submissions"
    )
    parser.add_argument(
        "--workers-during-load",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the Celery workers while locust submits (as on the real day)",
    )
    parser.add_argument(
        "--compare",
        default="",
        help="hand-written paths to run against Django's way (submission)",
    )
    parser.add_argument("--rounds", type=int, default=4, help="rounds of phases with --compare")
    args = parser.parse_args()
    args.compare = [way for way in args.compare.split(",") if way]
    unknown = set(args.compare) - COMPARABLE
    if unknown:
        parser.error(f"--compare takes {', '.join(sorted(COMPARABLE))}, not {sorted(unknown)}")
    return args


def urls(args) -> tuple[str, str]:
    base_db = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x"))
    database_url = urlunsplit(base_db._replace(path="/" + args.database))
    base_broker = urlsplit(os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"))
    broker_url = urlunsplit(base_broker._replace(path=f"/{args.redis_db}"))
    return database_url, broker_url


def stack_env(database_url: str, broker_url: str) -> dict:
    """The production settings with deploy/production.env.example's variables, local services."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": "bench-surge-" + "k" * 60,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_CSRF_TRUSTED_ORIGINS": "http://127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            # Sessions cached as production caches them; one Redis database number for the
            # whole run (the cache's keys and the broker's never meet, and the run flushes it).
            "CACHE_URL": broker_url,
            "REGISTRY_GATEWAY": "inprocess",
            "DJANGO_LOG_LEVEL": "WARNING",
            # A key of this run's own; `prepare` registers its public half with the registry.
            "CONSENT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
            # Production requires the audit log's keys and its anchors' file: both this run's
            # own (a file per run, so no run reads anchors made with another run's key).
            "AUDIT_LOG_KEYS": "bench:" + base64.b64encode(os.urandom(32)).decode(),
            "AUDIT_ANCHOR_PATH": str(Path(tempfile.gettempdir()) / f"surge-{os.getpid()}.anchors"),
        }
    )
    return env


def way_env(env: dict, ways: tuple[str, ...]) -> dict:
    """The stack's environment with `ways` done Django's way (bench/django_way.py)."""
    if not ways:
        return env
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "django_way",
        "DJANGO_WAY_BASE": env["DJANGO_SETTINGS_MODULE"],
        "DJANGO_WAY": ",".join(ways),
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT / "bench"), str(ROOT), env.get("PYTHONPATH", "")])
        ),
    }


def warm_up(host: str, warm_path: Path) -> list[str]:
    from concurrent.futures import ThreadPoolExecutor

    parents = json.loads(warm_path.read_text())["parents"]

    def bare(_):
        with urllib.request.urlopen(host + "/api/v1/healthz/", timeout=30) as response:  # noqa: S310
            return response.status

    def submit(parent):
        request = urllib.request.Request(  # noqa: S310 - loopback
            host + "/api/v1/applications/",
            data=json.dumps(parent["payload"]).encode(),
            headers={
                "Content-Type": "application/json",
                "Cookie": f"sessionid={parent['session']}; csrftoken={parent['csrf']}",
                "X-CSRFToken": parent["csrf"],
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.loads(response.read())["ref"]

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(bare, range(WARM_UP)))
        return list(pool.map(submit, parents))


def run_locust(mode, users, seconds, host, plan, env, workdir: Path, name: str = "") -> dict:
    label = name or mode
    prefix = workdir / f"locust-{label}"
    ledger = workdir / f"ledger-{label}.json"
    cmd = [
        PY,
        "-m",
        "locust",
        "-f",
        str(ROOT / "bench" / "locustfile_surge.py"),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{seconds}s",
        "--host",
        host,
        "--csv",
        str(prefix),
        "--only-summary",
        "--stop-timeout",
        "30",
        "--loglevel",
        "WARNING",
    ]
    started = time.monotonic()
    import resource

    generator_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        cmd,
        cwd=ROOT,
        env={
            **env,
            "SURGE_MODE": mode,
            "SURGE_PLAN": str(plan),
            "SURGE_LEDGER": str(ledger),
        },
        stdout=(workdir / f"locust-{label}.log").open("w"),
        stderr=subprocess.STDOUT,
        check=False,
        timeout=seconds + 120,
    )
    elapsed = time.monotonic() - started
    generator_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    generator_cpu = (generator_after.ru_utime + generator_after.ru_stime) - (
        generator_before.ru_utime + generator_before.ru_stime
    )
    with open(f"{prefix}_stats.csv") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    row = rows["Aggregated"]
    count = int(row["Request Count"])
    failures = int(row["Failure Count"])
    with open(f"{prefix}_failures.csv") as handle:
        failures_sample = [f"{r['Error']} x{r['Occurrences']}" for r in csv.DictReader(handle)][:5]
    with open(f"{prefix}_stats_history.csv") as handle:
        history = list(csv.DictReader(handle))
    first = float(history[0]["Timestamp"]) if history else 0
    last = float(history[-1]["Timestamp"]) if history else 0
    accepted = json.loads(ledger.read_text()) if mode == "submit" and ledger.exists() else None
    return {
        "requests": count,
        "failures": failures,
        "ok": len(accepted) if accepted is not None else count - failures,
        "accepted": accepted or [],
        "seconds": max(last - first, 1.0) if history else elapsed,
        "p50_ms": float(row["50%"]),
        "p95_ms": float(row["95%"]),
        "p99_ms": float(row["99%"]),
        "max_ms": float(row["Max Response Time"]),
        "locust_rps": float(row["Requests/s"]),
        "failures_sample": failures_sample,
        "generator_cpu_seconds": generator_cpu,
    }


def drained(database_url: str, timeout: float) -> tuple[dict, set[str], float]:
    import psycopg

    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            open_jobs = conn.execute(
                "SELECT count(*) FROM enrollment_verificationjob "
                "WHERE status IN ('pending', 'running', 'waiting_registry')"
            ).fetchone()[0]
            if open_jobs == 0 or time.monotonic() - started > timeout:
                break
            time.sleep(1)
        figures = {
            "stored": conn.execute("SELECT count(*) FROM enrollment_application").fetchone()[0],
            "decided": conn.execute(
                "SELECT count(*) FROM enrollment_application WHERE state = 'decided'"
            ).fetchone()[0],
            "with_current_decision": conn.execute(
                "SELECT count(DISTINCT application_id) FROM enrollment_decision WHERE is_current"
            ).fetchone()[0],
            "decided_twice": conn.execute(
                "SELECT count(*) FROM (SELECT application_id FROM enrollment_decision "
                "WHERE basis = 'computed' GROUP BY application_id HAVING count(*) > 1) t"
            ).fetchone()[0],
            "open_jobs": open_jobs,
        }
        refs = {row[0] for row in conn.execute("SELECT ref FROM enrollment_application")}
    return figures, refs, time.monotonic() - started


def gunicorn_cmd(args) -> list[str]:
    return [
        PY,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{args.port}",
        "--workers",
        str(args.gunicorn_workers),
        "--threads",
        str(args.gunicorn_threads),
        "--worker-class",
        "gthread" if args.gunicorn_threads > 1 else "sync",
        "--backlog",
        "2048",
        "--keep-alive",
        "5",
        "--preload",
    ]


def start_workers_settled(env: dict, workdir: Path) -> list[subprocess.Popen]:
    """Two Celery workers, returned once they have finished booting (boot costs seconds of
    CPU, which the meter must not count)."""
    worker_cmd = [
        PY,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "-Q",
        "default,verification,allocation,exports",
        "--concurrency",
        "1",
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "WARNING",
    ]
    workers = []
    try:
        for number in (1, 2):
            log = workdir / f"worker{number}.log"
            workers.append(start([*worker_cmd, "-n", f"surge{number}@%h"], env, log))
        deadline = time.monotonic() + 60
        previous = None
        while time.monotonic() < deadline:
            total = sum(sum(CpuMeter._tree(p.pid).values()) for p in workers)
            if previous is not None and total - previous < 0.05:
                break
            previous = total
            time.sleep(1)
    except BaseException:
        # Started in sessions of their own: nothing else would stop them.
        for worker in workers:
            stop(worker)
        raise
    return workers


def compare(args, env: dict, capacity: int, submit_seconds: int, workdir: Path) -> None:
    """The product's stack against Django's way for each path in `args.compare`, alternating,
    every phase with parents of its own; one JSON line a phase, then one a path."""
    import statistics

    database_url = env["DATABASE_URL"]
    sides = [("ours", ()), *((way, (way,)) for way in args.compare)]
    phases = []
    for round_number in range(1, args.rounds + 1):
        # Every other round in reverse (ours, a, b, b, a, ours, ...), so that no side always
        # runs first while the shared machine's load drifts.
        for side, ways in sides if round_number % 2 else reversed(sides):
            name = f"{side}-{round_number}"
            phases.append(
                {
                    "name": name,
                    "side": side,
                    "ways": ways,
                    "plan": workdir / f"plan-{name}.json",
                    "warm": workdir / f"warm-{name}.json",
                }
            )
    prepare(phases, capacity)
    host = f"http://127.0.0.1:{args.port}"
    workers = start_workers_settled(env, workdir)
    results = []
    try:
        for phase in phases:
            stack = way_env(env, phase["ways"])
            web = start(gunicorn_cmd(args), stack, workdir / f"gunicorn-{phase['name']}.log")
            try:
                wait_http(host + "/api/v1/healthz/")
                warm_up(host, phase["warm"])
                drained(database_url, args.drain_timeout)
                meter = CpuMeter(database_url)
                meter.roots["web"].append(web.pid)
                meter.roots["workers"].extend(worker.pid for worker in workers)
                load_before = os.getloadavg()[0]
                before = meter.snapshot()
                surge = run_locust(
                    "submit", args.users, submit_seconds, host, phase["plan"], stack, workdir,
                    name=phase["name"],
                )  # fmt: skip
                cpu = CpuMeter.spent(before, meter.snapshot())
            finally:
                stop(web)
            figures, stored_refs, _ = drained(database_url, args.drain_timeout)
            accepted = set(surge["accepted"])
            answered = max(surge["requests"], 1)
            record = {
                "bench": "surge",
                "case": f"compare-{phase['name']}",
                "side": phase["side"],
                "django_way": list(phase["ways"]),
                "n": surge["ok"],
                "seconds": round(surge["seconds"], 2),
                "per_second": round(surge["ok"] / surge["seconds"], 1),
                "p50_ms": surge["p50_ms"],
                "p95_ms": surge["p95_ms"],
                "p99_ms": surge["p99_ms"],
                "errors": surge["failures"],
                "lost": len(accepted - stored_refs),
                "parents_exhausted": surge["requests"] >= capacity,
                **{f"cpu_ms_{part}": round(1000 * v / answered, 2) for part, v in cpu.items()},
                "load_average_before": round(load_before, 2),
                "users": args.users,
                "gunicorn": f"{args.gunicorn_workers}x{args.gunicorn_threads}",
            }
            results.append(record)
            print(json.dumps(record, ensure_ascii=False), flush=True)
    finally:
        for worker in workers:
            stop(worker)
    figures, stored_refs, _ = drained(database_url, args.drain_timeout)
    all_decided = figures["decided"] == figures["stored"] == figures["with_current_decision"]

    def median(side: str, key: str) -> float:
        return statistics.median(r[key] for r in results if r["side"] == side)

    for way in args.compare:
        ours_rate, django_rate = median("ours", "per_second"), median(way, "per_second")
        ours_web, django_web = median("ours", "cpu_ms_web"), median(way, "cpu_ms_web")
        print(
            json.dumps(
                {
                    "bench": "surge",
                    "case": f"compare-{way}",
                    "n": sum(r["n"] for r in results if r["side"] in ("ours", way)),
                    "rounds": args.rounds,
                    "per_second": ours_rate,
                    "baseline": f"Django's own way for {way} (bench/django_way.py), same run",
                    "baseline_per_second": django_rate,
                    "ratio": round(ours_rate / django_rate, 3),
                    "cpu_ms_web": ours_web,
                    "baseline_cpu_ms_web": django_web,
                    "cpu_ratio": round(django_web / ours_web, 3),
                    "cpu_ms_database": median("ours", "cpu_ms_database"),
                    "baseline_cpu_ms_database": median(way, "cpu_ms_database"),
                    "identical": all_decided
                    and figures["decided_twice"] == 0
                    and not any(r["lost"] or r["errors"] for r in results),
                    "load_average_before": [
                        r["load_average_before"] for r in results if r["side"] in ("ours", way)
                    ],
                }
            )
        )


def main() -> None:
    args = parse_args()
    submit_seconds = max(5, round(args.seconds * args.scale))
    baseline_seconds = max(5, round(args.baseline_seconds * args.scale))
    database_url, broker_url = urls(args)
    env = stack_env(database_url, broker_url)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    workdir = Path(tempfile.mkdtemp(prefix="surge-"))
    recreate_database(database_url)
    subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    # Parents for the best rate this machine could sustain, with headroom (every parent submits
    # once; a run that used them all says so in `parents_exhausted`).
    capacity = max(2000, submit_seconds * args.max_rate)
    import redis

    redis.Redis.from_url(broker_url).flushdb()  # this run's own database number only
    if args.compare:
        compare(args, env, capacity, submit_seconds, workdir)
        return
    plan = workdir / "plan.json"
    warm_plan = workdir / "warm.json"
    prepare([{"plan": plan, "warm": warm_plan, "ways": ()}], capacity)

    host = f"http://127.0.0.1:{args.port}"
    processes = []
    try:
        processes.append(start(gunicorn_cmd(args), env, workdir / "gunicorn.log"))
        wait_http(host + "/api/v1/healthz/")
        warm_refs = warm_up(host, warm_plan)

        def start_workers():
            processes.extend(start_workers_settled(env, workdir))

        meter = CpuMeter(database_url)
        meter.roots["web"].append(processes[0].pid)
        before = meter.snapshot()
        load_before = os.getloadavg()[0]
        baseline = run_locust("bare", args.users, baseline_seconds, host, plan, env, workdir)
        baseline["cpu"] = CpuMeter.spent(before, meter.snapshot())
        if args.workers_during_load:
            start_workers()
            meter.roots["workers"].extend(p.pid for p in processes[1:])
        before = meter.snapshot()
        surge = run_locust("submit", args.users, submit_seconds, host, plan, env, workdir)
        surge["cpu"] = CpuMeter.spent(before, meter.snapshot())
        load_after = os.getloadavg()[0]
        if not args.workers_during_load:
            start_workers()
        figures, stored_refs, drain_seconds = drained(database_url, args.drain_timeout)
    finally:
        for process in reversed(processes):
            stop(process)

    baseline_rate = baseline["ok"] / baseline["seconds"]
    rate = surge["ok"] / surge["seconds"]
    all_decided = figures["decided"] == figures["stored"] == figures["with_current_decision"]
    measured_refs = stored_refs - set(warm_refs)
    accepted = set(surge["accepted"])
    common = {
        "users": args.users,
        "gunicorn": f"{args.gunicorn_workers}x{args.gunicorn_threads}",
        "load_average_before": round(load_before, 2),
        "load_average_after": round(load_after, 2),
    }

    def cpu_figures(phase: dict) -> dict:
        """CPU milliseconds per answered request, by part, and the rate two dedicated cores
        would sustain at that cost (an estimate: it ignores locks and I/O waits)."""
        answered = max(phase["requests"], 1)
        parts = {f"cpu_ms_{part}": 1000 * cpu / answered for part, cpu in phase["cpu"].items()}
        parts["cpu_ms_generator"] = 1000 * phase["generator_cpu_seconds"] / answered
        server = sum(v for k, v in parts.items() if k != "cpu_ms_generator")
        return {
            **{key: round(value, 2) for key, value in parts.items()},
            "two_core_estimate_per_second": round(2000 / server, 1) if server else None,
        }

    print(
        json.dumps(
            {
                "bench": "surge",
                "case": f"bare-{args.users}u-{baseline_seconds}s",
                "n": baseline["ok"],
                "seconds": round(baseline["seconds"], 2),
                "per_second": round(baseline_rate, 1),
                "p50_ms": baseline["p50_ms"],
                "p95_ms": baseline["p95_ms"],
                "p99_ms": baseline["p99_ms"],
                "errors": baseline["failures"],
                **cpu_figures(baseline),
                **common,
            }
        )
    )
    print(
        json.dumps(
            {
                "bench": "surge",
                "case": f"submit-{args.users}u-{submit_seconds}s",
                "n": surge["ok"],
                "seconds": round(surge["seconds"], 2),
                "per_second": round(rate, 1),
                "baseline": "bare Django JSON endpoint /api/v1/healthz/ (same stack, same users)",
                "baseline_seconds": round(surge["ok"] / baseline_rate, 2)
                if baseline_rate
                else None,
                "ratio": round(rate / baseline_rate, 3) if baseline_rate else None,
                "identical": measured_refs == accepted and all_decided,
                "p50_ms": surge["p50_ms"],
                "p95_ms": surge["p95_ms"],
                "p99_ms": surge["p99_ms"],
                "max_ms": surge["max_ms"],
                "errors": surge["failures"],
                "error_rate": round(surge["failures"] / surge["requests"], 5)
                if surge["requests"]
                else None,
                "stored": len(measured_refs),
                "warm_up_submissions": len(warm_refs),
                "decided": figures["decided"],
                "lost": len(accepted - measured_refs),
                "stored_without_201": len(measured_refs - accepted),
                "decided_twice": figures["decided_twice"],
                "open_jobs_left": figures["open_jobs"],
                "drain_seconds": round(drain_seconds, 1),
                "workers_during_load": args.workers_during_load,
                "parents_exhausted": surge["requests"] >= capacity,
                "failures_sample": surge["failures_sample"],
                **cpu_figures(surge),
                **common,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
