"""The surge's data: a synthetic district from `generate_district` loaded through the product's
own commands, and one signed-in parent account for each of its applications.

The district's `applications.jsonl` (INTERCHANGE.md) becomes the API's submission payloads as
they are: one or two guardians, one to three schools, every community of the district, and
whatever housing the registry gives each family (owned, shared, rented, none). Each parent is
the guardian who gave consent; its account has verified that identity, and its session is
where signing in puts it. Every parent submits once, so every 201 is one new application.
"""

import collections
import json
import math
import secrets
import shutil
from pathlib import Path

YEAR = 2027

# Requests sent before measuring, so that every gunicorn worker has imported its views and
# opened its database and broker connections (the first request of a worker takes ~1 s).
WARM_UP = 160

# Applications per household in generate_district's output (about 0.49): the first guess of
# how many households give the applications a run needs; a short district is made again.
APPLICATIONS_PER_HOUSEHOLD = 0.45


def district(folder: Path, applications: int, seed: int) -> list[dict]:
    """Generate a district with at least `applications` applications of distinct applying
    parents; returns them (the registry, schools and communities stay in `folder`)."""
    from registry.demo.district import generate_district

    households = max(200, math.ceil(applications / APPLICATIONS_PER_HOUSEHOLD))
    while True:
        generate_district(households=households, seed=seed, year=YEAR, out=folder)
        usable, parents = [], set()
        with (folder / "applications.jsonl").open(encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                # One account per identity: a guardian who consents for two children applies
                # with the first only.
                if record["consent"]["given_by"] not in parents:
                    parents.add(record["consent"]["given_by"])
                    usable.append(record)
        if len(usable) >= applications:
            return usable[:applications]
        households = math.ceil(households * applications / max(len(usable), 1) * 1.05)


def payload(record: dict) -> dict:
    """An applications.jsonl record as the parent's own submission (POST /api/v1/applications/)."""
    return {
        "admission_year": record["admission_year"],
        "grade": record.get("grade", "primary1"),
        "child": {"name": record["child"]["name"], "id_number": record["child"]["id_number"]},
        "guardians": [
            {"name": g["name"], "id_number": g["id_number"], "relation": g["relation"]}
            for g in record["guardians"]
        ],
        "home_community_code": record["home_community_code"],
        "home_address": record.get("home_address", ""),
        "preferences": list(record["preferences"]),
        "consent_given_by": record["consent"]["given_by"],
    }


def mix(parents: list[dict]) -> dict:
    """What the submissions are made of: guardians and schools per application, communities."""
    guardians = collections.Counter(len(p["payload"]["guardians"]) for p in parents)
    schools = collections.Counter(len(p["payload"]["preferences"]) for p in parents)
    return {
        "guardians": {str(k): v for k, v in sorted(guardians.items())},
        "schools": {str(k): v for k, v in sorted(schools.items())},
        "communities": len({p["payload"]["home_community_code"] for p in parents}),
    }


def load_world(folder: Path) -> None:
    """The registry feeds, communities and schools through the product's own commands; the
    default points policy; the bureau's registry client with this run's consent key."""
    from django.conf import settings
    from django.core.management import call_command

    from enrollment.consent_tokens import consent_public_key
    from enrollment.services.policies import policy_install_default
    from registry.services.clients import department_client_create

    # Their reports go to a log of their own: this run's output is its JSON lines.
    with (folder.parent / "import.log").open("w") as log:
        call_command("import_registry", str(folder), stdout=log)
        call_command("import_communities", str(folder / "communities.csv"), stdout=log)
        call_command("import_schools", str(folder / "schools.csv"), year=YEAR, stdout=log)
    policy_install_default(admission_year=YEAR)
    # The registry checks each question's consent token with the bureau's registered key.
    department_client_create(
        client_id=settings.REGISTRY_CLIENT_ID,
        name="教育局招生系统",
        scopes=["verify"],
        consent_public_key=consent_public_key(),
    )


def accounts(records: list[dict]) -> list[dict]:
    """A parent account and a signed-in session for each record: [{session, csrf, payload}].

    Accounts are created with an unusable password: the parents sign in by session, which is
    what a phone holds after the one login of the day. The sessions are in the database, and
    with `CACHE_URL` in the cache too (Django's `cached_db` store).
    """
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends import cached_db
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.core.cache import caches

    from enrollment.models import Role, User

    unusable = make_password(None)
    User.objects.bulk_create(
        (
            User(
                username=f"surge-parent-{index}",
                role=Role.PARENT,
                password=unusable,
                verified_id_number=record["consent"]["given_by"],
            )
            for index, record in enumerate(records)
        ),
        batch_size=2000,
    )
    by_identity = {
        user.verified_id_number: user
        for user in User.objects.filter(username__startswith="surge-parent-").only(
            "id", "password", "verified_id_number"
        )
    }
    store = SessionStore()
    expiry = store.get_expiry_date()
    backend = settings.AUTHENTICATION_BACKENDS[-1]
    cached_sessions = settings.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"
    sessions, cached, parents = [], {}, []
    for record in records:
        user = by_identity[record["consent"]["given_by"]]
        key = secrets.token_hex(16)
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: backend,
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        sessions.append(
            Session(session_key=key, session_data=store.encode(data), expire_date=expiry)
        )
        cached[cached_db.KEY_PREFIX + key] = data
        parents.append({"session": key, "csrf": secrets.token_hex(16), "payload": payload(record)})
    Session.objects.bulk_create(sessions, batch_size=2000)
    if cached_sessions:
        # What Django's cached_db store keeps after a sign-in (same key, same expiry).
        cache = caches["default"]
        items = list(cached.items())
        for start in range(0, len(items), 2000):
            cache.set_many(dict(items[start : start + 2000]), store.get_expiry_age())
    return parents


def prepare(workdir: Path, count: int, seed: int) -> dict:
    """The district, its registry and schools, and `count` parents plus the warm-up's.

    Returns the parents, `warm` (the warm-up's) and `pool` (the phases take consecutive,
    never overlapping slices of it), and what the district and the pool are made of.
    """
    import django

    django.setup()
    folder = workdir / "district"
    records = district(folder, count + WARM_UP, seed)
    load_world(folder)
    with (folder / "communities.csv").open(encoding="utf-8") as handle:
        communities = sum(1 for _ in handle) - 1
    # The feeds are in the database now; a full run's are a couple of hundred megabytes.
    shutil.rmtree(folder)
    parents = accounts(records)
    pool = parents[WARM_UP:]
    return {
        "warm": parents[:WARM_UP],
        "pool": pool,
        "district_communities": communities,
        "mix": mix(pool),
    }
