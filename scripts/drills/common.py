"""What every fault drill shares: its own database, the production settings, a population of
submitted applications, worker processes, and the figures a drill prints.

A drill never touches anyone else's data: it drops and creates its own PostgreSQL database
(drill_<name>) and uses its own Redis database number (or its own Redis server).
"""

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
YEAR = 2027
HOME = "440604010003"
SCHOOL = "S440604001"
QUEUES = "default,verification,allocation,exports"


def database_url(name: str) -> str:
    base = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x"))
    return urlunsplit(base._replace(path="/" + name))


def broker_url(db: int, port: int | None = None) -> str:
    base = urlsplit(os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"))
    if port is not None:
        base = base._replace(netloc=f"{base.hostname}:{port}")
    return urlunsplit(base._replace(path=f"/{db}"))


def stack_env(database: str, broker: str, **extra: str) -> dict:
    """The production settings (deploy/production.env.example's variables), local services."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": "drill-" + "s" * 60,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_CSRF_TRUSTED_ORIGINS": "http://127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DATABASE_URL": database,
            "CELERY_BROKER_URL": broker,
            "REGISTRY_GATEWAY": "inprocess",
            "DJANGO_LOG_LEVEL": "WARNING",
            # A key of the drill's own; `setup_django` registers its public half.
            "CONSENT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
            # The production settings refuse to start without the audit log's key and anchor.
            "AUDIT_LOG_KEYS": "kdrill:" + base64.b64encode(os.urandom(32)).decode(),
            "AUDIT_ANCHOR_PATH": str(Path(tempfile.mkdtemp(prefix="drill-audit-")) / "anchor.log"),
        }
    )
    env.update(extra)
    return env


def setup_django(env: dict) -> str:
    """Recreate the drill's database, migrate it, and set Django up in this process; the
    education bureau is registered with the registry, with the public half of the drill's
    consent key. Returns the bureau's API key, for drills that use the HTTP gateway."""
    import psycopg

    parts = urlsplit(env["DATABASE_URL"])
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    from enrollment.consent_tokens import consent_public_key
    from registry.services.clients import department_client_create

    _client, key = department_client_create(
        client_id=settings.REGISTRY_CLIENT_ID,
        name="教育局招生系统",
        scopes=["verify", "audit"],
        consent_public_key=consent_public_key(),
    )
    return key


def family_ids(count: int, offset: int = 0) -> list[tuple[str, str]]:
    """(child, mother): children born in the 2027 window, mothers distinct, all valid."""
    from registry.idnumber import make

    pairs = []
    for index in range(offset, offset + count):
        child = make("440604", date(2019, 9, 1) + timedelta(days=index // 999), index % 999 + 1)
        mother = make("440604", date(1985, 1, 1) + timedelta(days=index // 900), index % 900 + 1)
        pairs.append((child, mother))
    return pairs


def district(count: int) -> list[tuple[str, str]]:
    """The policy, a community, a school and registry facts for `count` families (each child
    registered in the district with its mother in the same household, each mother owning the
    flat at home: eligible, 100 + bonus)."""
    from enrollment.models import Community, School
    from enrollment.services.policies import policy_install_default
    from registry.models import HukouRecord, ImportBatch, PropertyRecord, Source

    policy_install_default(admission_year=YEAR)
    Community.objects.get_or_create(code=HOME, defaults={"district_code": "440604"})
    School.objects.get_or_create(
        code=SCHOOL,
        admission_year=YEAR,
        defaults={
            "name": "示范小学",
            "district_code": "440604",
            "kind": School.Kind.PUBLIC,
            "capacity": 3000,
            "catchment_communities": [HOME],
        },
    )
    pairs = family_ids(count)
    as_of = date(2027, 3, 1)
    hukou = ImportBatch.objects.create(source=Source.HUKOU, as_of=as_of, status="done")
    housing = ImportBatch.objects.create(source=Source.PROPERTY, as_of=as_of, status="done")
    # Each mother's hukou in her child's household: she is a related guardian, so her flat is
    # looked up and counts (DOMAIN.md, "Guardianship").
    HukouRecord.objects.bulk_create(
        HukouRecord(
            batch=hukou,
            as_of=as_of,
            id_number=person,
            name=name,
            sex=sex,
            birth_date=date(int(person[6:10]), int(person[10:12]), int(person[12:14])),
            hukou_district_code="440604",
            community_code=HOME,
            registered_on=date(2020, 6, 1),
            household_no=f"H{index:09d}",
        )
        for index, (child, mother) in enumerate(pairs)
        for person, name, sex in ((child, "儿童", "M"), (mother, "母亲", "F"))
    )
    PropertyRecord.objects.bulk_create(
        PropertyRecord(
            batch=housing,
            as_of=as_of,
            certificate_no=f"粤2020佛禅不动产权第{index:07d}号",
            owner_id_number=mother,
            share_percent=100,
            community_code=HOME,
            registered_on=date(2019, 1, 1),
        )
        for index, (_, mother) in enumerate(pairs)
    )
    return pairs


def submit(pairs, *, enqueue: bool = False) -> list[int]:
    """Submit one application per family through the product's service; returns job ids.

    With enqueue=False nothing is sent to Redis: the drill decides when the messages go.
    """
    from django.db import transaction

    from enrollment.models import VerificationJob
    from enrollment.services.applications import (
        ApplicationInput,
        PersonInput,
        application_submit,
    )

    with transaction.atomic():
        for child, mother in pairs:
            application_submit(
                data=ApplicationInput(
                    admission_year=YEAR,
                    child=PersonInput(name="陈小明", id_number=child),
                    guardians=[PersonInput(name="李美玲", id_number=mother, relation="mother")],
                    home_community_code=HOME,
                    preferences=[SCHOOL],
                    consent_given_by=mother,
                ),
                actor=None,
                channel="assisted",
                enqueue=enqueue,
            )
    return list(VerificationJob.objects.order_by("id").values_list("id", flat=True))


def enqueue_all(job_ids: list[int]) -> int:
    from django.utils import timezone

    from enrollment.models import VerificationJob
    from enrollment.services.dispatch import verification_enqueue

    VerificationJob.objects.filter(id__in=job_ids).update(enqueued_at=timezone.now())
    return verification_enqueue(job_ids=job_ids, on_commit=False)


def start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def start_worker(env: dict, name: str, log: Path) -> subprocess.Popen:
    return start(
        [
            PY,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            QUEUES,
            "--concurrency",
            "1",
            "-n",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "WARNING",
        ],
        env,
        log,
    )


def start_beat(env: dict, workdir: Path) -> subprocess.Popen:
    return start(
        [
            PY,
            "-m",
            "celery",
            "-A",
            "config",
            "beat",
            "-s",
            str(workdir / "beat-schedule"),
            "--loglevel",
            "WARNING",
        ],
        env,
        workdir / "beat.log",
    )


def cpu_seconds(process: subprocess.Popen) -> float:
    """CPU seconds used so far by a process and everything it started."""
    import psutil

    try:
        root = psutil.Process(process.pid)
        members = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for member in members:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = member.cpu_times()
            total += times.user + times.system
    return total


def kill(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signal the process and everything it started (its session), then reap it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def figures() -> dict:
    """Counts every drill reports, read from PostgreSQL (the system of record)."""
    from django.db import connection

    queries = {
        "applications": "SELECT count(*) FROM enrollment_application",
        "decided": "SELECT count(*) FROM enrollment_application WHERE state = 'decided'",
        "needs_review": "SELECT count(*) FROM enrollment_application WHERE state = 'needs_review'",
        "open_jobs": "SELECT count(*) FROM enrollment_verificationjob "
        "WHERE status IN ('pending', 'running', 'waiting_registry')",
        # Decided twice: more computed decisions than finished verification rounds (jobs), or
        # more than one 'decided' event from the workers for one round.
        "decided_twice": "SELECT count(*) FROM enrollment_application a WHERE "
        "(SELECT count(*) FROM enrollment_decision d WHERE d.application_id = a.id "
        "AND d.basis = 'computed') > (SELECT count(*) FROM enrollment_verificationjob j "
        "WHERE j.application_id = a.id AND j.status = 'done') "
        "OR (SELECT count(*) FROM enrollment_applicationevent e WHERE e.application_id = a.id "
        "AND e.to_state = 'decided' AND e.actor_id IS NULL) > (SELECT count(*) FROM "
        "enrollment_verificationjob j WHERE j.application_id = a.id AND j.status = 'done')",
        "current_decisions": "SELECT count(*) FROM enrollment_decision WHERE is_current",
    }
    with connection.cursor() as cursor:
        result = {}
        for key, sql in queries.items():
            cursor.execute(sql)
            result[key] = cursor.fetchone()[0]
    return result


def wait_settled(timeout: float, poll: float = 0.5) -> tuple[dict, float]:
    """Wait until no verification job is open; returns the figures and the seconds waited."""
    started = time.monotonic()
    while True:
        current = figures()
        if current["open_jobs"] == 0 or time.monotonic() - started > timeout:
            return current, time.monotonic() - started
        time.sleep(poll)


def report(drill: str, **values) -> None:
    print(json.dumps({"drill": drill, **values}, ensure_ascii=False), flush=True)
