"""The engine's scoring, column-wise over many applications at once (numpy).

Same rules as `enrollment.policy.engine.score`, on packed facts (`facts_pack`), with points
counted in tenths as integers so that the totals are exactly the engine's. What-if rescoring
of a city's 200,000 applications runs here; `score` stays the reference it is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from enrollment.policy.engine import HUKOU_CODE, PACKED_FIELDS, PACKED_LENGTH, Policy

OUTCOMES = ("eligible", "ineligible", "needs_review")
OUTCOME_CODE = {name: code for code, name in enumerate(OUTCOMES)}
HOUSING_OWN, HOUSING_RENT, HOUSING_NONE = 0, 1, 2
HOUSING_NAMES = ("OWN", "RENT", "NONE")

(
    _HUKOU,
    _REGISTERED,
    _SHARE,
    _RENTAL,
    _ELSEWHERE,
    _SI,
    _PERMIT,
    _HOUSING_EVIDENCE,
    _HUKOU_REJECTED,
    _HOUSING_REJECTED,
    _GUARDIANSHIP,
    _GUARDIANSHIP_REJECTED,
) = range(len(PACKED_FIELDS))


@dataclass(frozen=True)
class VectorScores:
    outcome: np.ndarray  # OUTCOME_CODE
    housing: np.ndarray  # HOUSING_*
    residence_months: np.ndarray
    base_tenths: np.ndarray
    bonus_tenths: np.ndarray
    total_tenths: np.ndarray


def facts_matrix(packed: list[str]) -> np.ndarray:
    """Packed facts strings to an (n, 12) int64 matrix: the fixed-width digits are read as one
    block of bytes, with no per-row parsing."""
    if not packed:
        return np.zeros((0, len(PACKED_FIELDS)), dtype=np.int64)
    block = "".join(packed).encode("ascii")
    if len(block) != len(packed) * PACKED_LENGTH:
        raise ValueError("packed facts of the wrong length")
    digits = np.frombuffer(block, dtype=np.uint8).reshape(len(packed), PACKED_LENGTH)
    return facts_matrix_from_digits(digits)


def facts_matrix_from_digits(digits: np.ndarray) -> np.ndarray:
    """(n, PACKED_LENGTH) bytes of packed facts to the (n, 12) int64 matrix.

    The bytes are transposed once so that each digit position is one contiguous row; each
    field is then built from its few rows. The matrix returned is a view whose columns are
    contiguous, which is how score_many reads it."""
    by_position = np.ascontiguousarray(digits.T) - np.uint8(ord("0"))
    fields = np.empty((len(PACKED_FIELDS), digits.shape[0]), dtype=np.int64)
    start = 0
    for column, (_, width) in enumerate(PACKED_FIELDS):
        value = by_position[start].astype(np.int64)
        for offset in range(start + 1, start + width):
            value *= 10
            value += by_position[offset]
        fields[column] = value
        start += width + 1
    return fields.T


def _tenths(value) -> int:
    return int(value * 10)


def score_many(matrix: np.ndarray, policy: Policy) -> VectorScores:
    hukou = matrix[:, _HUKOU]
    share = matrix[:, _SHARE]
    registered = matrix[:, _REGISTERED]
    si = matrix[:, _SI]

    own = share >= int(policy.ownership_min_share * 100)
    rent = (matrix[:, _RENTAL] == 1) | (matrix[:, _HOUSING_EVIDENCE] == 1)
    housing = np.where(own, HOUSING_OWN, np.where(rent, HOUSING_RENT, HOUSING_NONE))

    # Full months from registration to the cut-off (DOMAIN.md), for classes D and C only.
    cutoff = policy.cutoff
    reg_year, reg_month, reg_day = registered // 10000, registered // 100 % 100, registered % 100
    months = (cutoff.year - reg_year) * 12 + (cutoff.month - reg_month)
    months = months - (cutoff.day < reg_day)
    months = np.maximum(months, 0)
    residence = np.where(
        ((hukou == HUKOU_CODE["D"]) | (hukou == HUKOU_CODE["C"])) & (registered > 0), months, 0
    )

    hukou_missing = hukou == 0
    # Without a related guardian no adult fact counts, and housing is not asked about.
    guardianship = matrix[:, _GUARDIANSHIP] == 1
    guardianship_missing = ~guardianship
    housing_missing = guardianship & (housing == HOUSING_NONE)
    scored = ~hukou_missing & ~guardianship_missing & ~housing_missing

    # First matching row wins: apply the rows last to first.
    base = np.zeros(len(matrix), dtype=np.int64)
    elsewhere = matrix[:, _ELSEWHERE] == 1
    for row in reversed(policy.base_rows):
        match = (hukou == HUKOU_CODE[row.hukou]) & (
            housing == (HOUSING_OWN if row.housing == "OWN" else HOUSING_RENT)
        )
        if row.owns_elsewhere is not None:
            match &= elsewhere == row.owns_elsewhere
        base = np.where(match, _tenths(row.points), base)

    bonus = np.zeros(len(matrix), dtype=np.int64)
    for hukou_class, rule in policy.bonus_rules.items():
        counted_of = residence if rule.per == "residence_month" else si
        counted = np.maximum(counted_of - rule.beyond, 0)
        value = np.maximum(np.minimum(counted * _tenths(rule.points), _tenths(rule.cap)), 0)
        bonus = np.where(hukou == HUKOU_CODE[hukou_class], value, bonus)

    base = np.where(scored, base, 0)
    bonus = np.where(scored, bonus, 0)

    def classes(names) -> np.ndarray:
        return np.isin(hukou, [HUKOU_CODE[name] for name in names])

    permit_missing = classes(policy.permit_required_for) & (matrix[:, _PERMIT] == 0)
    si_short = classes(policy.si_required_for) & (si < policy.si_min_months)
    unreviewed = (
        (hukou_missing & (matrix[:, _HUKOU_REJECTED] == 0))
        | (guardianship_missing & (matrix[:, _GUARDIANSHIP_REJECTED] == 0))
        | (housing_missing & (matrix[:, _HOUSING_REJECTED] == 0))
    )
    ineligible = (hukou_missing | guardianship_missing | housing_missing) | (
        scored & (permit_missing | si_short)
    )
    outcome = np.where(
        unreviewed,
        OUTCOME_CODE["needs_review"],
        np.where(ineligible, OUTCOME_CODE["ineligible"], OUTCOME_CODE["eligible"]),
    )
    return VectorScores(
        outcome=outcome,
        housing=housing,
        residence_months=residence,
        base_tenths=base,
        bonus_tenths=bonus,
        total_tenths=base + bonus,
    )
