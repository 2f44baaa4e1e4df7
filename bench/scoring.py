"""Scoring and what-if rescoring of a city's applications, against `openfisca-core`.

The population: 200,000 families' facts (`--scale` shrinks it), drawn with a fixed seed to
cover every DOMAIN.md path (hukou D/C/N or missing, no related guardian, owners with shares
above and below 50 %, renters owning elsewhere or not, no housing, permits, 0-48 insured
months).

The independent side is openfisca-core (`_scoring_openfisca.py`): the policy document's rules
written as OpenFisca variables, fed from the drawn facts themselves (not from the product's
packed strings or their parser), giving every application's outcome and total in tenths.

Cases (one JSON line each; `--rounds` runs of each side, 5 by default, alternated where there
is a baseline; `seconds`, `cpu_seconds` and the baseline's are medians of the rounds,
`load_average_start` the one-minute load when the case began):
- `columns`: `enrollment.policy.vector.score_many` over the facts matrix, under the default
  policy (`parse_seconds`: reading the packed strings into that matrix, apart). Baseline:
  openfisca-core over the same population. `mismatched`: applications whose outcome or total
  differ (in any round); `identical`: none do; `ratio` = OpenFisca's seconds / ours.
- `engine`: the reference engine (`enrollment.policy.score`, one application at a time, with
  its trace), no baseline; every application's outcome and total compared with OpenFisca's.
- `whatif`: `policy_what_if` through the service, on a database (`bench_scoring`, its own)
  holding the population as current decisions: load the packed facts and first choices,
  rescore under a changed policy (D+OWN 105 points, 24 insured months minimum), summarise.
  No baseline. `seconds` is the whole call; `score_seconds` etc. its parts (medians). The
  check: OpenFisca scores the drawn population under the changed policy; every row the
  service rescored (its loaded facts and its new outcome and total, recorded during the call)
  is compared with OpenFisca's answer for those facts, and every application must be there
  exactly once (`mismatched` counts rows that differ, are missing or extra, in the worst
  round); the summary's changed outcomes and totals, outcome counts and transitions are
  compared with the same figures from OpenFisca's before and after (`summary_mismatched`).

Needs `pip install "openfisca-core>=43"` (the pyproject `bench` extra).

    python bench/scoring.py              # 200,000 applications
    python bench/scoring.py --scale 0.1  # a quick look
    python bench/scoring.py --rounds 5 --database bench_scoring
"""

import argparse
import os
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from _common import alternate, database_url, django_setup, emit, recreate_database

YEAR = 2027
DISTRICT = "440604"
COMMUNITIES = 200
SCHOOLS = 40


def population(n: int, seed: int):
    from enrollment.policy import Facts

    rng = random.Random(seed)
    # Drawn from a stream of its own, so that the other facts of a seed stay as they were.
    related = random.Random(f"{seed}-guardianship")
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
                guardianship_verified=related.random() >= 0.03,
            )
        )
    return people


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


def mismatches(totals, outcomes, expected_totals, expected_outcomes) -> int:
    """Applications whose total or outcome differ (arrays of one order)."""
    import numpy as np

    if len(totals) != len(expected_totals):
        return max(len(totals), len(expected_totals))
    return int(
        np.count_nonzero(
            (np.asarray(totals) != np.asarray(expected_totals))
            | (np.asarray(outcomes) != np.asarray(expected_outcomes))
        )
    )


class Recorder:
    """Keeps what `policy_what_if` loaded and what it rescored, during the timed call: the
    service returns a summary only, and the check compares every application."""

    def __init__(self, module):
        self.module, self.loaded, self.scored = module, None, None
        self.load, self.score = module._load, module.score_many

    def __enter__(self):
        def load(*args, **kwargs):
            self.loaded = self.load(*args, **kwargs)
            return self.loaded

        def score(*args, **kwargs):
            self.scored = self.score(*args, **kwargs)
            return self.scored

        self.module._load, self.module.score_many = load, score
        return self

    def __exit__(self, *exc):
        self.module._load, self.module.score_many = self.load, self.score


def whatif_check(loaded, scored, expected_by_facts: dict, population_facts) -> int:
    """Rows the service rescored against OpenFisca's answer for the same facts; every
    application must appear exactly once (missing or extra rows count as mismatched)."""
    from collections import Counter

    width = loaded.facts_digits.shape[1]
    block = loaded.facts_digits.tobytes()
    keys = [block[i : i + width].decode("ascii") for i in range(0, len(block), width)]
    mismatched = 0
    for key, total, outcome in zip(
        keys, scored.total_tenths.tolist(), scored.outcome.tolist(), strict=True
    ):
        if expected_by_facts.get(key) != (total, outcome):
            mismatched += 1
    missing = Counter(population_facts) - Counter(keys)
    return mismatched + sum(missing.values())


def whatif_summary(before_totals, before_outcomes, after_totals, after_outcomes) -> dict:
    """The summary figures the service reports, from per-application columns."""
    import numpy as np

    from enrollment.policy.vector import OUTCOMES

    pairs = {}
    for code_from, name_from in enumerate(OUTCOMES):
        for code_to, name_to in enumerate(OUTCOMES):
            pairs[f"{name_from}>{name_to}"] = int(
                np.count_nonzero((before_outcomes == code_from) & (after_outcomes == code_to))
            )
    return {
        "applications": len(after_totals),
        "changed_total": int(np.count_nonzero(after_totals != before_totals)),
        "changed_outcome": int(np.count_nonzero(after_outcomes != before_outcomes)),
        "outcomes_after": {
            name: int(np.count_nonzero(after_outcomes == code))
            for code, name in enumerate(OUTCOMES)
        },
        "transitions": pairs,
    }


