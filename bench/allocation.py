"""Deferred acceptance (enrollment.allocation) against a compiled baseline and `matching` 1.4.3.

Cases (one JSON line each; ours and each baseline alternated `--rounds` times, medians):
- `200000x1000`: a city, 200,000 applicants over 1,000 schools, 5 preferences each; ours
  against the compiled baseline.
- `10000x100`, `20000x200`: a district; ours against the compiled baseline and against
  matching's HospitalResident (resident-optimal: the same student-proposing deferred
  acceptance), which is too slow for a city.

Timed on our side: the whole `allocate()` call (the seeded lottery, the priority sort, the
per-school ranks, deferred acceptance, the result's dictionaries). The compiled baseline
(bench/_da_baseline.c, built with `cc -O2` at run time) is a plain round-by-round deferred
acceptance with a binary max-heap per school over exactly the ranks `allocate()` compares,
computed here from DOMAIN.md's rules and handed over untimed; its `baseline_seconds` and
`baseline_cpu_seconds` are the solve alone as the program times it (clock_gettime), and
`baseline_process_seconds` / `baseline_process_cpu_seconds` the whole process (start, reading
the input, writing the placement). `ratio_compiled` = compiled / ours, `times_compiled` =
ours / compiled (the goal: at most 3 at 200000x1000), `times_compiled_cpu` the same in CPU
seconds (steadier than the wall clock when other work shares the cores). matching is handed
each school's list already sorted (untimed): its game construction and solve are timed, and
`matching_check_inputs_seconds` is the part spent in its `check_inputs`. `ratio_matching` =
matching / ours (the goal: at least 100 at 20000x200). `target_met` says whether a case's goal
was met in this run.

`identical` compares full placements (every applicant's school or none) of every round of
every side with our first round (`identical_compiled`, `identical_matching` per baseline).
`proposals` and `proposal_rounds` are counted by the compiled program (`rounds` is the number
of alternated rounds). `ours_proposals` is counted in extra untimed runs of ours with its two
deferred-acceptance steps wrapped (`proposals_agree` when it equals the compiled count), which
also give `ours_phases_seconds` (preparation, first choices, the proposals loop, the result)
and `ours_da_seconds` (first choices and the loop: the part the compiled program does).
`python_floor_seconds` is the least any Python `allocate()` must do besides the algorithm:
read the keys, sort them for the lottery, build the placement dictionary. The
`*_times_compiled` fields divide those by the compiled solve.

The population is synthetic and seeded: each applicant lives in the catchment of one school,
ranks it first, then four schools nearby; points follow DOMAIN.md's base table plus a bonus;
seats are 90 % of the applicants, unevenly spread, so popular schools overflow.

No database: the algorithm has none. A C compiler (`cc`) builds the baseline; matching comes
with the pyproject `bench` extra (without it, the district cases say so and run against the
compiled baseline only).

    python bench/allocation.py              # all cases at full size
    python bench/allocation.py --scale 0.1  # a quick look
"""

import argparse
import gc
import random
import statistics
import sys
import time
from decimal import Decimal

from _common import alternate, emit, peak_rss_mb, timed
from _da_compiled import CompiledBaseline
from _da_matching import MatchingBaseline, available

from enrollment.allocation import Applicant, School, allocate
from enrollment.allocation import deferred_acceptance as da

BASE_POINTS = [100, 95, 90, 80, 75, 70, 60]
PREFERENCES = 5
TIMES_COMPILED_GOAL = 3.0  # at 200000x1000
RATIO_MATCHING_GOAL = 100  # at 20000x200 (docs/benchmarks.md)
CITY = (200_000, 1_000)
DISTRICTS = ((10_000, 100), (20_000, 200))


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


class Ours:
    """`allocate()` as one side of an alternation. The result is kept until `settle()`, which
    runs untimed before every call, so that freeing it is not counted in the next call."""

    def __init__(self, people, schools, seed: int) -> None:
        self.people, self.schools, self.seed = people, schools, seed
        self.latest = None
        self.reference: dict | None = None
        self.unplaced = 0
        self.identical = True

    def __call__(self) -> None:
        self.latest = allocate(self.people, self.schools, seed=self.seed)

    def settle(self) -> None:
        if self.latest is not None:
            if self.reference is None:
                self.reference = self.latest.placement
                self.unplaced = len(self.latest.unplaced)
            else:
                self.identical = self.identical and self.latest.placement == self.reference
            self.latest = None
        gc.collect()


