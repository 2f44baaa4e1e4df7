"""Properties of the allocation on random instances, checked against brute force."""

import itertools
import random
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from enrollment.allocation import Applicant, School, allocate, lottery_numbers
from enrollment.allocation.deferred_acceptance import priority_order
from enrollment.policy.engine import sort_key

COMMUNITIES = ["440604010001", "440604010002", "440604010003"]
SCHOOLS = ["S1", "S2", "S3", "S4"]


@st.composite
def instances(draw, max_applicants=9, max_schools=4):
    school_count = draw(st.integers(1, max_schools))
    codes = SCHOOLS[:school_count]
    schools = [
        School(
            code,
            draw(st.integers(0, 3)),
            frozenset(draw(st.sets(st.sampled_from(COMMUNITIES), max_size=2))),
        )
        for code in codes
    ]
    count = draw(st.integers(0, max_applicants))
    applicants = []
    for index in range(count):
        prefs = draw(st.lists(st.sampled_from(codes), unique=True, max_size=school_count))
        applicants.append(
            Applicant(
                key=f"A{index:03d}",
                preferences=tuple(prefs),
                home_community=draw(st.sampled_from(COMMUNITIES)),
                # few distinct values, so that the tie-breaks and the lottery matter
                total_points=draw(
                    st.sampled_from([Decimal("60"), Decimal("75.5"), Decimal("100")])
                ),
                hukou_class=draw(st.sampled_from("DCN")),
                housing_class=draw(st.sampled_from(["OWN", "RENT"])),
                residence_months=draw(st.integers(0, 2)),
                si_months=draw(st.integers(0, 2)),
            )
        )
    seed = draw(st.integers(0, 2**32))
    return applicants, schools, seed


def school_priority(applicant: Applicant, school: School, lottery: dict) -> tuple:
    """DOMAIN.md's priority written out again, independently of the algorithm's ranks."""
    return (
        applicant.home_community not in school.catchment,
        sort_key(
            applicant.total_points,
            applicant.hukou_class,
            applicant.housing_class,
            applicant.residence_months,
            applicant.si_months,
            lottery[applicant.key],
        ),
    )


def blocking_pairs(applicants, schools, placement, lottery):
    by_code = {s.code: s for s in schools}
    pairs = []
    for a in applicants:
        got = placement[a.key]
        better = a.preferences if got is None else a.preferences[: a.preferences.index(got)]
        for code in better:
            school = by_code[code]
            holders = [b for b in applicants if placement[b.key] == code]
            if len(holders) < school.capacity or any(
                school_priority(a, school, lottery) < school_priority(b, school, lottery)
                for b in holders
            ):
                pairs.append((a.key, code))
    return pairs


def feasible(applicants, schools, placement):
    by_code = {s.code: s for s in schools}
    for a in applicants:
        if placement[a.key] is not None and placement[a.key] not in a.preferences:
            return False
    return all(
        sum(1 for a in applicants if placement[a.key] == code) <= school.capacity
        for code, school in by_code.items()
    )


@settings(max_examples=200, deadline=None)
@given(instances())
def test_the_matching_is_feasible_and_has_no_blocking_pair(instance):
    applicants, schools, seed = instance

    result = allocate(applicants, schools, seed=seed)

    assert feasible(applicants, schools, result.placement)
    assert blocking_pairs(applicants, schools, result.placement, result.lottery) == []


@settings(max_examples=150, deadline=None)
@given(instances(max_applicants=5, max_schools=3))
def test_every_applicant_does_at_least_as_well_as_in_any_stable_matching(instance):
    applicants, schools, seed = instance
    result = allocate(applicants, schools, seed=seed)

    def preference(a, code):
        return len(a.preferences) if code is None else a.preferences.index(code)

    options = [[None, *a.preferences] for a in applicants]
    for choice in itertools.product(*options):
        placement = {a.key: code for a, code in zip(applicants, choice, strict=True)}
        if not feasible(applicants, schools, placement):
            continue
        if blocking_pairs(applicants, schools, placement, result.lottery):
            continue
        for a in applicants:
            assert preference(a, result.placement[a.key]) <= preference(a, placement[a.key])


@settings(max_examples=100, deadline=None)
@given(instances(), st.randoms(use_true_random=False))
def test_same_inputs_and_seed_give_the_same_result_in_any_input_order(instance, rng):
    applicants, schools, seed = instance
    shuffled_applicants = applicants[:]
    shuffled_schools = schools[:]
    rng.shuffle(shuffled_applicants)
    rng.shuffle(shuffled_schools)

    first = allocate(applicants, schools, seed=seed, with_waiting_lists=True)
    again = allocate(applicants, schools, seed=seed, with_waiting_lists=True)
    reordered = allocate(shuffled_applicants, shuffled_schools, seed=seed, with_waiting_lists=True)

    assert again == first
    assert reordered.placement == first.placement
    assert reordered.lottery == first.lottery
    assert reordered.admitted == first.admitted
    assert reordered.unplaced == first.unplaced
    assert reordered.waiting == first.waiting


@settings(max_examples=60, deadline=None)
@given(instances(max_applicants=20))
def test_the_priority_order_is_exactly_sort_key_order(instance):
    applicants, _, seed = instance
    lottery = lottery_numbers([a.key for a in applicants], seed)

    order = priority_order(applicants, np.array([lottery[a.key] for a in applicants]))
    by_sort_key = sorted(
        applicants,
        key=lambda a: sort_key(
            a.total_points,
            a.hukou_class,
            a.housing_class,
            a.residence_months,
            a.si_months,
            lottery[a.key],
        ),
    )

    assert [applicants[i].key for i in order.tolist()] == [a.key for a in by_sort_key]


@settings(max_examples=100, deadline=None)
@given(instances(), st.integers(0, 2**32))
def test_places_held_from_an_earlier_round_are_kept(instance, other_seed):
    applicants, schools, seed = instance
    earlier = allocate(applicants, schools, seed=seed)
    # a later round: everyone keeps their place and may still rise above it; new seed
    holders = [
        Applicant(
            key=a.key,
            preferences=a.preferences,
            home_community=a.home_community,
            total_points=a.total_points,
            hukou_class=a.hukou_class,
            housing_class=a.housing_class,
            residence_months=a.residence_months,
            si_months=a.si_months,
            held_school=earlier.placement[a.key] or "",
        )
        for a in applicants
    ]
    rng = random.Random(other_seed)
    rng.shuffle(holders)

    later = allocate(holders, schools, seed=other_seed)

    for a in applicants:
        held = earlier.placement[a.key]
        if held is not None:
            got = later.placement[a.key]
            assert got is not None
            assert a.preferences.index(got) <= a.preferences.index(held)
