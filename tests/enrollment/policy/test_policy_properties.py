"""Properties of scoring: deterministic, the same column-wise as one by one, and a total order."""

import random
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from enrollment.policy import Facts, Policy, default_policy_document, facts_pack, score, sort_key
from enrollment.policy.vector import HOUSING_NAMES, OUTCOMES, facts_matrix, score_many

DEFAULT = default_policy_document(admission_year=2027)

facts_strategy = st.builds(
    Facts,
    hukou_class=st.sampled_from([None, "D", "C", "N"]),
    guardianship_verified=st.booleans(),
    hukou_registered_on=st.one_of(
        st.none(), st.dates(min_value=date(1990, 1, 1), max_value=date(2028, 12, 31))
    ),
    owned_share_percent=st.decimals(min_value=0, max_value=100, places=2),
    has_rental=st.booleans(),
    owns_elsewhere=st.booleans(),
    si_months=st.integers(min_value=0, max_value=120),
    permit_qualifies=st.booleans(),
    housing_evidence_accepted=st.booleans(),
    rejected_on_review=st.frozensets(st.sampled_from(["child_hukou", "housing", "guardianship"])),
)


@st.composite
def documents(draw):
    """The default document with its numbers changed within their valid ranges."""
    document = {**DEFAULT, "base_points": [dict(r) for r in DEFAULT["base_points"]]}
    tenths = st.integers(min_value=0, max_value=1500).map(lambda t: str(Decimal(t) / 10))
    for row in document["base_points"]:
        row["points"] = draw(tenths)
    document["bonus"] = {
        hukou: {
            "per": draw(st.sampled_from(["residence_month", "si_month"])),
            "beyond": draw(st.integers(min_value=0, max_value=24)),
            "points": str(Decimal(draw(st.integers(min_value=0, max_value=5))) / 10),
            "cap": draw(tenths),
        }
        for hukou in draw(st.sets(st.sampled_from(["D", "C", "N"])))
    }
    document["si_min_months"] = draw(st.integers(min_value=0, max_value=60))
    document["ownership_min_share_percent"] = str(draw(st.integers(min_value=1, max_value=100)))
    document["cutoff"] = draw(
        st.dates(min_value=date(2027, 1, 1), max_value=date(2027, 12, 31))
    ).isoformat()
    document["permit_required_for"] = sorted(draw(st.sets(st.sampled_from(["D", "C", "N"]))))
    return document


@settings(max_examples=150, deadline=None)
@given(facts=facts_strategy)
def test_scoring_is_deterministic(facts):
    first = score(facts, Policy(DEFAULT))
    # The same facts through a fresh copy of the same document: the very same result.
    again = score(Facts(**{**facts.__dict__}), Policy(dict(reversed(list(DEFAULT.items())))))

    assert first == again


@settings(max_examples=100, deadline=None)
@given(population=st.lists(facts_strategy, min_size=1, max_size=40), document=documents())
def test_column_wise_scoring_equals_the_engine_exactly(population, document):
    policy = Policy(document)

    columns = score_many(facts_matrix([facts_pack(f) for f in population]), policy)

    for index, facts in enumerate(population):
        expected = score(facts, policy)
        assert OUTCOMES[columns.outcome[index]] == expected.outcome
        assert HOUSING_NAMES[columns.housing[index]] == expected.housing_class
        assert Decimal(int(columns.total_tenths[index])) / 10 == expected.total_points
        assert Decimal(int(columns.base_tenths[index])) / 10 == expected.base_points
        assert columns.residence_months[index] == expected.residence_months


ranked = st.tuples(
    st.decimals(min_value=0, max_value=120, places=1),
    st.sampled_from(["D", "C", "N"]),
    st.sampled_from(["OWN", "RENT"]),
    st.integers(min_value=0, max_value=200),
    st.integers(min_value=0, max_value=120),
)


@settings(max_examples=200, deadline=None)
@given(entries=st.lists(ranked, min_size=2, max_size=60), seed=st.integers(0, 2**32 - 1))
def test_ordering_by_total_and_tie_breaks_is_total(entries, seed):
    # Distinct lottery numbers, as the allocation run draws them.
    lotteries = random.Random(seed).sample(range(1, 10 * len(entries)), len(entries))
    keys = [sort_key(*entry, lottery) for entry, lottery in zip(entries, lotteries, strict=True)]

    # No two applicants are tied ...
    assert len(set(keys)) == len(keys)
    # ... and the order does not depend on the order they came in.
    shuffled = keys[:]
    random.Random(seed + 1).shuffle(shuffled)
    assert sorted(shuffled) == sorted(keys)
    ordered = sorted(keys)
    for higher, lower in zip(ordered, ordered[1:], strict=False):
        # More points always come first; equal points fall to the tie-breaks in DOMAIN.md's order.
        assert -higher[0] >= -lower[0]


def test_tie_breaks_follow_domain_order():
    total = Decimal("90.0")
    order = sorted(
        [
            ("lower lottery", sort_key(total, "C", "RENT", 10, 0, 1)),
            ("hukou D", sort_key(total, "D", "RENT", 0, 0, 99)),
            ("own", sort_key(total, "C", "OWN", 0, 0, 98)),
            ("more residence", sort_key(total, "C", "RENT", 11, 0, 97)),
            ("more si", sort_key(total, "C", "RENT", 10, 5, 96)),
            ("higher lottery", sort_key(total, "C", "RENT", 10, 0, 2)),
            ("more points", sort_key(Decimal("90.1"), "N", "RENT", 0, 0, 100)),
        ],
        key=lambda item: item[1],
    )

    assert [name for name, _ in order] == [
        "more points",
        "hukou D",
        "own",
        "more residence",
        "more si",
        "lower lottery",
        "higher lottery",
    ]
