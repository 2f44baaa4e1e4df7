"""A small district whose cohorts are counted by hand (DOMAIN.md "Demand forecast"), for the
forecast's service, command, pages and browser tests.

Admission year 2027; five communities, three schools with overlapping catchments:

    community  2027  2028  2029   applications 2027   catchment of
    A             4     3     5    5                   S1
    B             3     6     2*   3 (+1 withdrawn)    S1, S2
    C             0     4     3    2                   S2, S3
    D             4     3     0    6                   (none)
    E             2*    3     0    4                   S1
    * fewer than 3: the registry withholds it.

A's 2027 cohort holds both boundary birthdays (2020-09-01, 2021-08-31); 2021-09-01 is in A's
2028 cohort and 2020-08-31 in 2026's, which no forecast asks for.

By hand:
    S1 = A+B+E: E's 2027 count is withheld, so E is out of the take-up, its 4 applications
              too: 8/7 = 1.1429; 2028: 12 x 1.1429 = 13.71 -> 14 (5 seats, short 9);
              2029: 5 (B withheld) x 1.1429 = 5.71 -> 6 (short 1)
    S2 = B+C: take-up 5/3 = 1.6667; 2028: 10 -> 16.67 -> 17 (4 seats, short 13);
              2029: 3 (B withheld) -> 5.0001 -> 5 (short 1)
    S3 = C:   2027's cohort is 0, so take-up 1.0000 (2 applications notwithstanding);
              2028: 4 -> 4 (10 seats, 6 to spare); 2029: 3 -> 3
    D alone:  take-up 6/4 = 1.5000; 2028: 3 x 1.5 = 4.5 -> 5 (half up)
    E alone:  2027 withheld: take-up 1.0000; 2028: 3 -> 3
"""

from datetime import date

from enrollment.models import Community, Role
from enrollment.services.applications import (
    ApplicationInput,
    PersonInput,
    application_submit,
    application_withdraw,
)
from enrollment.services.policies import policy_install_default
from registry import idnumber
from tests.enrollment.factories import SchoolFactory, UserFactory
from tests.registry.factories import HukouRecordFactory

YEAR = 2027
A, B, C, D, E = (f"44060401000{n}" for n in (1, 2, 3, 4, 5))
NAMES = {
    A: "祖庙街道岭南社区",
    B: "祖庙街道同济社区",
    C: "石湾街道东风社区",
    D: "张槎街道大富社区",
    E: "张槎街道华远社区",
}
SCHOOLS = {
    "S440604001": ("禅城区岭南小学", [A, B, E], 5),
    "S440604002": ("禅城区同济小学", [B, C], 4),
    "S440604003": ("禅城区东风小学", [C], 10),
}
BIRTHS = {
    A: [
        date(2020, 9, 1),
        date(2021, 8, 31),
        date(2021, 3, 3),
        date(2020, 12, 12),
        date(2021, 9, 1),
        date(2022, 1, 1),
        date(2022, 8, 31),
        *[date(2023, 1, d) for d in (1, 2, 3, 4, 5)],
        date(2020, 8, 31),
    ],
    B: [
        *[date(2021, 2, d) for d in (1, 2, 3)],
        *[date(2022, 2, d) for d in (1, 2, 3, 4, 5, 6)],
        *[date(2023, 2, d) for d in (1, 2)],
    ],
    C: [*[date(2021, 10, d) for d in (1, 2, 3, 4)], *[date(2022, 10, d) for d in (1, 2, 3)]],
    D: [*[date(2020, 11, d) for d in (1, 2, 3, 4)], *[date(2021, 11, d) for d in (1, 2, 3)]],
    E: [*[date(2020, 12, d) for d in (1, 2)], *[date(2021, 12, d) for d in (1, 2, 3)]],
}
APPLICATIONS = {A: 5, B: 3, C: 2, D: 6, E: 4}

# The forecast file for --year 2027 --horizon 2, as computed by hand above.
EXPECTED_CSV = (
    "school_code,admission_year,children,take_up,forecast,seats,shortfall\r\n"
    "S440604001,2028,12,1.1429,14,5,9\r\n"
    "S440604001,2029,5,1.1429,6,5,1\r\n"
    "S440604002,2028,10,1.6667,17,4,13\r\n"
    "S440604002,2029,3,1.6667,5,4,1\r\n"
    "S440604003,2028,4,1.0000,4,10,-6\r\n"
    "S440604003,2029,3,1.0000,3,10,-7\r\n"
)


def small_district() -> dict:
    """Communities, schools, hukou records and this year's applications, as above."""
    policy_install_default(admission_year=YEAR)
    for code, name in NAMES.items():
        Community.objects.update_or_create(
            code=code, defaults={"district_code": "440604", "name": name}
        )
    schools = {
        code: SchoolFactory(code=code, name=name, catchment_communities=catchment, capacity=seats)
        for code, (name, catchment, seats) in SCHOOLS.items()
    }
    for community, births in BIRTHS.items():
        for index, birth in enumerate(births):
            HukouRecordFactory(
                id_number=idnumber.make("440604", birth, 100 + 2 * index + int(community[-1])),
                community_code=community,
            )
    sequence, withdrawn, parent = 0, None, None
    for community, count in APPLICATIONS.items():
        for extra in range(count + (1 if community == B else 0)):
            sequence += 1
            child = idnumber.make("445202", date(2020, 10, 1), 2 * sequence + 1)
            mother = idnumber.make("445202", date(1990, 1, 1), 2 * sequence)
            # Each family applies from the mother's own verified account.
            parent = UserFactory(role=Role.PARENT, username=f"139{sequence:08d}", identity=mother)
            application = application_submit(
                data=ApplicationInput(
                    admission_year=YEAR,
                    ref=f"F{sequence:05d}",
                    child=PersonInput(name="陈小明", id_number=child),
                    guardians=[PersonInput(name="李美玲", id_number=mother, relation="mother")],
                    home_community_code=community,
                    preferences=["S440604001"],
                    consent_given_by=mother,
                ),
                actor=parent,
                enqueue=False,
            )
            if community == B and extra == count:
                withdrawn, withdrawing = application, parent
    # One more of B's, withdrawn: a family that withdrew asks for no seat.
    application_withdraw(application=withdrawn, actor=withdrawing, reason="搬家")
    return {"schools": schools, "parent": parent}


# Squares: A B C D in a row, west to east, and E under A (corners rounded as a GeoJSON file
# has them).
SHAPES = {
    code: {
        "type": "Polygon",
        "coordinates": [
            [
                [round(113.10 + 0.01 * index, 6), 23.00],
                [round(113.11 + 0.01 * index, 6), 23.00],
                [round(113.11 + 0.01 * index, 6), 23.01],
                [round(113.10 + 0.01 * index, 6), 23.01],
                [round(113.10 + 0.01 * index, 6), 23.00],
            ]
        ],
    }
    for index, code in enumerate((A, B, C, D))
}
# E lies south of A, sharing A's southern edge.
SHAPES[E] = {
    "type": "Polygon",
    "coordinates": [
        [[113.1, 22.99], [113.11, 22.99], [113.11, 23.0], [113.1, 23.0], [113.1, 22.99]]
    ],
}


def mapped_district() -> dict:
    """The small district with its communities' outlines and its schools' places."""
    built = small_district()
    for code, shape in SHAPES.items():
        Community.objects.filter(code=code).update(shape=shape)
    for index, school in enumerate(built["schools"].values()):
        school.lat, school.lon = 23.005, 113.105 + 0.01 * index
        school.save()
    return built
