"""Student-proposing deferred acceptance over ranked school lists (DOMAIN.md "Allocation").

Plain data in, plain data out, no database, so that a city's 200,000 applicants allocate in
seconds and the result can be checked by hand on small cases.

A school's priority over applicants is, in order:
1. a place the applicant already holds there from an earlier round (`held_school`), so that a
   later round never takes back a place that was offered;
2. home community in the school's catchment;
3. the global order of `enrollment.policy.engine.sort_key`: total points, then hukou class
   D > C > N, housing OWN > RENT, more residence months, more social-insurance months, and the
   lower lottery number.

The global order is sorted once; a school's rank of an applicant is then one integer,
`tier * n + global_position`, which keeps the inner loop to integer comparisons on a heap of
the school's capacity (the worst admitted applicant on top).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from enrollment.policy.engine import HOUSING_RANK, HUKOU_RANK, sort_key

# Priority tiers at one school; a lower tier comes first.
TIER_HELD, TIER_CATCHMENT, TIER_OTHER = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Applicant:
    """One eligible application as the algorithm sees it.

    `key` is the application's public reference: lottery numbers are dealt in the order of the
    sorted keys, so anyone holding the published seed and the list of references can check them.
    """

    key: str
    preferences: tuple[str, ...]
    home_community: str
    total_points: Decimal
    hukou_class: str
    housing_class: str
    residence_months: int = 0
    si_months: int = 0
    held_school: str = ""


@dataclass(frozen=True, slots=True)
class School:
    code: str
    capacity: int
    catchment: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Allocation:
    """The outcome: each applicant's school (None when not placed) and how it was reached."""

    seed: int
    placement: dict[str, str | None]
    lottery: dict[str, int]
    in_catchment: dict[str, bool]
    # Each school's admitted applicants in the school's priority order (rank 1 first).
    admitted: dict[str, list[str]]
    # Applicants placed nowhere, in the global order.
    unplaced: list[str]
    # Per school, applicants who ranked it above the place they got (or were not placed), in
    # the school's priority order; filled only when asked for.
    waiting: dict[str, list[str]] = field(default_factory=dict)


def lottery_numbers(keys: Iterable[str], seed: int) -> dict[str, int]:
    """Numbers 1..n dealt to the sorted keys by a permutation from `random.Random(seed)`."""
    ordered = sorted(keys)
    numbers = list(range(1, len(ordered) + 1))
    # Reproducible by design: the seed is published so that anyone can re-deal the numbers.
    random.Random(seed).shuffle(numbers)  # noqa: S311
    return dict(zip(ordered, numbers, strict=True))


def priority_keys(applicants: Sequence[Applicant], lottery: dict[str, int]) -> list:
    """Keys whose order is exactly `sort_key`'s order.

    Totals are published with one decimal place, so each key is packed into one integer
    (points in tenths, then the tie-breaks, then the lottery number, each in a field wide enough
    for the largest value present); integers sort about twice as fast as tuples of Decimals.
    Any total with a finer fraction falls back to the `sort_key` tuples themselves.
    """
    tenths_of: dict[Decimal, int] = {}
    tenths: list[int] = []
    for a in applicants:
        value = tenths_of.get(a.total_points)
        if value is None:
            scaled = Decimal(a.total_points) * 10
            if scaled != scaled.to_integral_value():
                return [
                    sort_key(
                        b.total_points,
                        b.hukou_class,
                        b.housing_class,
                        b.residence_months,
                        b.si_months,
                        lottery[b.key],
                    )
                    for b in applicants
                ]
            value = tenths_of[a.total_points] = int(scaled)
        tenths.append(value)
    if not applicants:
        return []
    top_total = max(tenths)
    top_residence = max(max(a.residence_months for a in applicants), 0)
    top_si = max(max(a.si_months for a in applicants), 0)
    residence_width = top_residence + 1
    si_width = top_si + 1
    lottery_width = len(applicants) + 1
    keys = []
    for a, total in zip(applicants, tenths, strict=True):
        if a.residence_months < 0 or a.si_months < 0:
            raise ValueError(f"applicant {a.key} has negative months")
        key = (top_total - total) * 4 + HUKOU_RANK.get(a.hukou_class, 3)
        key = key * 4 + HOUSING_RANK.get(a.housing_class, 3)
        key = key * residence_width + (top_residence - a.residence_months)
        key = key * si_width + (top_si - a.si_months)
        keys.append(key * lottery_width + lottery[a.key])
    return keys


