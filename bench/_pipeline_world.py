"""The pipeline benchmark's city: registry people, schools and families written straight into the database with COPY, so that building a million-person registry takes seconds."""

import random
from datetime import UTC, date, datetime, timedelta

YEAR = 2027


CUTOFF = date(2027, 3, 31)


DISTRICT = "440604"


CITY = "4406"


STREETS, PER_STREET = 10, 20  # 200 communities


SCHOOLS = 40


def community(index: int) -> str:
    return f"{DISTRICT}{index // PER_STREET + 1:03d}{index % PER_STREET + 1:03d}"


def _copy(cursor, table: str, columns: list[str], rows) -> int:
    count = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def build_world(applications: int, people: int, seed: int) -> list[dict]:
    """The registry and the enrollment reference data; returns the families that apply."""
    from django.db import connection

    from enrollment.models import Community, School
    from enrollment.services.policies import policy_install_default
    from registry import idnumber
    from registry.models import ImportBatch

    rng = random.Random(seed)
    policy_install_default(admission_year=YEAR)
    codes = [community(i) for i in range(STREETS * PER_STREET)]
    Community.objects.bulk_create(Community(code=c, district_code=DISTRICT) for c in codes)
    per_school = len(codes) // SCHOOLS
    School.objects.bulk_create(
        School(
            code=f"S{DISTRICT}{i + 1:03d}",
            admission_year=YEAR,
            name=f"第{i + 1}小学",
            district_code=DISTRICT,
            kind="public",
            capacity=applications // SCHOOLS,
            catchment_communities=codes[i * per_school : (i + 1) * per_school],
        )
        for i in range(SCHOOLS)
    )
    batches = {
        source: ImportBatch.objects.create(source=source, as_of=date(2027, 3, 1), status="done")
        for source in ("hukou", "property", "rental", "social_insurance", "residence_permit")
    }
    as_of = date(2027, 3, 1)
    born_from = date(2019, 9, 1)

    families, hukou, properties, rentals, si, permits = [], [], [], [], [], []
    for i in range(applications):
        child = idnumber.make(DISTRICT, born_from + timedelta(days=i // 999 % 730), i % 999 + 1)
        mother = idnumber.make(DISTRICT, date(1980, 1, 1) + timedelta(days=i // 999), i % 999 + 1)
        father = idnumber.make(DISTRICT, date(1978, 1, 1) + timedelta(days=i // 999), i % 999 + 1)
        guardians = [mother, father] if rng.random() < 0.7 else [mother]
        home_index = rng.randrange(len(codes))
        home = codes[home_index]
        draw = rng.random()
        hukou_class = "D" if draw < 0.5 else "C" if draw < 0.7 else "N"
        district = {"D": DISTRICT, "C": "440605", "N": "445202"}[hukou_class]
        if rng.random() < 0.98:
            registered = date(2015, 1, 1) + timedelta(days=rng.randrange(4400))
            hukou.append((child, "孩子", "M", idnumber.birth_date_of(child), district, home,
                          "", registered, f"H{i}"))  # fmt: skip
        # The parents' hukou in the child's household: the registry looks up the facts of
        # related guardians only (DOMAIN.md "Guardianship"). No draw from `rng`, so every
        # family's other facts stay what the seed made them.
        for parent, sex in zip(guardians, "FM", strict=False):
            hukou.append((parent, "家长", sex, idnumber.birth_date_of(parent), district, home,
                          "", date(2015, 1, 1), f"H{i}"))  # fmt: skip
        housing = rng.random()
        if housing < 0.55:
            certificate = f"P{i}"
            if len(guardians) == 2 and rng.random() < 0.4:
                share = "50" if rng.random() < 0.85 else "20"
                for owner in guardians:
                    properties.append((certificate, owner, share, home, "", date(2015, 5, 1)))
            else:
                properties.append((certificate, mother, "100", home, "", date(2015, 5, 1)))
        elif housing < 0.9:
            rentals.append((f"R{i}", guardians[-1], home, "", date(2026, 9, 1), date(2027, 8, 31)))
            if rng.random() < 0.1:
                elsewhere = codes[(home_index + 1) % len(codes)]
                properties.append((f"E{i}", mother, "100", elsewhere, "", date(2012, 1, 1)))
        if hukou_class == "N":
            if rng.random() < 0.85:
                issued = date(2020, 1, 1) + timedelta(days=rng.randrange(2550))
                permits.append((f"J{i}", mother, DISTRICT, issued, issued + timedelta(days=1826)))
            months = rng.randrange(49)
            start = (CUTOFF.year * 12 + CUTOFF.month - 1) - months + 1
            for m in range(start, start + months):
                si.append((mother, date(m // 12, m % 12 + 1, 1), True, rng.random() < 0.97))
        families.append(
            {"ref": f"A{i:07d}", "child": child, "guardians": guardians, "home": home,
             "preferences": [f"S{DISTRICT}{home_index // per_school + 1:03d}",
                             f"S{DISTRICT}{(home_index // per_school + 1) % SCHOOLS + 1:03d}"]}
        )  # fmt: skip
    # Other residents, to a registry of `people` people in all.
    others = max(people - len(hukou), 0)
    for k in range(others):
        person = idnumber.make(DISTRICT, date(1940, 1, 1) + timedelta(days=k // 999), k % 999 + 1)
        hukou.append((person, "居民", "F", idnumber.birth_date_of(person), DISTRICT,
                      codes[k % len(codes)], "", date(2000, 1, 1), f"O{k}"))  # fmt: skip

    now = datetime.now(UTC)

    def stamped(rows, source):
        batch = batches[source]
        return ((batch.pk, as_of, now, *row) for row in rows)

    with connection.cursor() as cursor:
        raw = cursor.cursor
        _copy(raw, "registry_hukourecord",
              ["batch_id", "as_of", "updated_at", "id_number", "name", "sex", "birth_date",
               "hukou_district_code", "community_code", "address", "registered_on",
               "household_no"], stamped(hukou, "hukou"))  # fmt: skip
        _copy(raw, "registry_propertyrecord",
              ["batch_id", "as_of", "updated_at", "certificate_no", "owner_id_number",
               "share_percent", "community_code", "address", "registered_on"],
              stamped(properties, "property"))  # fmt: skip
        _copy(raw, "registry_rentalrecord",
              ["batch_id", "as_of", "updated_at", "registration_no", "tenant_id_number",
               "community_code", "address", "start_date", "end_date"],
              stamped(rentals, "rental"))  # fmt: skip
        _copy(raw, "registry_socialinsurancerecord",
              ["batch_id", "as_of", "updated_at", "id_number", "month", "pension", "medical",
               "employer_name"], (r + ("",) for r in stamped(si, "social_insurance")))  # fmt: skip
        _copy(raw, "registry_residencepermitrecord",
              ["batch_id", "as_of", "updated_at", "permit_no", "id_number", "district_code",
               "issued_on", "expires_on"], stamped(permits, "residence_permit"))  # fmt: skip
        cursor.execute("ANALYZE")
    return families, {"hukou": len(hukou), "property": len(properties),
                      "rental": len(rentals), "social_insurance": len(si),
                      "residence_permit": len(permits)}  # fmt: skip