def instrumented(people, schools, seed: int, rounds: int) -> dict:
    """Extra, untimed runs of ours with its two deferred-acceptance steps wrapped: the median
    seconds of each phase and the proposals made (each applicant's proposals are the pairs up
    to where their `next_choice` ends)."""
    marks: dict = {}
    first_choices, proposals_loop = da._first_choices, da._deferred_acceptance

    def first_wrapped(*args):
        marks["first"] = time.perf_counter()
        try:
            return first_choices(*args)
        finally:
            marks["loop"] = time.perf_counter()

    def loop_wrapped(*args):
        try:
            heaps, next_choice = proposals_loop(*args)
        finally:
            marks["results"] = time.perf_counter()
        marks["next_choice"], marks["offsets"] = next_choice, args[6]
        return heaps, next_choice

    phases: dict[str, list[float]] = {}
    proposals = set()
    da._first_choices, da._deferred_acceptance = first_wrapped, loop_wrapped
    try:
        for _ in range(rounds):
            gc.collect()
            started = time.perf_counter()
            result = allocate(people, schools, seed=seed)
            ended = time.perf_counter()
            del result
            for name, seconds in (
                ("prepare", marks["first"] - started),
                ("first_choices", marks["loop"] - marks["first"]),
                ("proposals_loop", marks["results"] - marks["loop"]),
                ("results", ended - marks["results"]),
                ("da", marks["results"] - marks["first"]),
            ):
                phases.setdefault(name, []).append(seconds)
            proposals.add(sum(marks["next_choice"]) - int(marks["offsets"][:-1].sum()))
    finally:
        da._first_choices, da._deferred_acceptance = first_choices, proposals_loop
    da_seconds = phases.pop("da")
    return {
        "ours_proposals": proposals.pop() if len(proposals) == 1 else None,
        "ours_phases_seconds": {name: round(median(each), 4) for name, each in phases.items()},
        "ours_da_seconds": round(median(da_seconds), 4),
    }


def python_floor(people, compiled: CompiledBaseline, indices, rounds: int) -> dict:
    """The least any Python `allocate()` must do besides deferred acceptance, timed apart: read
    every applicant's key, sort the keys (the lottery is dealt in their order) and build the
    key -> school dictionary of `Allocation.placement` (here from the compiled placement)."""
    codes = compiled.codes

    def once():
        keys = [a.key for a in people]
        sorted(keys)
        return dict(zip(keys, [codes[s] if s >= 0 else None for s in indices], strict=True))

    gc.collect()
    return {"python_floor_seconds": round(median(timed(once).seconds for _ in range(rounds)), 6)}


def median(values) -> float:
    return statistics.median(values)


def against_compiled(ours: Ours, compiled: CompiledBaseline, rounds: int) -> dict:
    """Ours and the compiled program alternated; the baseline's seconds are its solve alone."""
    alternation = alternate(ours, compiled.run, rounds=rounds, before_each=ours.settle)
    ours.settle()
    runs = alternation.baseline
    process_seconds = [run.seconds for run in runs]
    process_cpu = [run.cpu_seconds for run in runs]
    for run in runs:
        run.seconds = run.result["solve_seconds"]
        run.cpu_seconds = run.result["solve_cpu_seconds"]
    figures = alternation.fields(digits=6)
    same = all(compiled.placement(run.result["placement"]) == ours.reference for run in runs)
    counts = {(run.result["proposals"], run.result["rounds"]) for run in runs}
    proposals, proposal_rounds = next(iter(counts))
    times = figures["seconds"] / figures["baseline_seconds"]
    return figures | {
        "baseline_process_seconds": round(median(process_seconds), 6),
        "baseline_process_cpu_seconds": round(median(process_cpu), 6),
        "baseline_program_cpu_seconds": round(
            median(run.result["process_cpu_seconds"] for run in runs), 6
        ),
        "ratio_compiled": figures["ratio"],
        "times_compiled": round(times, 2),
        "times_compiled_cpu": round(figures["cpu_seconds"] / figures["baseline_cpu_seconds"], 2),
        "proposals": proposals if len(counts) == 1 else None,
        "proposal_rounds": proposal_rounds if len(counts) == 1 else None,
        "identical_compiled": same,
    }