def reported_summary(result) -> dict:
    return {
        "applications": result.applications,
        "changed_total": result.changed_total,
        "changed_outcome": result.changed_outcome,
        "outcomes_after": dict(result.outcomes_after),
        "transitions": {
            f"{name_from}>{name_to}": count
            for name_from, row in result.transitions.items()
            for name_to, count in row.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database", default="bench_scoring")
    args = parser.parse_args()
    n = max(int(200_000 * args.scale), 10)

    url = database_url(args.database)
    recreate_database(url)
    os.environ["CELERY_BROKER_URL"] = ""  # nothing here is queued
    django_setup(url, migrate=True)
    import numpy as np
    from _scoring_openfisca import inputs_of, openfisca_score, openfisca_system

    import enrollment.services.whatif as whatif_module
    from enrollment.models import Role, User
    from enrollment.policy import Policy, default_policy_document, facts_pack, score
    from enrollment.policy.vector import OUTCOME_CODE, facts_matrix, score_many
    from enrollment.services.whatif import policy_what_if

    document = default_policy_document(admission_year=YEAR)
    policy = Policy(document)
    people = population(n, args.seed)
    packed = [facts_pack(f) for f in people]
    columns = inputs_of(people)

    started = time.perf_counter()
    matrix = facts_matrix(packed)
    parse_seconds = time.perf_counter() - started
    system = openfisca_system(document)
    expected_total, expected_outcome = openfisca_score(system, columns, YEAR)  # warm both
    ours = score_many(matrix, policy)
    alternation = alternate(
        lambda: score_many(matrix, policy),
        lambda: openfisca_score(system, columns, YEAR),
        rounds=args.rounds,
    )
    mismatched = max(
        [mismatches(r.result.total_tenths, r.result.outcome, expected_total, expected_outcome)
         for r in alternation.ours]
        + [mismatches(*r.result, expected_total, expected_outcome) for r in alternation.baseline]
    )  # fmt: skip
    emit(bench="scoring", case="columns", n=n, baseline="openfisca-core, the same policy",
         mismatched=mismatched, identical=mismatched == 0, parse_seconds=round(parse_seconds, 4),
         outcomes={name: int(np.count_nonzero(expected_outcome == code))
                   for name, code in OUTCOME_CODE.items()},
         **alternation.fields())  # fmt: skip

    alternation = alternate(lambda: [score(f, policy) for f in people], rounds=args.rounds)
    mismatched = max(
        mismatches([int(s.total_points * 10) for s in run.result],
                   [OUTCOME_CODE[s.outcome] for s in run.result], expected_total, expected_outcome)
        for run in alternation.ours
    )  # fmt: skip
    emit(bench="scoring", case="engine", n=n, mismatched=mismatched, identical=mismatched == 0,
         compared_with="openfisca-core, the same policy", **alternation.fields(digits=3))  # fmt: skip

    build_decisions(people, packed, ours)
    officer = User.objects.create(username="officer", role=Role.OFFICER, district_code=DISTRICT)
    tried = {**document, "version": f"{YEAR}.2-draft", "si_min_months": 24}
    tried["base_points"] = [dict(row) for row in document["base_points"]]
    tried["base_points"][0]["points"] = "105"
    after_total, after_outcome = openfisca_score(openfisca_system(tried), columns, YEAR)
    expected_by_facts = {
        key: (int(total), int(outcome))
        for key, total, outcome in zip(packed, after_total, after_outcome, strict=True)
    }
    expected_summary = whatif_summary(expected_total, expected_outcome, after_total, after_outcome)
    policy_what_if(officer=officer, document=tried)  # warm the connection and the caches
    checks = []

    def whatif():
        with Recorder(whatif_module) as recorder:
            result = policy_what_if(officer=officer, document=tried)
        checks.append((recorder.loaded, recorder.scored))
        return result

    alternation = alternate(whatif, rounds=args.rounds)
    mismatched = max(
        whatif_check(loaded, scored, expected_by_facts, packed) for loaded, scored in checks
    )
    summary_mismatched = max(
        sum(
            reported_summary(run.result)[name] != expected
            for name, expected in expected_summary.items()
        )
        for run in alternation.ours
    )
    result = alternation.ours[-1].result

    def part(name):
        return round(statistics.median(run.result.seconds[name] for run in alternation.ours), 4)

    emit(bench="scoring", case="whatif", n=result.applications, expected_n=n,
         score_seconds=part("score"), load_seconds=part("load"), parse_seconds=part("parse"),
         summarise_seconds=part("summarise"), changed_outcome=result.changed_outcome,
         changed_total=result.changed_total, compared_with="openfisca-core, the changed policy",
         mismatched=mismatched, summary_mismatched=summary_mismatched,
         identical=mismatched == 0 and summary_mismatched == 0 and result.applications == n,
         **alternation.fields())  # fmt: skip


if __name__ == "__main__":
    main()
