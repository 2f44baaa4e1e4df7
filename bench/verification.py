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

Every case runs `--rounds` times (5 by default), alternating with its baseline where it has
one; `seconds`, `cpu_seconds` and the baseline's are medians, `seconds_each` every round,
`load_average_start` the one-minute load when the case began. `cpu_seconds` is the measuring
process's own CPU time (PostgreSQL's is not in it). `peak_rss_mb` is this process's peak so
far, which also holds every round's answers and the sample's feed rows: an upper bound, not
the call's own footprint.

The answers are checked against facts worked out from the feed files themselves
(`_verification_facts.py`: the CSV files read with the csv module, DOMAIN.md's rules applied
to them, never the product's import or lookup code) for a seeded sample of `--sample`
questions (2,000 by default): the child's hukou class, district, registration date and
household, the related guardians, the owned share and certificate, the rental, ownership
elsewhere, the insured months with their guardian, window and latest month, and the permit.
`checked` is the sample's size, `mismatched` the sampled questions with any fact wrong (the
worst round), `mismatched_fields` which facts; `identical` is true when none is wrong (and,
where there is a baseline, when the baseline's facts agree for every question).

Cases (one JSON line each):
- `consent_sign_N`: signing the N questions' consent tokens, as enrollment does when it
  builds a batch's questions. No baseline.
- `consent_check_N`: the registry's check of those tokens alone (`consents_check`: the
  client's keys, one Ed25519 verification per question), which `verify_families` runs first;
  `share` is its part of the warm `in_process` case. No baseline.
- `first_call_new_connection_N`: one `verify_families` call for all questions (the consent
  check, five reads, one audit append of N chained entries), as the first call of a new
  session: before every round (untimed) the database connection is closed and opened again
  and `DISCARD ALL` run on it, and the process's own caches (the client's public keys, the
  keyed audit digest) are emptied. It is not a cold start: PostgreSQL's shared buffers and the
  operating system's page cache are not emptied (on a shared server neither can be, honestly:
  no restart, no dropping of the page cache), so the tables may be in memory from the load or
  an earlier round. What it measures is a fresh backend (its catalogue caches and plans) and a
  fresh process-side state. Baseline: the same facts as one set-based SQL statement
  (`_verification_sql.py`) through a psycopg connection that is likewise opened anew.
- `in_process_N`: the same call on a warm connection, as a registry serving lookups all day
  runs it. Baseline: the same statement on a warm psycopg connection. `baseline_mismatched`:
  questions whose answer and the statement's row differ in the shared facts (every question).
- `http_N`: the same questions POSTed to /registry/api/v1/verify/families/ in requests of
  1,000 through Django's test client (authentication, validation, JSON both ways; no
  network). `same_as_in_process`: its answers equal the in-process ones (audit entry ids
  aside). No baseline.

    python bench/verification.py              # 10,000 questions, 1,000,000 people
    python bench/verification.py --scale 0.1  # 1,000 questions, 100,000 people
    python bench/verification.py --rounds 5 --sample 2000 --database bench_verification