def against_matching(ours: Ours, matching: MatchingBaseline, rounds: int) -> dict:
    def settle():
        matching.release()
        ours.settle()

    alternation = alternate(ours, matching.run, rounds=rounds, before_each=settle)
    settle()
    runs = alternation.baseline
    ours_seconds = median(run.seconds for run in alternation.ours)
    seconds = median(run.seconds for run in runs)
    checks = [run.result["check_inputs_seconds"] for run in runs]
    shares = [check / run.seconds for check, run in zip(checks, runs, strict=True)]
    return {
        "matching_seconds": round(seconds, 4),
        "matching_cpu_seconds": round(median(run.cpu_seconds for run in runs), 4),
        "matching_seconds_each": [round(run.seconds, 4) for run in runs],
        "matching_check_inputs_seconds": round(median(checks), 4),
        "matching_check_inputs_share": round(median(shares), 3),
        "ours_seconds_beside_matching": round(ours_seconds, 4),
        "ratio_matching": round(seconds / ours_seconds, 1),
        "ratio_matching_without_check_inputs": round(
            median(run.seconds - check for run, check in zip(runs, checks, strict=True))
            / ours_seconds,
            1,
        ),
        "identical_matching": all(run.result["placement"] == ours.reference for run in runs),
        "matching_load_average_start": alternation.load_average_start,
    }


def run_case(applicants, school_count, population_seed, args, compiled, *, with_matching):
    n, m = applicants, school_count
    people, schools = population(n, m, seed=population_seed)
    compiled.prepare(people, schools, args.seed)
    ours = Ours(people, schools, args.seed)
    record = {
        "bench": "allocation",
        "case": f"{n}x{m}",
        "n": n,
        "schools": m,
        "preferences": PREFERENCES,
        "baseline": f"compiled deferred acceptance, binary heap per school ({compiled.compiler}, -O2)",
    }
    record |= against_compiled(ours, compiled, args.rounds)
    record |= {"placed": n - ours.unplaced, "unplaced": ours.unplaced}
    matching_ran = False
    if with_matching:
        version = available()
        if version is None:
            record["matching"] = "not installed: pip install matching==1.4.3 (the bench extra)"
        else:
            record["matching"] = f"matching {version} HospitalResident(optimal=resident)"
            record |= against_matching(ours, MatchingBaseline(compiled), args.rounds)
            matching_ran = True
    record |= instrumented(people, schools, args.seed, args.rounds)
    record |= python_floor(people, compiled, compiled.run()["placement"], args.rounds)
    for name in ("ours_da_seconds", "python_floor_seconds"):
        record[name.replace("seconds", "times_compiled")] = round(
            record[name] / record["baseline_seconds"], 2
        )
    record["proposals_agree"] = record["ours_proposals"] == record["proposals"]
    record["identical"] = (
        ours.identical
        and record["identical_compiled"]
        and (record["identical_matching"] if matching_ran else True)
    )
    return record


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="shrinks every case")
    parser.add_argument("--seed", type=int, default=20270701, help="the lottery seed")
    parser.add_argument("--rounds", type=int, default=5, help="alternated rounds of each side")
    parser.add_argument(
        "--cases",
        choices=["all", "city", "compare"],
        default="all",
        help="the city-wide case, the district comparisons, or both",
    )
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    def size(applicants, schools):
        return max(10, int(applicants * args.scale)), max(2, int(schools * args.scale))

    cases = []  # (applicants, schools, population seed, against matching, target)
    if args.cases in ("all", "city"):
        cases.append((*size(*CITY), 1, False, "times_compiled"))
    if args.cases in ("all", "compare"):
        cases.append((*size(*DISTRICTS[0]), 2, True, None))
        cases.append((*size(*DISTRICTS[1]), 2, True, "ratio_matching"))
    ok = True
    compiled = CompiledBaseline()
    try:
        for n, m, population_seed, with_matching, target in cases:
            record = run_case(n, m, population_seed, args, compiled, with_matching=with_matching)
            if target == "times_compiled":
                record["target"] = f"times_compiled <= {TIMES_COMPILED_GOAL}"
                record["target_met"] = record["times_compiled"] <= TIMES_COMPILED_GOAL
            elif target == "ratio_matching" and "ratio_matching" in record:
                record["target"] = f"ratio_matching >= {RATIO_MATCHING_GOAL}"
                record["target_met"] = record["ratio_matching"] >= RATIO_MATCHING_GOAL
            record["peak_rss_mb"] = peak_rss_mb()
            emit(**record)
            ok = ok and record["identical"]
    finally:
        compiled.close()
    if not ok:
        print("the placements differ between ours and a baseline", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
