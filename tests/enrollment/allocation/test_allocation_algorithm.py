"""Deferred acceptance on small hand-made cases whose answers are worked out by hand."""

import random
from decimal import Decimal

import numpy as np
import pytest

from enrollment.allocation import Applicant, School, allocate, lottery_numbers

HOME_A = "440604010001"
HOME_B = "440604010002"
ELSEWHERE = "440604099999"


def applicant(
    key, prefs, *, home=ELSEWHERE, points="100", hukou="D", housing="OWN", res=0, si=0, held=""
):
    return Applicant(
        key=key,
        preferences=tuple(prefs),
        home_community=home,
        total_points=Decimal(points),
        hukou_class=hukou,
        housing_class=housing,
        residence_months=res,
        si_months=si,
        held_school=held,
    )


def test_catchment_comes_before_points():
    schools = [School("A", 1, frozenset({HOME_A})), School("B", 1)]
    applicants = [
        applicant("x", ["A", "B"], home=ELSEWHERE, points="110"),
        applicant("y", ["A", "B"], home=HOME_A, points="60"),
    ]

    result = allocate(applicants, schools, seed=1)

    assert result.placement == {"x": "B", "y": "A"}
    assert result.in_catchment == {"x": False, "y": True}
    assert result.admitted == {"A": ["y"], "B": ["x"]}
    assert result.unplaced == []


def test_higher_points_win_outside_the_catchment():
    schools = [School("A", 1)]
    applicants = [applicant("x", ["A"], points="97.6"), applicant("y", ["A"], points="109.3")]

    result = allocate(applicants, schools, seed=3)

    assert result.placement == {"x": None, "y": "A"}
    assert result.unplaced == ["x"]


@pytest.mark.parametrize(
    ("better", "worse"),
    [
        ({"hukou": "D"}, {"hukou": "C"}),
        ({"hukou": "C"}, {"hukou": "N"}),
        ({"housing": "OWN"}, {"housing": "RENT"}),
        ({"res": 40}, {"res": 39}),
        ({"si": 13}, {"si": 12}),
    ],
)
def test_tie_breaks_follow_the_domain_order(better, worse):
    schools = [School("A", 1)]
    # the worse one is listed first and gets the lower lottery number in half of the seeds
    for seed in range(6):
        result = allocate(
            [applicant("w", ["A"], **worse), applicant("b", ["A"], **better)], schools, seed=seed
        )
        assert result.placement == {"w": None, "b": "A"}


def test_the_lower_lottery_number_breaks_a_complete_tie():
    schools = [School("A", 1)]
    applicants = [applicant("p", ["A"]), applicant("q", ["A"])]
    for seed in range(10):
        result = allocate(applicants, schools, seed=seed)
        winner = min(result.lottery, key=result.lottery.get)
        assert result.placement[winner] == "A"
        assert sorted(result.lottery.values()) == [1, 2]


def test_rejected_applicants_propose_down_their_lists_to_the_applicant_optimal_matching():
    # Points: a 100 > b 90 > c 80, nobody in a catchment. a wants Y then X; b and c want X
    # then Y. X and Y have one seat. b takes X, a takes Y, c is left out.
    schools = [School("X", 1), School("Y", 1)]
    applicants = [
        applicant("a", ["Y", "X"], points="100"),
        applicant("b", ["X", "Y"], points="90"),
        applicant("c", ["X", "Y"], points="80"),
    ]

    result = allocate(applicants, schools, seed=0)

    assert result.placement == {"a": "Y", "b": "X", "c": None}


def test_a_displaced_applicant_moves_on_and_displaces_in_turn():
    # c proposes to X first (alone), then b arrives with more points and pushes c to Y,
    # where c outranks a, who ends at Z.
    schools = [School("X", 1), School("Y", 1), School("Z", 1)]
    applicants = [
        applicant("c", ["X", "Y"], points="80"),
        applicant("a", ["Y", "Z"], points="70"),
        applicant("b", ["X"], points="90"),
    ]

    result = allocate(applicants, schools, seed=0)

    assert result.placement == {"a": "Z", "b": "X", "c": "Y"}
    assert result.admitted == {"X": ["b"], "Y": ["c"], "Z": ["a"]}


def test_admitted_lists_are_in_the_school_priority_order():
    schools = [School("A", 3, frozenset({HOME_B}))]
    applicants = [
        applicant("low", ["A"], points="70"),
        applicant("near", ["A"], points="60", home=HOME_B),
        applicant("high", ["A"], points="105"),
        applicant("out", ["A"], points="65"),
    ]

    result = allocate(applicants, schools, seed=5)

    assert result.admitted == {"A": ["near", "high", "low"]}
    assert result.unplaced == ["out"]


def test_a_held_place_is_never_taken_back():
    schools = [School("A", 1)]
    applicants = [
        applicant("holder", ["A"], points="60", held="A"),
        applicant("newcomer", ["A"], points="110", home=HOME_A),
    ]

    result = allocate(applicants, schools, seed=0)

    assert result.placement == {"holder": "A", "newcomer": None}


def test_waiting_lists_hold_those_who_ranked_the_school_above_their_place():
    schools = [School("X", 1), School("Y", 1), School("Z", 2)]
    applicants = [
        applicant("a", ["X", "Y", "Z"], points="100"),
        applicant("b", ["X", "Y", "Z"], points="90"),
        applicant("c", ["X", "Z"], points="80"),
        applicant("d", ["Y"], points="70"),
    ]

    result = allocate(applicants, schools, seed=0, with_waiting_lists=True)

    assert result.placement == {"a": "X", "b": "Y", "c": "Z", "d": None}
    assert result.waiting == {"X": ["b", "c"], "Y": ["d"], "Z": []}


def test_zero_capacity_and_empty_lists_place_nobody():
    result = allocate([applicant("a", ["A"]), applicant("b", [])], [School("A", 0)], seed=1)

    assert result.placement == {"a": None, "b": None}
    assert result.admitted == {"A": []}


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="unknown school"):
        allocate([applicant("a", ["Q"])], [School("A", 1)], seed=1)
    with pytest.raises(ValueError, match="twice"):
        allocate([applicant("a", ["A", "A"])], [School("A", 1)], seed=1)
    with pytest.raises(ValueError, match="unique"):
        allocate([applicant("a", ["A"]), applicant("a", ["A"])], [School("A", 1)], seed=1)


def test_lottery_numbers_are_a_seeded_permutation_dealt_in_key_order():
    keys = [f"A{i:03d}" for i in range(50)]
    shuffled = keys[:]
    random.Random(9).shuffle(shuffled)

    numbers = lottery_numbers(keys, 20270701)

    assert sorted(numbers.values()) == list(range(1, 51))
    assert lottery_numbers(shuffled, 20270701) == numbers
    # the published recipe: numpy's PCG64 permutation of 1..n, dealt in key order
    expected = np.random.Generator(np.random.PCG64(20270701)).permutation(50) + 1
    assert [numbers[k] for k in keys] == expected.tolist()
    assert lottery_numbers(keys, 20270702) != numbers


def test_points_with_a_finer_fraction_still_follow_sort_key():
    schools = [School("A", 1)]
    applicants = [applicant("x", ["A"], points="90.05"), applicant("y", ["A"], points="90.04")]

    assert allocate(applicants, schools, seed=1).placement == {"x": "A", "y": None}
