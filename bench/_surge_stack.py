"""The surge's stack: the production settings on local services, gunicorn and the Celery
workers, and what the database holds afterwards."""

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from _processes import CpuMeter, start, stop

ROOT = Path(__file__).resolve().parent.parent


PY = sys.executable


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


def warm_up(host: str, parents: list[dict], bare: int) -> list[str]:
    """`bare` health checks and one submission per warm-up parent: every gunicorn worker has
    imported its views and opened its connections before the clock starts."""
    from concurrent.futures import ThreadPoolExecutor

    def health(_):
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
        list(pool.map(health, range(bare)))
        return list(pool.map(submit, parents))


def open_jobs(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM enrollment_verificationjob "
            "WHERE status IN ('pending', 'running', 'waiting_registry')"
        ).fetchone()[0]


def drain(database_url: str, timeout: float) -> tuple[int, float]:
    """Wait until the workers have verified every queued application; (jobs left, seconds)."""
    started = time.monotonic()
    while (left := open_jobs(database_url)) and time.monotonic() - started < timeout:
        time.sleep(0.5)
    return left, time.monotonic() - started


def stored(database_url: str) -> dict[str, dict]:
    """Every stored application by child: its refs, how many computed decisions each has, its
    state, and its current decision's hukou and housing classes."""
    import psycopg

    children: dict[str, dict] = {}
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT a.ref, a.child_id_number, a.state, "
            "count(d.id) FILTER (WHERE d.basis = 'computed'), bool_or(d.is_current), "
            "max(d.housing_class) FILTER (WHERE d.is_current), "
            "max(d.hukou_class) FILTER (WHERE d.is_current) "
            "FROM enrollment_application a LEFT JOIN enrollment_decision d "
            "ON d.application_id = a.id GROUP BY a.id"
        ).fetchall()
    for ref, child, state, computed, current, housing, hukou in rows:
        entry = children.setdefault(child, {"refs": [], "computed": [], "states": []})
        entry["refs"].append(ref)
        entry["computed"].append(computed)
        # Verified: decided with a current decision, or sent to an officer (needs_review).
        entry["states"].append(state if state != "decided" or current else "decided-no-current")
        entry["classes"] = f"{hukou or '-'}+{housing or '-'}"
    return children


def bookkeeping(
    children: dict[str, dict],
    sent: list[str],
    accepted: set[str],
    unanswered: set[str] = frozenset(),
) -> dict:
    """What the database holds for one case's parents (`sent`: the children submitted for):
    lost (answered 201, not stored), stored without a 201 (answered otherwise, yet stored),
    stored twice (one child, two applications), decided twice (two computed decisions), not
    verified to the end. A request the client gave up on (`unanswered`, no answer at all) may
    be stored or not: counted apart, as `stored_unanswered`."""
    refs, unanswered_refs, twice, decided_twice, unverified = set(), set(), 0, 0, 0
    classes, states = {}, {}
    for child in sent:
        entry = children.get(child)
        if entry is None:
            continue
        (unanswered_refs if child in unanswered else refs).update(entry["refs"])
        twice += len(entry["refs"]) > 1
        decided_twice += sum(count > 1 for count in entry["computed"])
        for state in entry["states"]:
            unverified += state not in ("decided", "needs_review")
            states[state] = states.get(state, 0) + 1
        classes[entry["classes"]] = classes.get(entry["classes"], 0) + 1
    lost = len(accepted - refs)
    without = len(refs - accepted)
    return {
        "stored": len(refs) + len(unanswered_refs),
        "lost": lost,
        "stored_without_201": without,
        "stored_unanswered": len(unanswered_refs),
        "stored_twice": twice,
        "decided_twice": decided_twice,
        "unverified": unverified,
        "states": dict(sorted(states.items())),
        "hukou_housing_classes": dict(sorted(classes.items())),
        "consistent": not (lost or without or twice or decided_twice or unverified),
    }


def meter(database_url: str, web: subprocess.Popen, workers: list) -> CpuMeter:
    cpu = CpuMeter(database_url)
    cpu.roots["web"].append(web.pid)
    cpu.roots["workers"].extend(worker.pid for worker in workers)
    return cpu


def stop_all(processes: list) -> None:
    for process in reversed(processes):
        stop(process)
