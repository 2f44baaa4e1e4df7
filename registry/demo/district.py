"""A synthetic, realistic district for demos, tests and benchmarks (`generate_district`).

Plain Python, no database. Everything random comes from one `random.Random(seed)` and is
drawn in a fixed order, so the same seed, size and year give byte-identical files. Names come
from pools built once (surnames by frequency, given-name characters) rather than from Faker
per row, which keeps 100,000 households well under a minute.

What a district holds (DOMAIN.md's facts, as of the cut-off C = 31 March of the year):
- families of the home district (hukou 440604), of the rest of Foshan (440605..440608) and
  migrants (hukou outside the city) living in the home district's communities;
- families that own (alone, jointly, or with relatives holding the rest), rent (registered,
  covering C) or live with relatives; some renters also own elsewhere in the city;
- migrants with residence permits and social-insurance histories (with gaps);
- a few percent of deliberate flaws, so that every decision path appears: a child with no
  hukou row, an expired or too-recent permit, a rental ending before C, an owned share under
  50 %, too few insured months;
- a few families where a named adult's hukou is in another household than the child's (a
  separated parent): beside a parent who shares the child's household their facts do not
  count, and as the only named adult they leave the relation to be shown by evidence.
- young families whose children start school in the years ahead, fewer each year
  (younger.py), and the communities' names and outlines (shapes.py).
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from registry.demo.department_forms import write_department_forms
from registry.demo.places import (
    CITY_DISTRICTS,
    COMMUNITY_NAMES,
    DISTRICT_NAMES,
    EMPLOYERS,
    GIVEN_CHARACTERS,
    HOME_DISTRICT,
    OUTSIDE_DISTRICTS,
    ROADS,
    STREET_NAMES,
    SURNAMES,
)
from registry.demo.shapes import write_communities
from registry.demo.younger import write_younger_children
from registry.feeds.specs import FEEDS
from registry.idnumber import make


@dataclass
class DistrictSummary:
    households: int = 0
    people: int = 0
    applications: int = 0
    schools: int = 0
    rows: dict[str, int] = field(default_factory=dict)


class _Writers:
    def __init__(self, out: Path):
        self.files = {}
        self.writers = {}
        self.counts: dict[str, int] = defaultdict(int)
        # Hukou rows by (community, birth date): the cohorts the younger children complete.
        self.births: Counter = Counter()
        for spec in FEEDS.values():
            handle = (out / spec.file_name).open("w", encoding="utf-8", newline="")
            writer = csv.writer(handle, lineterminator="\n")
            header = list(spec.columns)
            if spec.source == "residence_permit":
                # INTERCHANGE.md's own order for this feed; readers go by the header.
                header = ["id_number", "permit_no", "district_code", "issued_on", "expires_on"]
            writer.writerow(header)
            self.files[spec.source] = handle
            self.writers[spec.source] = writer

    def row(self, source: str, values: tuple) -> None:
        self.writers[source].writerow(values)
        self.counts[source] += 1
        if source == "hukou":
            self.births[(values[5], values[3])] += 1

    def rows(self, source: str, rows: list[tuple]) -> None:
        self.writers[source].writerows(rows)
        self.counts[source] += len(rows)

    def close(self) -> None:
        for handle in self.files.values():
            handle.close()


class _District:
    def __init__(self, households: int, seed: int, year: int):
        self.rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
        # Who lives in which household is drawn from a stream of its own, so that adding it
        # left every other draw of a seed, and so the rest of the district, as it was.
        self.household_rng = random.Random(f"{seed}-households")  # noqa: S311 - as above
        self.households = households
        self.year = year
        self.cutoff = date(year, 3, 31)
        self.sequences: dict[tuple[str, date, str], int] = defaultdict(int)
        self.certificates = 0
        self.rentals = 0
        self.permits = 0
        self.household_numbers = 0
        rng = self.rng
        # Weighted name pools, built once from the seed.
        weights = [1 / (rank + 3) for rank in range(len(SURNAMES))]
        self.surname_pool = rng.choices(SURNAMES, weights=weights, k=4096)
        self.given_pool = [
            rng.choice(GIVEN_CHARACTERS)
            + (rng.choice(GIVEN_CHARACTERS) if rng.random() < 0.8 else "")
            for _ in range(4096)
        ]
        streets = max(2, min(len(STREET_NAMES), households // 3000 + 2))
        self.communities = []
        self.community_names = {}
        for street in range(streets):
            for index in range(rng.randint(5, 9)):
                code = f"{HOME_DISTRICT}{street + 10:03d}{index + 1:03d}"
                self.communities.append(code)
                self.community_names[code] = (
                    f"{STREET_NAMES[street]}街道{COMMUNITY_NAMES[index % len(COMMUNITY_NAMES)]}社区"
                )
        # "YYYY-MM" of the cut-off's month (offset 0) and of the 239 months before it.
        last = self.cutoff.year * 12 + self.cutoff.month - 1
        self.month_labels = [
            f"{(last - offset) // 12:04d}-{(last - offset) % 12 + 1:02d}" for offset in range(240)
        ]
        self.elsewhere_communities = [
            f"{district}{street:03d}{index:03d}"
            for district in (HOME_DISTRICT, *CITY_DISTRICTS)
            for street in (1, 2, 3)
            for index in (1, 2, 3, 4)
        ]

    # --- small draws ---------------------------------------------------------------------

    def name(self, surname: str | None = None) -> str:
        rng = self.rng
        return (surname or rng.choice(self.surname_pool)) + rng.choice(self.given_pool)

    def person_id(self, district: str, birth: date, sex: str) -> str:
        slot = (district, birth, sex)
        index = self.sequences[slot]
        self.sequences[slot] = index + 1
        # Odd sequence numbers are men's (GB 11643).
        sequence = index * 2 + (1 if sex == "M" else 2)
        return make(district, birth, sequence % 1000 or 998)

    def birth_between(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, (last - first).days))

    def address(self, community: str) -> str:
        rng = self.rng
        district = DISTRICT_NAMES.get(community[:6], "")
        return (
            f"佛山市{district}{rng.choice(ROADS)}{rng.randint(1, 399)}号"
            f"{rng.randint(1, 30)}座{rng.randint(1, 33):02d}{rng.randint(1, 8):02d}房"
            if community.startswith("4406")
            else f"{district}{rng.choice(ROADS)}{rng.randint(1, 399)}号"
        )

    def household_no(self) -> str:
        self.household_numbers += 1
        return f"HH{self.household_numbers:09d}"

    def certificate_no(self, community: str) -> str:
        self.certificates += 1
        year = self.rng.randint(2008, self.year - 1)
        return f"粤({year})佛{DISTRICT_NAMES[community[:6]][:2]}不动产权第{self.certificates:07d}号"


def generate_district(
    *, households: int, seed: int, year: int, out: Path, forms: str = "canonical"
) -> DistrictSummary:
    """Write the five feeds, `schools.csv`, `applications.jsonl`, `communities.csv` and
    `communities.geojson` into `out`.

    `forms="department"` writes the feeds as departments really export them (Chinese
    headers, their own value forms, GB18030, one spreadsheet): department_forms.py. The
    facts are the same either way.

    The files are written in a folder of their own inside `out` and moved into place only
    when all nine are complete: a run that fails part-way leaves `out` as it was, never a
    cut-off feed that a later import would load as if it were whole.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".generate-district-", dir=out))
    try:
        summary = _write_district(households=households, seed=seed, year=year, out=staging)
        if forms == "department":
            write_department_forms(staging, seed=seed)
        for path in sorted(staging.iterdir()):
            os.replace(path, out / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return summary


def _write_district(*, households: int, seed: int, year: int, out: Path) -> DistrictSummary:
    district = _District(households, seed, year)
    rng = district.rng
    writers = _Writers(out)
    summary = DistrictSummary(households=households)
    applications: list[dict] = []
    window_first, window_last = date(year - 8, 9, 1), date(year - 6, 8, 31)
    try:
        for _ in range(households):
            summary.people += _household(district, writers, applications, window_first, window_last)
        summary.people += write_younger_children(
            district, writers, district=HOME_DISTRICT, seed=seed
        )
    finally:
        writers.close()

    schools = _schools(district, len(applications))
    catchment_school: dict[str, str] = {}
    for school in schools:
        for community in school["catchment"]:
            catchment_school.setdefault(community, school["code"])
    codes = [school["code"] for school in schools]
    write_communities(
        out=out,
        rng=random.Random(f"{seed}:{year}:communities"),  # noqa: S311 - reproducible test data
        communities=district.communities,
        names=district.community_names,
        district_code=HOME_DISTRICT,
        school_of=catchment_school,
        school_points={s["code"]: (float(s["lon"]), float(s["lat"])) for s in schools},
    )
    with (out / "schools.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(
            [
                "school_code",
                "name",
                "district_code",
                "kind",
                "grade",
                "capacity",
                "catchment_communities",
                "address",
                "lat",
                "lon",
            ]
        )
        for school in schools:
            writer.writerow(
                [
                    school["code"],
                    school["name"],
                    HOME_DISTRICT,
                    school["kind"],
                    "primary1",
                    school["capacity"],
                    ";".join(school["catchment"]),
                    school["address"],
                    school["lat"],
                    school["lon"],
                ]
            )
    with (out / "applications.jsonl").open("w", encoding="utf-8", newline="\n") as handle:
        for number, application in enumerate(applications, start=1):
            home = application["home_community_code"]
            first = catchment_school[home]
            # Mostly the catchment school first; some families put another school first.
            preferences = [first] if rng.random() < 0.85 else [rng.choice(codes)]
            for _ in range(rng.choice((0, 1, 1, 2))):
                other = rng.choice(codes)
                if other not in preferences:
                    preferences.append(other)
            if first not in preferences and len(preferences) < 3:
                preferences.append(first)
            given_by = application["guardians"][0]["id_number"]
            record = {
                "ref": f"A{number:06d}",
                "admission_year": year,
                "grade": "primary1",
                **application,
                "preferences": preferences,
                "consent": {
                    "given_by": given_by,
                    "given_at": f"{year}-04-{rng.randint(1, 28):02d}T{rng.randint(8, 21):02d}:"
                    f"{rng.randint(0, 59):02d}:00+08:00",
                },
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    summary.applications = len(applications)
    summary.schools = len(schools)
    summary.rows = {source: writers.counts[source] for source in FEEDS}
    return summary


def _household(d: _District, w: _Writers, applications, window_first, window_last) -> int:
    """One family: its people, housing, permits and insurance; returns how many people."""
    rng = d.rng
    year, cutoff = d.year, d.cutoff
    draw = rng.random()
    if draw < 0.50:
        origin = HOME_DISTRICT  # the district's own
    elif draw < 0.65:
        origin = rng.choice(CITY_DISTRICTS)
    else:
        origin = rng.choice(OUTSIDE_DISTRICTS)
    migrant = not origin.startswith("4406")
    home = rng.choice(d.communities)
    home_address = d.address(home)
    household_no = d.household_no()
    hukou_community = home if origin == HOME_DISTRICT else f"{origin}001{rng.randint(1, 20):03d}"

    # Guardians: parents aged 25-45 on the cut-off; a single parent in one family of seven.
    surname = rng.choice(d.surname_pool)
    father_birth = d.birth_between(date(year - 45, 4, 1), date(year - 27, 3, 31))
    mother_birth = d.birth_between(date(year - 43, 4, 1), date(year - 25, 3, 31))
    father = (d.name(surname), d.person_id(origin, father_birth, "M"), "M", father_birth, "father")
    mother = (d.name(), d.person_id(origin, mother_birth, "F"), "F", mother_birth, "mother")
    if rng.random() < 0.14:
        guardians = [rng.choice((father, mother))]
    else:
        guardians = [father, mother] if rng.random() < 0.6 else [mother, father]

    # Children: one in the admission window for about half the families, maybe a sibling.
    children = []
    has_applicant = rng.random() < 0.5
    if has_applicant:
        birth = d.birth_between(window_first, window_last)
        sex = rng.choice("MF")
        children.append((d.name(surname), d.person_id(origin, birth, sex), sex, birth, True))
    if rng.random() < 0.45 or not children:
        if rng.random() < 0.5:
            birth = d.birth_between(date(year - 13, 1, 1), window_first - timedelta(days=1))
        else:
            birth = d.birth_between(window_last + timedelta(days=1), date(year - 1, 12, 31))
        sex = rng.choice("MF")
        children.append((d.name(surname), d.person_id(origin, birth, sex), sex, birth, False))

    # Hukou rows: everyone, except the deliberate gap of a child the registry lacks.
    parents_registered = d.birth_between(date(2005, 1, 1), date(year - 7, 12, 31))
    missing_child_hukou = has_applicant and rng.random() < 0.03
    separated = _separated_parent(d, guardians)
    for name, number, sex, birth, _relation in guardians:
        address = home_address if origin == HOME_DISTRICT else d.address(hukou_community)
        own_household = household_no
        if number == separated:
            # Moved their hukou out (to their own parents', say): another household.
            own_household = d.household_no()
            city = "佛山市" if origin.startswith("4406") else ""
            road = d.household_rng.choice(ROADS)
            address = (
                f"{city}{DISTRICT_NAMES.get(origin, '')}{road}{d.household_rng.randint(1, 399)}号"
            )
        w.row(
            "hukou",
            (
                number,
                name,
                sex,
                birth.isoformat(),
                origin,
                hukou_community,
                address,
                max(parents_registered, birth).isoformat(),
                own_household,
            ),
        )
    for name, number, sex, birth, applicant in children:
        if applicant and missing_child_hukou:
            continue
        if origin == HOME_DISTRICT and rng.random() < 0.6:
            registered = birth + timedelta(days=rng.randint(20, 120))
        else:
            registered = d.birth_between(birth + timedelta(days=30), cutoff - timedelta(days=20))
        w.row(
            "hukou",
            (
                number,
                name,
                sex,
                birth.isoformat(),
                origin,
                hukou_community,
                home_address if origin == HOME_DISTRICT else d.address(hukou_community),
                min(registered, cutoff - timedelta(days=1)).isoformat(),
                household_no,
            ),
        )
    people = len(guardians) + len(children)

    # Housing at home: own, rent, or live with relatives (who own the flat).
    draw = rng.random()
    if migrant:
        housing = "own" if draw < 0.2 else "rent" if draw < 0.88 else "relatives"
    else:
        housing = "own" if draw < 0.62 else "rent" if draw < 0.85 else "relatives"
    registered_on = d.birth_between(date(2008, 1, 1), date(year - 1, 6, 30)).isoformat()
    if housing == "own":
        certificate = d.certificate_no(home)
        draw = rng.random()
        if len(guardians) == 2 and draw < 0.35:
            shares = [("50", guardians[0][1]), ("50", guardians[1][1])]
        elif len(guardians) == 2 and draw < 0.45:
            # Two guardians' 30 % each: 60 % together on one certificate (DOMAIN.md example 2).
            relative_birth = d.birth_between(date(year - 80, 1, 1), date(year - 55, 1, 1))
            relative = d.person_id(HOME_DISTRICT, relative_birth, rng.choice("MF"))
            shares = [("30", guardians[0][1]), ("30", guardians[1][1]), ("40", relative)]
        elif draw < 0.49:
            # A minority share only: ownership not verified at home.
            relative_birth = d.birth_between(date(year - 80, 1, 1), date(year - 55, 1, 1))
            relative = d.person_id(HOME_DISTRICT, relative_birth, rng.choice("MF"))
            shares = [("20", guardians[0][1]), ("80", relative)]
        else:
            shares = [("100", guardians[0][1])]
        for share, owner in shares:
            w.row("property", (certificate, owner, share, home, home_address, registered_on))
    elif housing == "rent":
        d.rentals += 1
        registration = f"ZL{HOME_DISTRICT}{d.rentals:08d}"
        start = d.birth_between(cutoff - timedelta(days=700), cutoff - timedelta(days=10))
        end = start + timedelta(days=rng.choice((364, 365, 729, 730)))
        if end < cutoff:
            end = cutoff + timedelta(days=rng.randint(30, 300))
        if rng.random() < 0.04:
            # Rental ends before the cut-off: housing not verified.
            end = cutoff - timedelta(days=rng.randint(1, 60))
            start = min(start, end - timedelta(days=300))
        tenants = guardians[:1] if rng.random() < 0.7 else guardians
        for tenant in tenants:
            w.row(
                "rental",
                (registration, tenant[1], home, home_address, start.isoformat(), end.isoformat()),
            )
        if not migrant and rng.random() < 0.3:
            # Owns a flat elsewhere in the city while renting at home.
            elsewhere = rng.choice([c for c in d.elsewhere_communities if c != home][:60])
            w.row(
                "property",
                (
                    d.certificate_no(elsewhere),
                    guardians[0][1],
                    "100",
                    elsewhere,
                    d.address(elsewhere),
                    registered_on,
                ),
            )
    else:
        relative_birth = d.birth_between(date(year - 80, 1, 1), date(year - 55, 1, 1))
        relative = d.person_id(HOME_DISTRICT, relative_birth, rng.choice("MF"))
        w.row(
            "property",
            (d.certificate_no(home), relative, "100", home, home_address, registered_on),
        )

    if migrant:
        _migrant_records(d, w, guardians)
    elif rng.random() < 0.25:
        # Some local guardians are insured too; their months do not count for points.
        _insurance(d, w, guardians[0][1], rng.randint(12, 60), gaps=0)

    if has_applicant:
        child = children[0]
        applications.append(
            {
                "child": {"name": child[0], "id_number": child[1]},
                "guardians": [
                    {"name": g[0], "id_number": g[1], "relation": g[4]} for g in guardians
                ],
                "home_community_code": home,
                "home_address": home_address,
            }
        )
    return people


def _separated_parent(d: _District, guardians) -> str | None:
    """The ID number of a named parent whose hukou is in another household, or None.

    A second parent in about one family in thirty; the only parent named in about one
    single-parent family in seven (the child's hukou stayed with the other side of the
    family): then no named adult is related to the child and the application waits for
    evidence of the relation (DOMAIN.md, "Guardianship")."""
    draw = d.household_rng.random()
    if len(guardians) == 2 and draw < 0.035:
        return guardians[1][1]
    if len(guardians) == 1 and draw < 0.15:
        return guardians[0][1]
    return None


def _migrant_records(d: _District, w: _Writers, guardians) -> None:
    rng = d.rng
    cutoff = d.cutoff
    holder = guardians[0]
    draw = rng.random()
    if draw < 0.06:
        return  # no permit at all
    d.permits += 1
    permit_no = f"JZZ{HOME_DISTRICT}{d.year}{d.permits:08d}"
    if draw < 0.10:
        # Issued too recently: fewer than 12 full months before the cut-off.
        issued = cutoff - timedelta(days=rng.randint(30, 330))
    else:
        issued = cutoff - timedelta(days=rng.randint(400, 2400))
    expires = issued + timedelta(days=365 * rng.choice((1, 2, 3, 5)))
    if draw >= 0.10 and draw < 0.14:
        expires = cutoff - timedelta(days=rng.randint(1, 90))  # expired before the cut-off
        issued = min(issued, expires - timedelta(days=365))
    elif expires < cutoff:
        expires = cutoff + timedelta(days=rng.randint(30, 700))
    w.row(
        "residence_permit",
        (holder[1], permit_no, HOME_DISTRICT, issued.isoformat(), expires.isoformat()),
    )

    # Social insurance: the main earner's history, maybe the partner's; some with gaps.
    months = rng.choice((rng.randint(0, 11), rng.randint(12, 60), rng.randint(24, 130)))
    if rng.random() < 0.7:
        months = max(months, 12)
    _insurance(d, w, holder[1], months, gaps=rng.choice((0, 0, 1, 2, 3)))
    if len(guardians) == 2 and rng.random() < 0.6:
        _insurance(d, w, guardians[1][1], rng.randint(0, 72), gaps=rng.choice((0, 1)))


def _insurance(d: _District, w: _Writers, id_number: str, months: int, *, gaps: int) -> None:
    """`months` consecutive months ending with the cut-off's, less a few gap runs; in some
    months only the pension was paid."""
    if months <= 0:
        return
    rng = d.rng
    labels = d.month_labels
    skipped = set()
    for _ in range(gaps):
        start = rng.randint(0, months - 1)
        skipped.update(range(start, start + rng.randint(1, 4)))
    employer = rng.choice(EMPLOYERS)
    draw = rng.random
    w.rows(
        "social_insurance",
        [
            (id_number, labels[offset], "1", "0" if draw() < 0.02 else "1", employer)
            for offset in range(min(months, len(labels)) - 1, -1, -1)
            if offset not in skipped
        ],
    )


def _schools(d: _District, applications: int) -> list[dict]:
    """About one school per 60 households, seats somewhat short of the applications, and
    catchments that cover every community."""
    rng = d.rng
    count = max(2, d.households // 60)
    seats = max(count, int(applications * 0.9))
    base, extra = divmod(seats, count)
    schools = []
    for index in range(count):
        code = f"S{HOME_DISTRICT}{index + 1:03d}"
        schools.append(
            {
                "code": code,
                "name": f"佛山市禅城区{rng.choice(COMMUNITY_NAMES)}{rng.choice(('小学', '实验小学', '中心小学'))}"
                f"{index + 1}校",
                "kind": "private" if rng.random() < 0.15 else "public",
                "capacity": base + (1 if index < extra else 0),
                "catchment": [],
                "address": d.address(rng.choice(d.communities)),
                "lat": f"{23.02 + rng.uniform(-0.04, 0.04):.6f}",
                "lon": f"{113.12 + rng.uniform(-0.05, 0.05):.6f}",
            }
        )
    for index, community in enumerate(d.communities):
        schools[index % count]["catchment"].append(community)
    for index, school in enumerate(schools):
        if not school["catchment"]:
            school["catchment"].append(d.communities[index % len(d.communities)])
    return schools
