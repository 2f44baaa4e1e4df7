"""Batch verification: 10,000 applications' questions against a registry of 1,000,000 people.

The registry: a `generate_district` district of 20,000 households (about 10,000 applications,
62,000 people with their property, rentals, permits and insurance), loaded with
`import_registry`'s service, then padded with other people up to 1,000,000 hukou rows (with
property, rentals, permits and insurance months of their own) by set-based SQL, so that every
table and index has the size of a real district's. Setup is untimed. The run uses its own
database (`bench_verification`, dropped, created and migrated).

Each question carries a consent token signed with the configured CONSENT_SIGNING_KEY (the
development key unless set), whose public half is registered for the asking client, as
enrollment's verification builds it.

Cases (one JSON line each):
- `consent_sign_10000`: signing the 10,000 questions' consent tokens, as enrollment does
  when it builds a batch's questions (timed on its own; no other case includes it).
- `consent_check_10000`: the registry's check of those tokens alone (`consents_check`: the
  client's keys, one Ed25519 verification per question), which `verify_families` runs
  first; `share` is its part of the warm `in_process` case.
- `in_process_cold_10000`: one `verify_families` call for all questions (the consent check,
  five reads, one audit append of 10,000 chained entries), as the in-process gateway makes
  it, right after the load, with the tables out of the caches.
- `in_process_10000`: the same call again, the registry's indexes in memory as they are
  once it serves lookups.
- `http_10000`: the same questions POSTed to /registry/api/v1/verify/families/ in requests
  of 1,000 through Django's test client (authentication, validation, JSON both ways; no
  network). `identical`
  says its answers equal the in-process ones (audit entry ids aside).
`cpu_seconds` is the measured process's own CPU time (PostgreSQL's is not in it): on a busy
machine it says more than the wall-clock `seconds`.

    python bench/verification.py              # 10,000 questions, 1,000,000 people
    python bench/verification.py --scale 0.1  # 1,000 questions, 100,000 people
"""

import argparse
import dataclasses
import json
import tempfile
import time
from datetime import date
from pathlib import Path

from _common import database_url, django_setup, emit, peak_rss_mb, recreate_database

# Questions per request: what a department client sends at a time (a request body stays
# under Django's 2.5 MB limit; enrollment's own batches are 500).
HTTP_BATCH = 1000


def pad_registry(people: int) -> None:
    """Other residents up to `people` hukou rows; numbers under address code 990000, which
    no real person has, so they never collide with the district's own."""
    from django.db import connection

    from registry.models import HukouRecord, ImportBatch

    have = HukouRecord.objects.count()
    extra = max(0, people - have)
    if not extra:
        settle_registry()
        return
    batch = ImportBatch.objects.create(
        source="hukou", as_of=date(2027, 3, 1), status="done", file_name="padding"
    )
    person = "'990000' || lpad(n::text, 12, '0')"
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO registry_hukourecord (id_number, name, sex, birth_date,"
            " hukou_district_code, community_code, address, registered_on, household_no,"
            " batch_id, as_of, updated_at)"
            f" SELECT {person}, '居民', 'M', date '1980-01-01' + (n %% 15000),"
            " CASE WHEN n %% 3 = 0 THEN '440604' WHEN n %% 3 = 1 THEN '440605' ELSE '445202' END,"
            " '440604' || lpad((10 + n %% 12)::text, 3, '0') || lpad((1 + n %% 9)::text, 3, '0'),"
            " '', date '2000-01-01' + (n %% 9000), 'P' || n, %s, '2027-03-01', now()"
            " FROM generate_series(1, %s) AS n",
            [batch.id, extra],
        )
        cursor.execute(
            "INSERT INTO registry_propertyrecord (certificate_no, owner_id_number, share_percent,"
            " community_code, address, registered_on, batch_id, as_of, updated_at)"
            f" SELECT 'PAD' || n, {person}, 100,"
            " '440604' || lpad((10 + n %% 12)::text, 3, '0') || lpad((1 + n %% 9)::text, 3, '0'),"
            " '', date '2010-01-01', %s, '2027-03-01', now()"
            " FROM generate_series(1, %s, 3) AS n",
            [batch.id, extra],
        )
        cursor.execute(
            "INSERT INTO registry_rentalrecord (registration_no, tenant_id_number, community_code,"
            " address, start_date, end_date, batch_id, as_of, updated_at)"
            f" SELECT 'PADZL' || n, {person},"
            " '440604' || lpad((10 + n %% 12)::text, 3, '0') || lpad((1 + n %% 9)::text, 3, '0'),"
            " '', date '2026-06-01', date '2027-06-01', %s, '2027-03-01', now()"
            " FROM generate_series(2, %s, 7) AS n",
            [batch.id, extra],
        )
        cursor.execute(
            "INSERT INTO registry_residencepermitrecord (permit_no, id_number, district_code,"
            " issued_on, expires_on, batch_id, as_of, updated_at)"
            f" SELECT 'PADJZZ' || n, {person}, '440604', date '2024-01-01', date '2029-01-01',"
            " %s, '2027-03-01', now() FROM generate_series(2, %s, 10) AS n",
            [batch.id, extra],
        )
        cursor.execute(
            "INSERT INTO registry_socialinsurancerecord (id_number, month, pension, medical,"
            " employer_name, batch_id, as_of, updated_at)"
            f" SELECT {person}, date '2025-04-01' + make_interval(months => m), true, true, '',"
            " %s, '2027-03-01', now()"
            " FROM generate_series(2, %s, 20) AS n, generate_series(0, 23) AS m",
            [batch.id, extra],
        )
    settle_registry()


