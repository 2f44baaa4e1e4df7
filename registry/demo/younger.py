"""The synthetic district's younger children: the entry cohorts of the years after this one,
so that the demand forecast (DOMAIN.md) has something to look ahead at.

The households of `district.py` already hold a few younger brothers and sisters. This adds
young families (two parents and a child not yet of school age, hukou in the district) until
each later cohort reaches its size: this year's entry cohort in the district, smaller by
BIRTH_DECLINE each year after. China's births fell from 14.65 million (2019) to 9.02 million
(2023), about 11 % a year; a district that young families move into falls more slowly, and
6 % a year keeps the demo's forecast visibly falling without emptying the later years.

Children are born up to the end of the month before the cut-off (the registry's data are as
of the cut-off, and a birth is registered within weeks), so the last cohort is only partly
born: its size is scaled by the share of its birth window that has passed. Everything random
comes from its own generator, seeded from the district's seed and year, so the households,
schools and applications of a seed stay byte for byte what they were.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta

from registry.contract import entry_cohort_of, entry_cohort_window
from registry.demo.places import DISTRICT_NAMES, ROADS

BIRTH_DECLINE = 0.06
HORIZON = 6


def births_through(cutoff: date) -> date:
    """The last day of the month before the cut-off's."""
    return cutoff.replace(day=1) - timedelta(days=1)


def cohort_sizes(births: Counter, district: str) -> Counter:
    """{admission year: children} of the district's hukou rows, from the writer's count of
    births by (community, "YYYY-MM-DD")."""
    sizes: Counter = Counter()
    for (community, born), count in births.items():
        if community.startswith(district):
            sizes[entry_cohort_of(date.fromisoformat(born))] += count
    return sizes


def write_younger_children(d, w, *, district: str, seed: int) -> int:
    """Young families for the cohorts of d.year + 1 .. + HORIZON; returns how many people."""
    rng = random.Random(f"{seed}:{d.year}:younger")  # noqa: S311 - reproducible test data
    year, cutoff = d.year, d.cutoff
    last_birth = births_through(cutoff)
    sizes = cohort_sizes(w.births, district)
    now = sizes[year]
    # Families have their babies where families live: weights from this year's cohort.
    weights = Counter()
    for (community, born), count in w.births.items():
        if community in d.community_names and entry_cohort_of(date.fromisoformat(born)) == year:
            weights[community] += count
    communities = list(d.communities)
    shares = [weights[c] + 1 for c in communities]
    people = 0
    for ahead in range(1, HORIZON + 1):
        first, last = entry_cohort_window(year + ahead)
        if first > last_birth:
            break
        last = min(last, last_birth)
        born_share = ((last - first).days + 1) / 365
        target = round(now * (1 - BIRTH_DECLINE) ** ahead * min(born_share, 1.0))
        for _ in range(max(0, target - sizes[year + ahead])):
            community = rng.choices(communities, weights=shares)[0]
            birth = first + timedelta(days=rng.randint(0, (last - first).days))
            people += _young_family(d, w, rng, community, birth)
    return people


def _young_family(d, w, rng: random.Random, community: str, birth: date) -> int:
    district = community[:6]
    surname = rng.choice(d.surname_pool)
    household_no = d.household_no()
    address = (
        f"佛山市{DISTRICT_NAMES.get(district, '')}{rng.choice(ROADS)}{rng.randint(1, 399)}号"
        f"{rng.randint(1, 30)}座{rng.randint(1, 33):02d}{rng.randint(1, 8):02d}房"
    )
    parents_registered = date(rng.randint(2005, d.year - 2), rng.randint(1, 12), 1)
    rows = []
    for sex, oldest, youngest in (("M", 40, 24), ("F", 38, 23)):
        born = d.cutoff - timedelta(days=rng.randint(youngest * 365, oldest * 365))
        name = (surname if sex == "M" else rng.choice(d.surname_pool)) + rng.choice(d.given_pool)
        rows.append(
            (
                d.person_id(district, born, sex),
                name,
                sex,
                born.isoformat(),
                district,
                community,
                address,
                max(parents_registered, born).isoformat(),
                household_no,
            )
        )
    sex = rng.choice("MF")
    registered = min(birth + timedelta(days=rng.randint(20, 60)), d.cutoff - timedelta(days=1))
    rows.append(
        (
            d.person_id(district, birth, sex),
            surname + rng.choice(d.given_pool),
            sex,
            birth.isoformat(),
            district,
            community,
            address,
            registered.isoformat(),
            household_no,
        )
    )
    for row in rows:
        w.row("hukou", row)
    return len(rows)
