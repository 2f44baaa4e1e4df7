"""Scoring and what-if rescoring of a city's applications, against `openfisca-core`.

The population: 200,000 families' facts (`--scale` shrinks it), drawn with a fixed seed to
cover every DOMAIN.md path (hukou D/C/N or missing, owners with shares above and below 50 %,
renters owning elsewhere or not, no housing, permits, 0-48 insured months).

Cases (one JSON line each):
- `columns`: `enrollment.policy.vector.score_many` over the facts matrix, under the default
  policy (`parse_seconds`: reading the packed strings into that matrix, apart). Baseline: openfisca-core with the same default-policy formulas written as OpenFisca
  variables over the same population (its own vectorised engine). `identical`: every total
  and every outcome agree; `ratio` = OpenFisca's seconds / ours.
- `engine`: the reference engine (`enrollment.policy.score`, one application at a time, with
  its trace), whose totals must equal the column-wise ones (`identical`).
- `whatif`: `policy_what_if` through the service, on a database (`bench_scoring`, its own)
  holding the population as 200,000 current decisions: load the packed facts and first
  choices, rescore under a changed policy, summarise (outcome changes, histograms, demand per
  school). `seconds` is the whole call; `score_seconds` the rescoring alone.

Needs `pip install "openfisca-core>=43"` (the pyproject `bench` extra).

    python bench/scoring.py              # 200,000 applications
    python bench/scoring.py --scale 0.1  # a quick look
"""

import argparse
import os
import random
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from _common import database_url, django_setup, emit, recreate_database

YEAR = 2027
DISTRICT = "440604"
COMMUNITIES = 200
SCHOOLS = 40


def population(n: int, seed: int):
    from enrollment.policy import Facts

    rng = random.Random(seed)
    people = []
    for _ in range(n):
        draw = rng.random()
        hukou = None if draw < 0.02 else "D" if draw < 0.5 else "C" if draw < 0.7 else "N"
        housing = rng.random()
        share = Decimal(0)
        if housing < 0.55:
            share = Decimal(rng.choice([100, 100, 100, 60, 50, 30]))
        people.append(
            Facts(
                hukou_class=hukou,
                hukou_registered_on=date(2015, 1, 1) + timedelta(days=rng.randrange(4400))
                if hukou
                else None,
                owned_share_percent=share,
                has_rental=0.55 <= housing < 0.9,
                owns_elsewhere=rng.random() < 0.05,
                si_months=rng.randrange(49) if hukou == "N" else 0,
                permit_qualifies=hukou == "N" and rng.random() < 0.7,
            )
        )
    return people