def settle_registry() -> None:
    """VACUUM ANALYZE, as autovacuum would after a load: the first reads of freshly written
    rows otherwise pay for setting their hint bits, a one-off cost that is not verification's."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def questions_from(path: Path):
    """The applications' questions, without consent tokens yet."""
    from registry.contract import FamilyQuestion

    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        application = json.loads(line)
        questions.append(
            FamilyQuestion(
                key=application["ref"],
                consent_reference=f"consent-{application['ref']}",
                end_user="counter",
                child_id_number=application["child"]["id_number"],
                guardian_id_numbers=tuple(g["id_number"] for g in application["guardians"]),
                home_community_code=application["home_community_code"],
                cutoff=date(2027, 3, 31),
                district_code="440604",
                city_code="4406",
            )
        )
    return questions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--database", default="bench_verification")
    args = parser.parse_args()
    url = database_url(args.database)
    recreate_database(url)
    django_setup(url, migrate=True)

    from rest_framework.test import APIClient

    from enrollment.consent_tokens import consent_public_key, consent_token_sign
    from registry.contract import LookupContext, to_json
    from registry.demo.district import generate_district
    from registry.feeds.specs import FEEDS
    from registry.loading.imports import registry_import_file
    from registry.models import HukouRecord
    from registry.services.clients import department_client_create
    from registry.services.consents import consents_check
    from registry.services.verification import verify_families

    people = int(1_000_000 * args.scale)
    with tempfile.TemporaryDirectory(prefix="bench-verification-") as name:
        folder = Path(name)
        generate_district(
            households=max(200, int(20_000 * args.scale)), seed=2027, year=2027, out=folder
        )
        for feed in FEEDS:
            registry_import_file(source=feed, path=folder / f"{feed}.csv")
        questions = questions_from(folder / "applications.jsonl")
    questions = questions[: max(100, int(10_000 * args.scale))]
    pad_registry(people)
    people = HukouRecord.objects.count()
    context = LookupContext(client_id="edu-440604", purpose="enrollment-2027")
    _, key = department_client_create(
        client_id="edu-440604",
        name="教育局",
        scopes=["verify"],
        consent_public_key=consent_public_key(),
    )

    started, cpu_started = time.perf_counter(), time.process_time()
    questions = [
        dataclasses.replace(
            q,
            consent_token=consent_token_sign(
                consent_reference=q.consent_reference,
                child_id_number=q.child_id_number,
                guardian_id_numbers=q.guardian_id_numbers,
                purpose=context.purpose,
                client_id=context.client_id,
            ),
        )
        for q in questions
    ]
    emit(
        bench="verification",
        case=f"consent_sign_{len(questions)}",
        n=len(questions),
        seconds=round(time.perf_counter() - started, 3),
        cpu_seconds=round(time.process_time() - cpu_started, 3),
    )
    verify_families(questions=questions[:10], context=context)  # warm connection and caches
    started, cpu_started = time.perf_counter(), time.process_time()
    consents_check(questions=questions, context=context)
    check_seconds = time.perf_counter() - started
    check_cpu_seconds = time.process_time() - cpu_started

    # Twice: the first call reads the tables from disk (the loads above pushed them out of
    # the caches); the second is the registry as it runs all day, its indexes in memory.
    for case in ("in_process_cold", "in_process"):
        started, cpu_started = time.perf_counter(), time.process_time()
        answers = verify_families(questions=questions, context=context)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        emit(
            bench="verification",
            case=f"{case}_{len(questions)}",
            n=len(answers),
            seconds=round(seconds, 3),
            cpu_seconds=round(cpu_seconds, 3),
            people=people,
            with_hukou=sum(1 for a in answers if a.child_hukou),
            peak_rss_mb=peak_rss_mb(),
        )
    emit(
        bench="verification",
        case=f"consent_check_{len(questions)}",
        n=len(questions),
        seconds=round(check_seconds, 3),
        cpu_seconds=round(check_cpu_seconds, 3),
        share=round(check_seconds / seconds, 3),
    )

    api = APIClient(HTTP_HOST="127.0.0.1")
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    headers = {"HTTP_X_ROAD_CLIENT": "edu-440604", "HTTP_X_ROAD_PURPOSE": "enrollment-2027"}
    warm = {"questions": [to_json(q) for q in questions[:10]]}
    api.post("/registry/api/v1/verify/families/", warm, format="json", **headers)
    started, cpu_started = time.perf_counter(), time.process_time()
    over_http, statuses = [], set()
    for start in range(0, len(questions), HTTP_BATCH):
        body = {"questions": [to_json(q) for q in questions[start : start + HTTP_BATCH]]}
        response = api.post("/registry/api/v1/verify/families/", body, format="json", **headers)
        statuses.add(response.status_code)
        over_http.extend(response.json()["answers"] if response.status_code == 200 else [])
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started

    def without_ids(rows):
        return [{**row, "audit_entry_id": None} for row in rows]

    emit(
        bench="verification",
        case=f"http_{len(questions)}",
        n=len(over_http),
        seconds=round(seconds, 3),
        cpu_seconds=round(cpu_seconds, 3),
        people=people,
        batch=HTTP_BATCH,
        status=sorted(statuses),
        identical=without_ids(over_http) == without_ids(to_json(answers)),
        peak_rss_mb=peak_rss_mb(),
    )


if __name__ == "__main__":
    main()