"""

import argparse
import dataclasses
import json
import random
import tempfile
from datetime import date
from pathlib import Path

from _common import alternate, database_url, django_setup, emit, peak_rss_mb, recreate_database
from _verification_facts import Feeds, check, paths
from _verification_sql import disagreements, lookup, parameters

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


def checked_fields(checks: list[dict]) -> dict:
    worst = max(checks, key=lambda c: c["mismatched"])
    return {
        "checked": worst["checked"],
        "mismatched": worst["mismatched"],
        "mismatched_fields": worst["fields"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--database", default="bench_verification")
    args = parser.parse_args()
    url = database_url(args.database)
    recreate_database(url)
    django_setup(url, migrate=True)

    import psycopg
    from django.db import connection
    from rest_framework.test import APIClient

    from enrollment.consent_tokens import consent_public_key, consent_token_sign
    from registry.consent import public_key_load
    from registry.contract import FamilyAnswer, LookupContext, from_json, to_json
    from registry.demo.district import generate_district
    from registry.feeds.specs import FEEDS
    from registry.loading.imports import registry_import_file
    from registry.models import HukouRecord
    from registry.services.audit import _keyed_hmac
    from registry.services.clients import department_client_create
    from registry.services.consents import consents_check
    from registry.services.verification import verify_families

    people = int(1_000_000 * args.scale)
    with tempfile.TemporaryDirectory(prefix="bench-verification-") as name:
        folder = Path(name)
        generate_district(
            households=max(200, int(20_000 * args.scale)), seed=args.seed, year=2027, out=folder
        )
        for feed in FEEDS:
            registry_import_file(source=feed, path=folder / f"{feed}.csv")
        questions = questions_from(folder / "applications.jsonl")
        questions = questions[: max(100, int(10_000 * args.scale))]
        sample = sorted(
            random.Random(args.seed).sample(range(len(questions)), min(args.sample, len(questions)))
        )
        feeds = Feeds(folder, [questions[index] for index in sample])
    sample_paths = paths(questions, sample, feeds)
    pad_registry(people)
    people = HukouRecord.objects.count()
    context = LookupContext(client_id="edu-440604", purpose="enrollment-2027")
    _, key = department_client_create(
        client_id="edu-440604",
        name="教育局",
        scopes=["verify"],
        consent_public_key=consent_public_key(),
    )
    n = len(questions)

    def signed():
        return [
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

    alternation = alternate(signed, rounds=args.rounds)
    emit(bench="verification", case=f"consent_sign_{n}", n=n, **alternation.fields(digits=3))
    questions = alternation.ours[-1].result

    def verify():
        return verify_families(questions=questions, context=context)

    verify_families(questions=questions[:10], context=context)  # warm connection and caches
    check_alternation = alternate(
        lambda: consents_check(questions=questions, context=context), rounds=args.rounds
    )

    params = parameters(questions)
    side = {"conn": psycopg.connect(url, autocommit=True)}

    def baseline():
        return lookup(side["conn"], params)

    def new_sessions():
        """Untimed, before every round of the first-call case: new connections on both
        sides, DISCARD ALL on each, and the process's caches emptied."""
        connection.close()
        public_key_load.cache_clear()
        _keyed_hmac.cache_clear()
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("DISCARD ALL")
        side["conn"].close()
        side["conn"] = psycopg.connect(url, autocommit=True)
        side["conn"].execute("DISCARD ALL")

    answers = None
    for case, before_each in (("first_call_new_connection", new_sessions), ("in_process", None)):
        if before_each is None:
            verify(), baseline()  # warm both sides
        alternation = alternate(verify, baseline, rounds=args.rounds, before_each=before_each)
        checks = [check(run.result, questions, sample, feeds) for run in alternation.ours]
        baseline_mismatched = max(
            disagreements(ours.result, theirs.result, questions)
            for ours, theirs in zip(alternation.ours, alternation.baseline, strict=True)
        )
        answers = alternation.ours[-1].result
        fields = checked_fields(checks)
        emit(bench="verification", case=f"{case}_{n}", n=len(answers), people=people,
             baseline="the same facts as one set-based SQL statement, psycopg",
             baseline_mismatched=baseline_mismatched, **fields, sample_paths=sample_paths,
             identical=fields["mismatched"] == 0 and baseline_mismatched == 0,
             with_hukou=sum(1 for a in answers if a.child_hukou), peak_rss_mb=peak_rss_mb(),
             **alternation.fields(digits=3))  # fmt: skip
    in_process_seconds = alternation.fields()["seconds"]
    side["conn"].close()
    emit(bench="verification", case=f"consent_check_{n}", n=n,
         share=round(check_alternation.fields()["seconds"] / in_process_seconds, 3),
         **check_alternation.fields(digits=3))  # fmt: skip

    api = APIClient(HTTP_HOST="127.0.0.1")
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    headers = {"HTTP_X_ROAD_CLIENT": "edu-440604", "HTTP_X_ROAD_PURPOSE": "enrollment-2027"}
    bodies = [
        {"questions": [to_json(q) for q in questions[start : start + HTTP_BATCH]]}
        for start in range(0, n, HTTP_BATCH)
    ]
    statuses = set()

    def over_http():
        answered = []
        for body in bodies:
            response = api.post("/registry/api/v1/verify/families/", body, format="json", **headers)
            statuses.add(response.status_code)
            answered.extend(response.json()["answers"] if response.status_code == 200 else [])
        return answered

    warm = {"questions": [to_json(q) for q in questions[:10]]}
    api.post("/registry/api/v1/verify/families/", warm, format="json", **headers)
    alternation = alternate(over_http, rounds=args.rounds)

    def without_ids(rows):
        return [{**row, "audit_entry_id": None} for row in rows]

    in_process = without_ids(to_json(answers))
    same = all(without_ids(run.result) == in_process for run in alternation.ours)
    checks = []
    for run in alternation.ours:
        parsed = [None] * len(run.result)
        for index in sample:
            if index < len(run.result):
                parsed[index] = from_json(FamilyAnswer, run.result[index])
        checks.append(check(parsed, questions, sample, feeds))
    fields = checked_fields(checks)
    emit(bench="verification", case=f"http_{n}", n=len(alternation.ours[-1].result),
         people=people, batch=HTTP_BATCH, status=sorted(statuses), same_as_in_process=same,
         **fields, identical=same and fields["mismatched"] == 0, peak_rss_mb=peak_rss_mb(),
         **alternation.fields(digits=3))  # fmt: skip


if __name__ == "__main__":
    main()
