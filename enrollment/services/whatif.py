"""What-if: a changed policy document tried on every current application, touching nothing.

The facts of each current decision are stored packed (`Decision.facts_packed`), so a city's
200,000 applications load as one short column and are rescored column-wise
(`enrollment.policy.vector`) in well under a second. The result says how many applications
change outcome, how totals shift, and the first-choice demand on each school against its seats.
Decisions an officer overrode keep their overridden outcome; their points are rescored.
"""

import time
from dataclasses import dataclass, field

import numpy as np
from django.db import connection

from enrollment.errors import ApplicationError, ErrorCode
from enrollment.models import Decision, PolicyDocument, School, SchoolPreference, User
from enrollment.policy import Policy, PolicyInvalid, policy_validate
from enrollment.policy.engine import PACKED_LENGTH
from enrollment.policy.vector import (
    OUTCOME_CODE,
    OUTCOMES,
    facts_matrix_from_digits,
    score_many,
)
from enrollment.services.policies import policy_active

# Totals are grouped in bands of this many points for the before/after histograms.
TOTAL_BAND = 10
# Deltas beyond this many points either way are gathered in the outermost bins.
DELTA_SPAN = 20


@dataclass(frozen=True)
class SchoolDemand:
    code: str
    name: str
    capacity: int
    first_choice_before: int  # eligible applicants naming it first, under the active policy
    first_choice_after: int  # the same under the tried policy


@dataclass(frozen=True)
class WhatIfResult:
    district_code: str
    admission_year: int
    grade: str
    active_version: str
    tried_version: str
    applications: int
    not_rescorable: int  # current decisions without packed facts (none are made so today)
    changed_outcome: int
    changed_total: int
    outcomes_before: dict[str, int]
    outcomes_after: dict[str, int]
    # transitions[from][to]: how many applications move from one outcome to another
    transitions: dict[str, dict[str, int]]
    delta_mean: float
    delta_min: float
    delta_max: float
    # [{"delta": -3, "count": 120}, ...]: whole points, the ends gathering everything beyond
    delta_histogram: list[dict]
    # [{"from": 90, "to": 100, "before": 1200, "after": 1300}, ...]
    total_histogram: list[dict]
    schools: list[SchoolDemand]
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class _Population:
    """The current decisions of a district's year, as columns."""

    facts_digits: np.ndarray  # (n, PACKED_LENGTH) uint8: the packed facts as bytes
    outcome: np.ndarray  # OUTCOME_CODE
    total_tenths: np.ndarray
    overridden: np.ndarray  # bool
    first_choice: np.ndarray  # school id of the first preference, 0 for none
    not_rescorable: int


# One fixed-width record per decision: packed facts, outcome and basis initials, the total in
# tenths (5 digits) and the first choice's school id (12 digits).
_TOTAL_WIDTH, _SCHOOL_WIDTH = 5, 12
_RECORD = PACKED_LENGTH + 2 + _TOTAL_WIDTH + _SCHOOL_WIDTH
_OUTCOME_OF_INITIAL = {ord(name[0]): OUTCOME_CODE[name] for name in OUTCOMES}


def _load(district_code: str, year: int, grade: str) -> _Population:
    if connection.vendor == "postgresql":
        return _load_aggregated(district_code, year, grade)
    return _load_rows(district_code, year, grade)