def openfisca_system(document: dict):
    """DOMAIN.md's default policy as OpenFisca variables, one per concept of the engine."""
    import numpy as np
    from openfisca_core.entities import build_entity
    from openfisca_core.periods import DateUnit
    from openfisca_core.taxbenefitsystems import TaxBenefitSystem
    from openfisca_core.variables import Variable

    cutoff = date.fromisoformat(document["cutoff"])
    min_share = int(Decimal(document["ownership_min_share_percent"]) * 100)
    si_min = int(document["si_min_months"])
    application = build_entity(
        key="application", plural="applications", label="An application", is_person=True
    )

    def integer(name: str, label: str, formula=None):
        attributes = {
            "value_type": int,
            "entity": application,
            "definition_period": DateUnit.YEAR,
            "label": label,
        }
        if formula is not None:
            attributes["formula"] = formula
        return type(name, (Variable,), attributes)

    inputs = [
        integer("hukou", "0 none, 1 D, 2 C, 3 N"),
        integer("registered_on", "YYYYMMDD"),
        integer("owned_share", "hundredths of a percent"),
        integer("has_rental", "a registered rental at home covering the cut-off"),
        integer("owns_elsewhere", "owns in the city outside the home community"),
        integer("si_months", "months with pension and medical paid"),
        integer("permit_qualifies", "a qualifying residence permit"),
    ]

    def housing_class(a, period, parameters):
        own = a("owned_share", period) >= min_share
        return np.where(own, 0, np.where(a("has_rental", period) == 1, 1, 2))

    def residence_months(a, period, parameters):
        registered = a("registered_on", period)
        hukou = a("hukou", period)
        months = (cutoff.year - registered // 10000) * 12 + (cutoff.month - registered // 100 % 100)
        months = np.maximum(months - (cutoff.day < registered % 100), 0)
        return np.where((hukou == 1) | (hukou == 2), months, 0)

    def base_tenths(a, period, parameters):
        hukou, housing = a("hukou", period), a("housing_class", period)
        elsewhere = a("owns_elsewhere", period) == 1
        return np.select(
            [
                (hukou == 1) & (housing == 0),
                (hukou == 2) & (housing == 0),
                (hukou == 1) & (housing == 1) & ~elsewhere,
                (hukou == 3) & (housing == 0),
                (hukou == 1) & (housing == 1) & elsewhere,
                (hukou == 2) & (housing == 1),
                (hukou == 3) & (housing == 1),
            ],
            [1000, 950, 900, 800, 750, 700, 600],
            0,
        )

    def bonus_tenths(a, period, parameters):
        hukou = a("hukou", period)
        by_residence = np.minimum(a("residence_months", period), 100)
        by_insurance = np.minimum(np.maximum(a("si_months", period) - 12, 0), 100)
        scored = (hukou > 0) & (a("housing_class", period) < 2)
        bonus = np.where(hukou == 3, by_insurance, by_residence)
        return np.where(scored, bonus, 0)

    def total_tenths(a, period, parameters):
        return a("base_tenths", period) + a("bonus_tenths", period)

    def outcome(a, period, parameters):
        hukou = a("hukou", period)
        missing = (hukou == 0) | (a("housing_class", period) == 2)
        short = (hukou == 3) & (
            (a("permit_qualifies", period) == 0) | (a("si_months", period) < si_min)
        )
        return np.where(missing, 2, np.where(short, 1, 0))

    formulas = [
        integer("housing_class", "0 OWN, 1 RENT, 2 NONE", housing_class),
        integer("residence_months", "full months registered before the cut-off", residence_months),
        integer("base_tenths", "base points, in tenths", base_tenths),
        integer("bonus_tenths", "bonus points, in tenths", bonus_tenths),
        integer("total_tenths", "total points, in tenths", total_tenths),
        integer("outcome", "0 eligible, 1 ineligible, 2 needs review", outcome),
    ]
    system = TaxBenefitSystem([application])
    system.add_variables(*inputs, *formulas)
    return system


def openfisca_score(system, matrix):
    from openfisca_core.simulation_builder import SimulationBuilder

    simulation = SimulationBuilder().build_default_simulation(system, count=len(matrix))
    for column, name in enumerate(
        [
            "hukou",
            "registered_on",
            "owned_share",
            "has_rental",
            "owns_elsewhere",
            "si_months",
            "permit_qualifies",
        ]  # fmt: skip
    ):
        simulation.set_input(name, str(YEAR), matrix[:, column])
    return simulation.calculate("total_tenths", str(YEAR)), simulation.calculate(
        "outcome", str(YEAR)
    )


def build_decisions(people, packed, scores) -> None:
    """The population as applications with current decisions, by COPY (untimed)."""
    from django.db import connection

    from enrollment.models import Community, School
    from enrollment.policy.vector import HOUSING_NAMES, OUTCOMES
    from enrollment.services.policies import policy_install_default

    policy = policy_install_default(admission_year=YEAR)
    codes = [f"{DISTRICT}{i // 20 + 1:03d}{i % 20 + 1:03d}" for i in range(COMMUNITIES)]
    Community.objects.bulk_create(Community(code=c, district_code=DISTRICT) for c in codes)
    schools = School.objects.bulk_create(
        School(code=f"S{DISTRICT}{i + 1:03d}", admission_year=YEAR, name=f"第{i + 1}小学",
               district_code=DISTRICT, kind="public", capacity=len(people) // SCHOOLS,
               catchment_communities=codes[i * 5 : i * 5 + 5])
        for i in range(SCHOOLS)
    )  # fmt: skip
    now = datetime.now(UTC)
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(
            "COPY enrollment_application (id, ref, admission_year, grade, district_code, channel,"
            " child_name, child_id_number, child_birth_date, home_community_code, home_address,"
            " state, submitted_at, updated_at) FROM STDIN"
        ) as copy:
            for i in range(len(people)):
                copy.write_row((i + 1, f"A{i:07d}", YEAR, "primary1", DISTRICT, "assisted",
                                "孩子", f"{i:018d}", date(2020, 1, 1), codes[i % COMMUNITIES],
                                "", "decided", now, now))  # fmt: skip
        with raw.copy(
            "COPY enrollment_schoolpreference (application_id, rank, school_id) FROM STDIN"
        ) as copy:
            for i in range(len(people)):
                copy.write_row((i + 1, 1, schools[(i % COMMUNITIES) // 5].pk))
        with raw.copy(
            "COPY enrollment_decision (application_id, policy_id, is_current, basis, outcome,"
            " hukou_class, housing_class, base_points, bonus_points, total_points,"
            " residence_months, si_months, reasons, facts, facts_packed, trace, reason,"
            " created_at) FROM STDIN"
        ) as copy:
            for i, facts in enumerate(people):
                copy.write_row((
                    i + 1, policy.pk, True, "computed", OUTCOMES[scores.outcome[i]],
                    facts.hukou_class or "", HOUSING_NAMES[scores.housing[i]],
                    Decimal(int(scores.base_tenths[i])) / 10,
                    Decimal(int(scores.bonus_tenths[i])) / 10,
                    Decimal(int(scores.total_tenths[i])) / 10,
                    int(scores.residence_months[i]), facts.si_months, "[]", "{}", packed[i],
                    "[]", "", now,
                ))  # fmt: skip
        cursor.execute(
            "SELECT setval('enrollment_application_id_seq', (SELECT max(id) FROM "
            "enrollment_application))"
        )
        cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2027)
    args = parser.parse_args()
    n = max(int(200_000 * args.scale), 10)

    url = database_url("bench_scoring")
    recreate_database(url)
    os.environ["CELERY_BROKER_URL"] = ""  # nothing here is queued
    django_setup(url, migrate=True)
    import numpy as np

    from enrollment.models import Role, User
    from enrollment.policy import Policy, default_policy_document, facts_pack, score
    from enrollment.policy.vector import OUTCOME_CODE, facts_matrix, score_many
    from enrollment.services.whatif import policy_what_if

    document = default_policy_document(admission_year=YEAR)
    policy = Policy(document)
    people = population(n, args.seed)
    packed = [facts_pack(f) for f in people]

    started = time.perf_counter()
    matrix = facts_matrix(packed)
    parse_seconds = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    ours = score_many(matrix, policy)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu

    system = openfisca_system(document)
    started, cpu = time.perf_counter(), time.process_time()
    theirs_total, theirs_outcome = openfisca_score(system, matrix)
    baseline_seconds, baseline_cpu = time.perf_counter() - started, time.process_time() - cpu
    identical = bool(
        np.array_equal(ours.total_tenths, theirs_total)
        and np.array_equal(ours.outcome, theirs_outcome)
    )
    emit(bench="scoring", case="columns", n=n, seconds=round(seconds, 4),
         baseline="openfisca-core, the same formulas", baseline_seconds=round(baseline_seconds, 4),
         identical=identical, parse_seconds=round(parse_seconds, 4),
         cpu_seconds=round(cpu_seconds, 4), baseline_cpu_seconds=round(baseline_cpu, 4),
         load_average=os.getloadavg()[0])  # fmt: skip

    started, cpu = time.perf_counter(), time.process_time()
    reference = [score(f, policy) for f in people]
    engine_seconds, engine_cpu = time.perf_counter() - started, time.process_time() - cpu
    engine_identical = all(
        int(r.total_points * 10) == int(ours.total_tenths[i])
        and OUTCOME_CODE[r.outcome] == int(ours.outcome[i])
        for i, r in enumerate(reference)
    )
    emit(bench="scoring", case="engine", n=n, seconds=round(engine_seconds, 3),
         cpu_seconds=round(engine_cpu, 3), identical=engine_identical,
         load_average=os.getloadavg()[0])  # fmt: skip

    build_decisions(people, packed, ours)
    officer = User.objects.create(username="officer", role=Role.OFFICER, district_code=DISTRICT)
    tried = {**document, "version": f"{YEAR}.2-draft", "si_min_months": 24}
    tried["base_points"] = [dict(row) for row in document["base_points"]]
    tried["base_points"][0]["points"] = "105"
    policy_what_if(officer=officer, document=tried)  # warm the connection and the caches
    started, cpu = time.perf_counter(), time.process_time()
    result = policy_what_if(officer=officer, document=tried)
    whatif_seconds, whatif_cpu = time.perf_counter() - started, time.process_time() - cpu
    expected = score_many(matrix, Policy(tried))
    emit(bench="scoring", case="whatif", n=result.applications, seconds=round(whatif_seconds, 4),
         score_seconds=result.seconds["score"], load_seconds=result.seconds["load"],
         parse_seconds=result.seconds["parse"], summarise_seconds=result.seconds["summarise"],
         changed_outcome=result.changed_outcome, changed_total=result.changed_total,
         cpu_seconds=round(whatif_cpu, 4), load_average=os.getloadavg()[0],
         identical=result.changed_total == int(np.count_nonzero(
             expected.total_tenths != ours.total_tenths)))  # fmt: skip


if __name__ == "__main__":
    main()
