"""The surge's data: the registry families and parents it prepares before the load, through the product's own services."""

import json
import secrets
from datetime import date, timedelta

YEAR = 2027

# Requests sent before measuring, so that every gunicorn worker has imported its views and
# opened its database and broker connections (the first request of a worker takes ~1 s).
WARM_UP = 160


HOME = "440604010003"


SCHOOL = "S440604001"


def population(count: int) -> list[tuple[str, str]]:
    """(child, mother) ID number pairs: children born in the 2027 window, all distinct."""
    from registry.idnumber import make

    pairs = []
    day = date(2019, 9, 1)
    sequence = 1
    for index in range(count):
        child = make("440604", day, sequence)
        mother = make("440604", date(1985, 1, 1) + timedelta(days=index // 900), index % 900 + 1)
        pairs.append((child, mother))
        sequence += 1
        if sequence > 999:
            sequence, day = 1, day + timedelta(days=1)
    return pairs


def prepare(groups: list[dict], per_group: int) -> None:
    """Registry facts, the district, parent accounts and their sessions; the plans for locust.

    Each group ({"plan": path, "warm": path, "ways": (...)}) gets parents of its own. Their
    sessions are where signing in puts them: in the database, and with `CACHE_URL` in the
    cache too (Django's `cached_db` store).
    """
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends import cached_db
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.core.cache import caches

    from enrollment.consent_tokens import consent_public_key
    from enrollment.models import Community, Role, School, User
    from enrollment.services.policies import policy_install_default
    from registry.models import HukouRecord, ImportBatch, PropertyRecord, Source
    from registry.services.clients import department_client_create

    count = len(groups) * (per_group + WARM_UP)
    policy_install_default(admission_year=YEAR)
    # The registry checks each question's consent token with the bureau's registered key.
    department_client_create(
        client_id=settings.REGISTRY_CLIENT_ID,
        name="教育局招生系统",
        scopes=["verify"],
        consent_public_key=consent_public_key(),
    )
    Community.objects.create(code=HOME, district_code="440604", name="示范社区")
    School.objects.create(
        code=SCHOOL,
        admission_year=YEAR,
        name="示范小学",
        district_code="440604",
        kind=School.Kind.PUBLIC,
        capacity=3000,
        catchment_communities=[HOME],
    )
    pairs = population(count)
    hukou = ImportBatch.objects.create(
        source=Source.HUKOU, as_of=date(2027, 3, 1), status=ImportBatch.Status.DONE
    )
    housing = ImportBatch.objects.create(
        source=Source.PROPERTY, as_of=date(2027, 3, 1), status=ImportBatch.Status.DONE
    )
    # The mother's hukou in her child's household: the registry looks up the facts of related
    # guardians only (DOMAIN.md "Guardianship"), so her flat counts and the family is decided.
    HukouRecord.objects.bulk_create(
        (
            HukouRecord(
                batch=hukou,
                as_of=hukou.as_of,
                id_number=person,
                name=name,
                sex=sex,
                birth_date=date(int(person[6:10]), int(person[10:12]), int(person[12:14])),
                hukou_district_code="440604",
                community_code=HOME,
                registered_on=date(2020, 6, 1),
                household_no=f"S{index:07d}",
            )
            for index, (child, mother) in enumerate(pairs)
            for person, name, sex in ((child, "儿童", "M"), (mother, "李美玲", "F"))
        ),
        batch_size=2000,
    )
    PropertyRecord.objects.bulk_create(
        (
            PropertyRecord(
                batch=housing,
                as_of=housing.as_of,
                certificate_no=f"粤2020佛禅不动产权第{index:07d}号",
                owner_id_number=mother,
                share_percent=100,
                community_code=HOME,
                registered_on=date(2019, 1, 1),
            )
            for index, (_, mother) in enumerate(pairs)
        ),
        batch_size=2000,
    )
    # Accounts are created with an unusable password: the parents sign in by session, which
    # is what a phone holds after the one login of the day. Each has verified its identity
    # (enrollment.services.identity) as the mother it names, as applying requires.
    User.objects.bulk_create(
        (
            User(
                username=f"surge-parent-{index}",
                role=Role.PARENT,
                password=make_password(None),
                verified_id_number=mother,
            )
            for index, (_, mother) in enumerate(pairs)
        ),
        batch_size=2000,
    )
    users = list(
        User.objects.filter(username__startswith="surge-parent-")
        .order_by("id")
        .only("id", "password")
    )
    store = SessionStore()
    expiry = store.get_expiry_date()
    backend = settings.AUTHENTICATION_BACKENDS[-1]
    cached_sessions = settings.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"
    cache = caches["default"] if cached_sessions else None
    sessions = []
    people = list(zip(users, pairs, strict=True))
    for number, group in enumerate(groups):
        cached = {}
        parents = []
        share = people[number * (per_group + WARM_UP) : (number + 1) * (per_group + WARM_UP)]
        for user, (child, mother) in share:
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
            parents.append(
                {
                    "session": key,
                    "csrf": secrets.token_hex(16),
                    "payload": {
                        "admission_year": YEAR,
                        "child": {"name": "陈小明", "id_number": child},
                        "guardians": [
                            {"name": "李美玲", "id_number": mother, "relation": "mother"}
                        ],
                        "home_community_code": HOME,
                        "preferences": [SCHOOL],
                        "consent_given_by": mother,
                    },
                }
            )
        if cache is not None:
            # What Django's cached_db store keeps after a sign-in (same key, same expiry).
            cache.set_many(cached, store.get_expiry_age())
        group["plan"].write_text(json.dumps({"parents": parents[:-WARM_UP]}))
        group["warm"].write_text(json.dumps({"parents": parents[-WARM_UP:]}))
    Session.objects.bulk_create(sessions, batch_size=2000)