def _load_aggregated(district_code: str, year: int, grade: str) -> _Population:
    """PostgreSQL: every decision as one fixed-width record, all of them in one text value, so
    200,000 decisions cross the wire as one value and are read as one block of bytes."""
    # A decision's policy is its application's district, year and grade (verification picks
    # it by them; review and override keep it), so the policy narrows the decisions without
    # joining 200,000 applications.
    decision, policy, preference = (
        Decision._meta.db_table,
        PolicyDocument._meta.db_table,
        SchoolPreference._meta.db_table,
    )
    sql = f"""
        SELECT
            string_agg(
                d.facts_packed || left(d.outcome, 1) || left(d.basis, 1)
                || lpad(round(d.total_points * 10)::int::text, {_TOTAL_WIDTH}, '0')
                || lpad(coalesce(p.school_id, 0)::text, {_SCHOOL_WIDTH}, '0'),
                ''
            ) FILTER (WHERE length(d.facts_packed) = {PACKED_LENGTH}),
            count(*) FILTER (WHERE length(d.facts_packed) <> {PACKED_LENGTH})
        FROM {decision} d
        LEFT JOIN {preference} p ON p.application_id = d.application_id AND p.rank = 1
        WHERE d.is_current AND d.policy_id IN (
            SELECT id FROM {policy}
            WHERE district_code = %s AND admission_year = %s AND grade = %s
        )
    """  # noqa: S608 - table names come from the models, values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [district_code, year, grade])
        block, not_rescorable = cursor.fetchone()
    data = (block or "").encode("ascii")
    records = np.frombuffer(data, dtype=np.uint8).reshape(len(data) // _RECORD, _RECORD)
    at = PACKED_LENGTH
    outcome_of = np.zeros(256, dtype=np.int64)
    for initial, code in _OUTCOME_OF_INITIAL.items():
        outcome_of[initial] = code
    return _Population(
        facts_digits=records[:, :PACKED_LENGTH],
        outcome=outcome_of[records[:, at]],
        overridden=records[:, at + 1] == ord(Decision.Basis.OVERRIDE[0]),
        total_tenths=_digits(records[:, at + 2 : at + 2 + _TOTAL_WIDTH]),
        first_choice=_digits(records[:, at + 2 + _TOTAL_WIDTH :]),
        not_rescorable=int(not_rescorable or 0),
    )


def _digits(columns: np.ndarray) -> np.ndarray:
    value = np.zeros(len(columns), dtype=np.int64)
    for index in range(columns.shape[1]):
        value *= 10
        value += columns[:, index] - ord("0")
    return value


def _load_rows(district_code: str, year: int, grade: str) -> _Population:
    """Any database: the same columns from plain rows (the demo's SQLite)."""
    decisions = list(
        Decision.objects.current()
        .filter(
            application__district_code=district_code,
            application__admission_year=year,
            application__grade=grade,
        )
        .values_list("application_id", "facts_packed", "outcome", "total_points", "basis")
    )
    first = dict(
        SchoolPreference.objects.filter(
            rank=1, application_id__in=[row[0] for row in decisions]
        ).values_list("application_id", "school_id")
    )
    rows = [row for row in decisions if len(row[1]) == PACKED_LENGTH]
    digits = np.frombuffer("".join(row[1] for row in rows).encode("ascii"), dtype=np.uint8)
    return _Population(
        facts_digits=digits.reshape(len(rows), PACKED_LENGTH),
        outcome=np.array([OUTCOME_CODE[row[2]] for row in rows], dtype=np.int64),
        total_tenths=np.array([int(row[3] * 10) for row in rows], dtype=np.int64),
        overridden=np.array([row[4] == Decision.Basis.OVERRIDE for row in rows], dtype=bool),
        first_choice=np.array([first.get(row[0], 0) for row in rows], dtype=np.int64),
        not_rescorable=len(decisions) - len(rows),
    )


def policy_what_if(*, officer: User, document: dict) -> WhatIfResult:
    """Rescore the current decisions of the document's district, year and grade under it."""
    if not (officer and officer.is_officer):
        raise ApplicationError(
            ErrorCode.PERMISSION_DENIED, "Only officers may try policies.", field="officer"
        )
    try:
        policy_validate(document)
    except PolicyInvalid as error:
        raise ApplicationError(
            ErrorCode.INVALID, f"document.{error}", field=f"document.{error.key}"
        ) from None
    if document["district_code"] != officer.district_code:
        raise ApplicationError(
            ErrorCode.PERMISSION_DENIED,
            "document.district_code: an officer tries policies of their own district only",
            field="document.district_code",
        )
    year, grade = int(document["admission_year"]), document["grade"]
    active = policy_active(district_code=officer.district_code, admission_year=year, grade=grade)
    tried = Policy(document)

    started = time.perf_counter()
    population = _load(officer.district_code, year, grade)
    loaded = time.perf_counter()
    matrix = facts_matrix_from_digits(population.facts_digits)
    parsed = time.perf_counter()
    before_outcome, before_total = population.outcome, population.total_tenths

    scores = score_many(matrix, tried)
    after_outcome = np.where(population.overridden, before_outcome, scores.outcome)
    after_total = scores.total_tenths
    delta = after_total - before_total
    scored = time.perf_counter()

    result = WhatIfResult(
        district_code=officer.district_code,
        admission_year=year,
        grade=grade,
        active_version=active.version,
        tried_version=str(document["version"]),
        applications=len(before_total),
        not_rescorable=population.not_rescorable,
        changed_outcome=int(np.count_nonzero(after_outcome != before_outcome)),
        changed_total=int(np.count_nonzero(delta)),
        outcomes_before=_outcome_counts(before_outcome),
        outcomes_after=_outcome_counts(after_outcome),
        transitions=_transitions(before_outcome, after_outcome),
        delta_mean=round(float(delta.mean()) / 10, 2) if len(delta) else 0.0,
        delta_min=float(delta.min()) / 10 if len(delta) else 0.0,
        delta_max=float(delta.max()) / 10 if len(delta) else 0.0,
        delta_histogram=_delta_histogram(delta),
        total_histogram=_total_histogram(before_total, after_total),
        schools=_school_demand(
            officer.district_code, year, population.first_choice, before_outcome, after_outcome
        ),
    )
    finished = time.perf_counter()
    return _with_seconds(
        result,
        {
            "load": round(loaded - started, 4),
            "parse": round(parsed - loaded, 4),
            "score": round(scored - parsed, 4),
            "summarise": round(finished - scored, 4),
            "total": round(finished - started, 4),
        },
    )


def _with_seconds(result: WhatIfResult, seconds: dict) -> WhatIfResult:
    result.seconds.update(seconds)
    return result


def _outcome_counts(outcomes: np.ndarray) -> dict[str, int]:
    counts = np.bincount(outcomes, minlength=len(OUTCOMES))
    return {name: int(counts[code]) for code, name in enumerate(OUTCOMES)}


def _transitions(before: np.ndarray, after: np.ndarray) -> dict[str, dict[str, int]]:
    pairs = np.bincount(before * len(OUTCOMES) + after, minlength=len(OUTCOMES) ** 2)
    return {
        name_from: {
            name_to: int(pairs[code_from * len(OUTCOMES) + code_to])
            for code_to, name_to in enumerate(OUTCOMES)
        }
        for code_from, name_from in enumerate(OUTCOMES)
    }


def _delta_histogram(delta_tenths: np.ndarray) -> list[dict]:
    if not len(delta_tenths):
        return []
    # Whole points, rounded toward zero, the tails gathered at +-DELTA_SPAN.
    points = np.clip(np.trunc(delta_tenths / 10).astype(np.int64), -DELTA_SPAN, DELTA_SPAN)
    values, counts = np.unique(points, return_counts=True)
    return [
        {"delta": int(value), "count": int(count)}
        for value, count in zip(values, counts, strict=True)
    ]


def _total_histogram(before: np.ndarray, after: np.ndarray) -> list[dict]:
    if not len(before):
        return []
    band = TOTAL_BAND * 10
    before_bands = before // band
    after_bands = after // band
    low = int(min(before_bands.min(), after_bands.min()))
    high = int(max(before_bands.max(), after_bands.max()))
    before_counts = np.bincount(before_bands - low, minlength=high - low + 1)
    after_counts = np.bincount(after_bands - low, minlength=high - low + 1)
    return [
        {
            "from": (low + index) * TOTAL_BAND,
            "to": (low + index + 1) * TOTAL_BAND,
            "before": int(before_counts[index]),
            "after": int(after_counts[index]),
        }
        for index in range(high - low + 1)
    ]


def _school_demand(
    district_code: str,
    year: int,
    first_choice: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
) -> list[SchoolDemand]:
    schools = list(
        School.objects.filter(district_code=district_code, admission_year=year).order_by("code")
    )
    if not schools:
        return []
    # School ids to positions in `schools`; a first choice elsewhere counts nowhere.
    ids = np.array([school.id for school in schools], dtype=np.int64)
    order = np.argsort(ids)
    slot = np.searchsorted(ids[order], first_choice)
    slot = np.minimum(slot, len(ids) - 1)
    known = ids[order][slot] == first_choice
    position = order[slot][known]
    eligible = OUTCOME_CODE["eligible"]
    count_before = np.bincount(position[before[known] == eligible], minlength=len(schools))
    count_after = np.bincount(position[after[known] == eligible], minlength=len(schools))
    return [
        SchoolDemand(
            code=school.code,
            name=school.name,
            capacity=school.capacity,
            first_choice_before=int(count_before[index]),
            first_choice_after=int(count_after[index]),
        )
        for index, school in enumerate(schools)
    ]
