"""Deferred acceptance (enrollment.allocation) against the `matching` package 1.4.3.

Cases (one JSON line each):
- `200000x1000`: a city, 200,000 applicants over 1,000 schools, 5 preferences each; ours alone.
- `10000x100`, `20000x200`: a district; ours and matching's HospitalResident (resident-optimal,
  the same student-proposing deferred acceptance), asserting that the two matchings are
  identical and reporting `ratio` = matching's seconds / ours.

The timed part of ours is the whole `allocate()` call: the seeded lottery, the priority sort,
the per-school ranks and deferred acceptance. matching is handed each school's priority list
already sorted (built from our ranks, untimed), so only its game construction and solve are
timed: the comparison favours the baseline.

The population is synthetic and seeded: each applicant lives in the catchment of one school,
ranks it first, then four schools nearby; points follow DOMAIN.md's base table plus a bonus;
seats are 90 % of the applicants, unevenly spread, so popular schools overflow.

This benchmark needs no database: the algorithm has none. Needs `pip install "matching==1.4.3"`
(the pyproject `bench` extra).

    python bench/allocation.py              # all cases at full size
    python bench/allocation.py --scale 0.1  # a quick look
"""

import argparse
import gc
import json
import os
import random
import resource
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from enrollment.allocation import Applicant, School, allocate  # noqa: E402
from enrollment.policy.engine import sort_key  # noqa: E402

BASE_POINTS = [100, 95, 90, 80, 75, 70, 60]
PREFERENCES = 5


def population(applicants: int, schools: int, seed: int):
    rng = random.Random(seed)
    communities_per_school = 3
    school_list = []
    for index in range(schools):
        district = 4 + index * 5 // schools  # 440604 .. 440608
        catchment = frozenset(
            f"4406{district:02d}{index // 100 + 1:03d}{(index % 100) * communities_per_school + c:03d}"
            for c in range(communities_per_school)
        )
        school_list.append((f"S{index:05d}", catchment))
    weights = [rng.uniform(0.5, 1.5) for _ in range(schools)]
    seats_total = int(applicants * 0.9)
    scale = seats_total / sum(weights)
    built_schools = [
        School(code, max(1, round(weight * scale)), catchment)
        for (code, catchment), weight in zip(school_list, weights, strict=True)
    ]
    people = []
    spread = max(2, min(10, schools // 2))
    for index in range(applicants):
        home_school = rng.randrange(schools)
        home = sorted(school_list[home_school][1])[rng.randrange(communities_per_school)]
        prefs = [home_school]
        wanted = min(PREFERENCES, schools)
        while len(prefs) < wanted:
            other = (home_school + rng.randint(-spread, spread)) % schools
            if other not in prefs:
                prefs.append(other)
        rng.shuffle(prefs) if rng.random() < 0.3 else None  # some put a popular school first
        hukou = rng.choice("DDDCCN")
        people.append(
            Applicant(
                key=f"A{index:07d}",
                preferences=tuple(school_list[s][0] for s in prefs),
                home_community=home,
                total_points=Decimal(rng.choice(BASE_POINTS)) + Decimal(rng.randint(0, 100)) / 10,
                hukou_class=hukou,
                housing_class=rng.choice(["OWN", "OWN", "RENT"]),
                residence_months=rng.randint(0, 96) if hukou != "N" else 0,
                si_months=rng.randint(12, 120),
            )
        )
    return people, built_schools


def ours(people, schools, seed):
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    result = allocate(people, schools, seed=seed)
    return result, time.perf_counter() - started, time.process_time() - cpu


def matching_baseline(people, schools, result):
    """matching copies its players deeply (recursively), which needs a deep stack: run it in a
    thread with a 1 GB stack and a high recursion limit."""
    outcome = {}

    def target():
        outcome["value"] = _matching_baseline(people, schools, result)

    sys.setrecursionlimit(1_000_000)
    threading.stack_size(1024 * 1024 * 1024)
    worker = threading.Thread(target=target)
    worker.start()
    worker.join()
    threading.stack_size(0)
    return outcome["value"]


def _matching_baseline(people, schools, result):
    from matching.games import HospitalResident

    by_code = {school.code: school for school in schools}
    resident_prefs = {a.key: list(a.preferences) for a in people if a.preferences}
    priority = {
        a.key: sort_key(
            a.total_points,
            a.hukou_class,
            a.housing_class,
            a.residence_months,
            a.si_months,
            result.lottery[a.key],
        )
        for a in people
    }
    hospital_prefs = {school.code: [] for school in schools}
    home = {a.key: a.home_community for a in people}
    for key, prefs in resident_prefs.items():
        for code in prefs:
            hospital_prefs[code].append(key)
    for code, keys in hospital_prefs.items():
        catchment = by_code[code].catchment
        keys.sort(key=lambda k, c=catchment: (home[k] not in c, priority[k]))
    capacities = {school.code: school.capacity for school in schools}
    gc.collect()
    started = time.perf_counter()
    game = HospitalResident.create_from_dictionaries(resident_prefs, hospital_prefs, capacities)
    solved = game.solve(optimal="resident")
    seconds = time.perf_counter() - started
    placement = dict.fromkeys((a.key for a in people), None)
    for hospital, residents in solved.items():
        for resident in residents:
            placement[resident.name] = hospital.name
    return placement, seconds


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def report(case, n, seconds, **extra):
    line = {
        "bench": "allocation",
        "case": case,
        "n": n,
        "seconds": round(seconds, 3),
        "per_second": round(n / seconds) if seconds else None,
        **extra,
        "peak_rss_mb": peak_rss_mb(),
    }
    print(json.dumps(line), flush=True)
    return line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="shrinks every case")
    parser.add_argument("--seed", type=int, default=20270701, help="the lottery seed")
    parser.add_argument(
        "--cases",
        choices=["all", "city", "compare"],
        default="all",
        help="the city-wide case, the comparisons with matching, or both",
    )
    args = parser.parse_args()

    def size(applicants, schools):
        return max(10, int(applicants * args.scale)), max(2, int(schools * args.scale))

    ok = True
    if args.cases in ("all", "city"):
        n, m = size(200_000, 1_000)
        people, schools = population(n, m, seed=1)
        result, seconds, cpu_seconds = ours(people, schools, args.seed)
        report(
            f"{n}x{m}",
            n,
            seconds,
            schools=m,
            preferences=PREFERENCES,
            placed=n - len(result.unplaced),
            unplaced=len(result.unplaced),
            cpu_seconds=round(cpu_seconds, 3),
            load_average=round(os.getloadavg()[0], 1),
            baseline=None,
        )
        del people, schools, result

    comparisons = ((10_000, 100), (20_000, 200)) if args.cases in ("all", "compare") else ()
    for applicants, school_count in comparisons:
        n, m = size(applicants, school_count)
        people, schools = population(n, m, seed=2)
        result, seconds, cpu_seconds = ours(people, schools, args.seed)
        theirs, baseline_seconds = matching_baseline(people, schools, result)
        identical = theirs == result.placement
        ok = ok and identical
        report(
            f"{n}x{m}",
            n,
            seconds,
            schools=m,
            preferences=PREFERENCES,
            placed=n - len(result.unplaced),
            unplaced=len(result.unplaced),
            cpu_seconds=round(cpu_seconds, 3),
            baseline="matching 1.4.3 HospitalResident(optimal=resident)",
            baseline_seconds=round(baseline_seconds, 3),
            ratio=round(baseline_seconds / seconds, 1),
            identical=identical,
        )
    if not ok:
        print("the matchings differ from matching's", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
