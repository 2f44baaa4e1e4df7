"""What-if: a changed policy document tried on every current application, touching nothing.

The facts of each current decision are stored packed (`Decision.facts_packed`), so a city's
200,000 applications load as one short column and are rescored column-wise
(`enrollment.policy.vector`) in well under a second. The result says how many applications
change outcome, how totals shift, and the first-choice demand on each school against its seats.
Decisions an officer overrode keep their overridden outcome; their points are rescored.
"""

import time
from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np
from django.db import connection
from django.db.models import F, IntegerField
from django.db.models.functions import Cast

from enrollment.errors import ApplicationError, ErrorCode
from enrollment.models import Decision, School, SchoolPreference, User
from enrollment.policy import Policy, PolicyInvalid, policy_validate
from enrollment.policy.vector import OUTCOME_CODE, OUTCOMES, facts_matrix, score_many
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


def _raw_rows(queryset) -> list[tuple]:
    """The queryset's rows as plain tuples, without Django's per-row conversions."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


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
    decisions = (
        Decision.objects.filter(
            is_current=True,
            application__district_code=officer.district_code,
            application__admission_year=year,
            application__grade=grade,
        )
        .annotate(total_tenths=Cast(F("total_points") * 10, IntegerField()))
        # No ORDER BY: a sort in numpy is cheaper than an ordered index walk over the rows.
        .order_by()
        .values_list("application_id", "facts_packed", "outcome", "total_tenths", "basis")
    )
    rows = _raw_rows(decisions)
    preferences = (
        SchoolPreference.objects.filter(
            rank=1,
            application__district_code=officer.district_code,
            application__admission_year=year,
            application__grade=grade,
        )
        .order_by()
        .values_list("application_id", "school_id")
    )
    first_choices = _raw_rows(preferences)
    loaded = time.perf_counter()

    rescorable = sorted((row for row in rows if row[1]), key=itemgetter(0))
    application_ids = np.fromiter((row[0] for row in rescorable), dtype=np.int64)
    matrix = facts_matrix([row[1] for row in rescorable])
    before_outcome = np.fromiter(
        (OUTCOME_CODE[row[2]] for row in rescorable), dtype=np.int64, count=len(rescorable)
    )
    before_total = np.fromiter(
        (row[3] for row in rescorable), dtype=np.int64, count=len(rescorable)
    )
    overridden = np.fromiter(
        (row[4] == Decision.Basis.OVERRIDE for row in rescorable),
        dtype=bool,
        count=len(rescorable),
    )
    parsed = time.perf_counter()

    scores = score_many(matrix, tried)
    after_outcome = np.where(overridden, before_outcome, scores.outcome)
    after_total = scores.total_tenths
    delta = after_total - before_total
    scored = time.perf_counter()

    result = WhatIfResult(
        district_code=officer.district_code,
        admission_year=year,
        grade=grade,
        active_version=active.version,
        tried_version=str(document["version"]),
        applications=len(rescorable),
        not_rescorable=len(rows) - len(rescorable),
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
            officer.district_code,
            year,
            application_ids,
            before_outcome,
            after_outcome,
            first_choices,
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
    application_ids: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    first_choices: list[tuple],
) -> list[SchoolDemand]:
    schools = list(
        School.objects.filter(district_code=district_code, admission_year=year).order_by("code")
    )
    if not schools or not len(application_ids):
        return [SchoolDemand(s.code, s.name, s.capacity, 0, 0) for s in schools]
    index_of_school = {school.id: index for index, school in enumerate(schools)}
    choice_apps = np.fromiter((row[0] for row in first_choices), dtype=np.int64)
    choice_school = np.fromiter(
        (index_of_school.get(row[1], -1) for row in first_choices), dtype=np.int64
    )
    # application_ids is sorted (ordered by application id): find each choice's decision.
    position = np.searchsorted(application_ids, choice_apps)
    position = np.minimum(position, len(application_ids) - 1)
    known = (application_ids[position] == choice_apps) & (choice_school >= 0)
    position, choice_school = position[known], choice_school[known]
    eligible = OUTCOME_CODE["eligible"]
    count_before = np.bincount(choice_school[before[position] == eligible], minlength=len(schools))
    count_after = np.bincount(choice_school[after[position] == eligible], minlength=len(schools))
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
