"""Drill: one submission sent twice (a phone retrying), at the same moment and again later.

Serves the product with gunicorn (production settings) and, for each of N parents, sends the
same application twice at once (two threads released by a barrier) and a third time after
both answered. Exactly one may be stored; the others must be refused as duplicates (HTTP 409,
code duplicate_application). Then the stored applications are verified and must each be
decided once. Prints one JSON line: stored, accepted (201), refused as duplicates, other
answers, lost (must be 0), duplicates stored (must be 0), decided twice (must be 0).

    python scripts/drills/duplicate_submission.py [--parents 100]
"""

import argparse
import json
import secrets
import signal
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import common


def post(url: str, parent: dict) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310 - loopback
        url,
        data=json.dumps(parent["payload"]).encode(),
        headers={
            "Content-Type": "application/json",
            "Cookie": f"sessionid={parent['session']}; csrftoken={parent['csrf']}",
            "X-CSRFToken": parent["csrf"],
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def signed_in_parents(pairs) -> list[dict]:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore

    from enrollment.models import IdentityVerification, Role, User
    from enrollment.services.identity import identity_bind

    parents = []
    for index, (child, mother) in enumerate(pairs):
        user = User.objects.create(
            username=f"drill-parent-{index}", role=Role.PARENT, password=make_password(None)
        )
        # Applying needs a verified identity; each parent is the mother it names.
        identity_bind(
            actor=user,
            id_number=mother,
            name="李美玲",
            method=IdentityVerification.Method.SMS_OTP,
        )
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        parents.append(
            {
                "session": store.session_key,
                "csrf": secrets.token_hex(16),
                "payload": {
                    "admission_year": common.YEAR,
                    "child": {"name": "陈小明", "id_number": child},
                    "guardians": [{"name": "李美玲", "id_number": mother, "relation": "mother"}],
                    "home_community_code": common.HOME,
                    "preferences": [common.SCHOOL],
                    "consent_given_by": mother,
                },
            }
        )
    return parents


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parents", type=int, default=100)
    parser.add_argument("--port", type=int, default=8796)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="drill-duplicate-"))
    env = common.stack_env(common.database_url("drill_duplicate"), common.broker_url(11))
    common.setup_django(env)
    import redis

    from enrollment.models import Application, VerificationJob
    from enrollment.services.verification import verification_run

    redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()  # the drill's own db number
    pairs = common.district(args.parents)
    parents = signed_in_parents(pairs)
    server = common.start(
        [
            common.PY,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            "2",
            "--threads",
            "2",
            "--worker-class",
            "gthread",
        ],
        env,
        workdir / "gunicorn.log",
    )
    url = f"http://127.0.0.1:{args.port}/api/v1/applications/"
    answers = Counter()
    per_child = Counter()
    started = time.monotonic()
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(  # noqa: S310 - loopback
                    f"http://127.0.0.1:{args.port}/api/v1/healthz/", timeout=2
                ).close()
                break
            except OSError:
                time.sleep(0.3)
        for parent in parents:
            barrier = threading.Barrier(2)
            results = []

            def send(parent=parent, barrier=barrier, results=results):
                barrier.wait()
                results.append(post(url, parent))

            threads = [threading.Thread(target=send) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            results.append(post(url, parent))  # the retry after both answered
            for status, body in results:
                key = (
                    "accepted"
                    if status == 201
                    else "refused_duplicate"
                    if status == 409 and body.get("code") == "duplicate_application"
                    else f"other_{status}"
                )
                answers[key] += 1
                if status == 201:
                    per_child[parent["payload"]["child"]["id_number"]] += 1
    finally:
        common.kill(server, signal.SIGTERM)
    elapsed = time.monotonic() - started
    stored = Application.objects.count()
    verification_run(job_ids=list(VerificationJob.objects.values_list("id", flat=True)))
    settled = common.figures()
    duplicates_stored = sum(1 for count in per_child.values() if count > 1) + (
        stored - len(per_child)
    )
    common.report(
        "duplicate_submission",
        parents=args.parents,
        requests=sum(answers.values()),
        answers=dict(answers),
        stored=stored,
        lost=args.parents - stored,
        duplicates_stored=duplicates_stored,
        decided=settled["decided"],
        decided_twice=settled["decided_twice"],
        seconds=round(elapsed, 1),
        ok=stored == args.parents
        and answers["accepted"] == args.parents
        and answers["refused_duplicate"] == 2 * args.parents
        and settled["decided_twice"] == 0,
    )
    return 0 if stored == args.parents and duplicates_stored == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