def allocate(
    applicants: Sequence[Applicant],
    schools: Sequence[School],
    *,
    seed: int,
    with_waiting_lists: bool = False,
) -> Allocation:
    """Run deferred acceptance; the same applicants, schools and seed give the same result,
    whatever the order of the inputs."""
    n = len(applicants)
    keys = [a.key for a in applicants]
    if len(set(keys)) != n:
        raise ValueError("applicant keys must be unique")
    school_index = {s.code: index for index, s in enumerate(schools)}
    if len(school_index) != len(schools):
        raise ValueError("school codes must be unique")
    capacity = [max(int(s.capacity), 0) for s in schools]
    catchments = [s.catchment for s in schools]

    lottery = lottery_numbers(keys, seed)
    priority = priority_keys(applicants, lottery)
    order = sorted(range(n), key=priority.__getitem__)
    del priority
    position = [0] * n
    for place, i in enumerate(order):
        position[i] = place

    # community -> indices of the schools whose catchment holds it
    catchment_schools: dict[str, set[int]] = {}
    for s, catchment in enumerate(catchments):
        for community in catchment:
            catchment_schools.setdefault(community, set()).add(s)
    nobody: set[int] = set()
    in_tier = n * TIER_CATCHMENT
    out_tier = n * TIER_OTHER
    lookup = school_index.__getitem__
    pref_index: list[list[int]] = [[]] * n
    pref_rank: list[list[int]] = [[]] * n
    for i, applicant in enumerate(applicants):
        try:
            prefs = list(map(lookup, applicant.preferences))
        except KeyError as error:
            raise ValueError(f"applicant {applicant.key} ranks unknown school {error}") from None
        if len(set(prefs)) != len(prefs):
            raise ValueError(f"applicant {applicant.key} ranks a school twice")
        base = position[i]
        home_schools = catchment_schools.get(applicant.home_community, nobody)
        ranks = [base + (in_tier if s in home_schools else out_tier) for s in prefs]
        if applicant.held_school:
            held = school_index.get(applicant.held_school, -1)
            if held in prefs:
                ranks[prefs.index(held)] = base + n * TIER_HELD
        pref_index[i] = prefs
        pref_rank[i] = ranks

    heaps = _deferred_acceptance(n, pref_index, pref_rank, capacity, order)

    placement: dict[str, str | None] = dict.fromkeys(keys)
    in_catchment: dict[str, bool] = dict.fromkeys(keys, False)
    admitted: dict[str, list[str]] = {}
    placed_at = [-1] * n
    for s, heap in enumerate(heaps):
        code = schools[s].code
        ranked = sorted(-value for value in heap)
        members = [order[value % n] for value in ranked]
        admitted[code] = [keys[i] for i in members]
        for i in members:
            placed_at[i] = s
            placement[keys[i]] = code
            in_catchment[keys[i]] = applicants[i].home_community in catchments[s]
    unplaced = [keys[i] for i in order if placed_at[i] < 0]

    waiting: dict[str, list[str]] = {}
    if with_waiting_lists:
        candidates: list[list[int]] = [[] for _ in schools]
        for i in range(n):
            got = placed_at[i]
            for s, rank in zip(pref_index[i], pref_rank[i], strict=True):
                if s == got:
                    break
                candidates[s].append(rank)
        for s, ranks in enumerate(candidates):
            ranks.sort()
            waiting[schools[s].code] = [keys[order[rank % n]] for rank in ranks]

    return Allocation(
        seed=seed,
        placement=placement,
        lottery=lottery,
        in_catchment=in_catchment,
        admitted=admitted,
        unplaced=unplaced,
        waiting=waiting,
    )


def _deferred_acceptance(
    n: int,
    pref_index: list[list[int]],
    pref_rank: list[list[int]],
    capacity: list[int],
    order: list[int],
) -> list[list[int]]:
    """Each school keeps a max-heap (negated ranks) of at most its capacity; an applicant
    proposes down their list until held, and whoever is pushed out proposes next. Each
    applicant proposes at most once to each school, so the work is O(proposals * log capacity).
    The order in which free applicants propose does not change the outcome."""
    heaps: list[list[int]] = [[] for _ in capacity]
    next_choice = [0] * n
    heappush, heapreplace = heapq.heappush, heapq.heapreplace
    for start in range(n):
        current = start
        while current >= 0:
            prefs = pref_index[current]
            ranks = pref_rank[current]
            k = next_choice[current]
            length = len(prefs)
            displaced = -1
            while k < length:
                s = prefs[k]
                rank = ranks[k]
                k += 1
                heap = heaps[s]
                if len(heap) < capacity[s]:
                    heappush(heap, -rank)
                    break
                if heap and -heap[0] > rank:
                    displaced = order[(-heapreplace(heap, -rank)) % n]
                    break
            next_choice[current] = k
            current = displaced
    return heaps
