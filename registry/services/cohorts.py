"""The planning question: how many children of each entry cohort hold a hukou in each
community of an area (DOMAIN.md "Demand forecast"), answered with counts, never people.

Who may ask, and what protects the families counted:
- only for the purpose `planning`, with a token the asking department signed for exactly this
  area, these communities and these cohorts (registry/consent.py, planning tokens); anything
  else is refused, and the refusal audited;
- whole communities of one area and whole entry cohorts only: the question names admission
  years, and the registry derives the birth windows itself, so no count can be narrowed to a
  birthday or a street;
- a count of 1 or 2 children is withheld (`children` None, "fewer than 3"): so few that,
  with what a neighbour knows, it could point at one family. Zero is given: it says nothing
  about anyone. Sums over withheld cells are the asker's to leave out, and it says so;
- every question, answered or refused, is one entry in the keyed audit chain, about nobody.
"""

import re
from collections.abc import Sequence

from django.db.models import Case, Count, IntegerField, Max, Value, When
from django.utils import timezone

from registry.consent import planning_token_check
from registry.contract import (
    PURPOSE_PLANNING,
    CohortAnswer,
    CohortQuestion,
    LookupContext,
    LookupRefused,
    RefusalCode,
    entry_cohort_window,
    to_json,
)
from registry.models import AuditEntry, HukouRecord
from registry.services.audit import AuditItem, audit_append, refused
from registry.services.consents import consent_public_keys
from registry.services.verification import _among, _chunks

# Counts from 1 to MIN_COUNT - 1 are withheld. Three is the smallest threshold official
# statistics use for counts of people; a district's community has tens to hundreds of
# children per cohort, so it withholds almost nothing there.
MIN_COUNT = 3
# Admission years a question may name: the current one and six ahead is the forecast; a few
# more leave room for looking back.
MAX_YEARS = 12
_AREA = re.compile(r"^\d{4}(\d{2})?$")
_COMMUNITY = re.compile(r"^\d{12}$")


def _refuse(question: CohortQuestion, context: LookupContext, code: str, why: str):
    # A planning question names no one: its entry has no subjects.
    raise refused(context=context, questions=[question], code=code, why=why)


def _area_problem(question: CohortQuestion) -> str | None:
    """What makes the question not one of whole communities of one area and whole cohorts."""
    if not _AREA.match(question.area_code or ""):
        return "the area is a district (6 digits) or a city (4 digits)"
    if not question.community_codes:
        return "the question names no community"
    for code in question.community_codes:
        if not _COMMUNITY.match(code or "") or not code.startswith(question.area_code):
            return f"community {code[:12]!r} is not a 12-digit community of {question.area_code}"
    years = question.admission_years
    if not years or len(set(years)) > MAX_YEARS:
        return f"the question names 1 to {MAX_YEARS} admission years"
    if any(not isinstance(year, int) or not 2000 <= year <= 2100 for year in years):
        return "admission years are between 2000 and 2100"
    return None


def cohort_counts(*, question: CohortQuestion, context: LookupContext) -> CohortAnswer:
    """The count of every (community, admission year) the question names, in one query.

    Refused whole, and audited, when the purpose is not planning, when the consent reference
    or its token is missing or does not cover exactly this question, or when the question is
    not about whole communities of its area.
    """
    if not context.purpose.strip():
        _refuse(question, context, "PURPOSE_MISSING", "a lookup must state its purpose")
    if context.purpose != PURPOSE_PLANNING:
        _refuse(
            question,
            context,
            RefusalCode.PURPOSE_NOT_PLANNING,
            "counts of children are answered for planning only",
        )
    if not question.consent_reference.strip():
        _refuse(question, context, "CONSENT_MISSING", "every lookup needs a consent reference")
    problem = _area_problem(question)
    if problem is not None:
        _refuse(question, context, RefusalCode.PLANNING_AREA_INVALID, problem)
    try:
        planning_token_check(
            question=question,
            context=context,
            public_keys=consent_public_keys(client_id=context.client_id),
            now=timezone.now().timestamp(),
        )
    except LookupRefused as refusal:
        _refuse(question, context, refusal.code, str(refusal))

    communities = tuple(dict.fromkeys(question.community_codes))
    years = tuple(dict.fromkeys(question.admission_years))
    found, as_of = _count(communities, years)
    answer = CohortAnswer(
        key=question.key,
        community_codes=communities,
        admission_years=years,
        children=tuple(
            tuple(_disclosed(found.get((community, year), 0)) for year in years)
            for community in communities
        ),
        min_count=MIN_COUNT,
        as_of=as_of,
    )
    (entry,) = audit_append(
        items=[
            AuditItem(
                client_id=context.client_id,
                end_user=question.end_user,
                purpose=context.purpose,
                consent_reference=question.consent_reference,
                outcome=AuditEntry.Outcome.ANSWERED,
                question=to_json(question),
                answer=to_json(answer),
            )
        ]
    )
    return CohortAnswer(**{**answer.__dict__, "audit_entry_id": entry.id})


def _disclosed(children: int) -> int | None:
    return None if 0 < children < MIN_COUNT else children


def _count(communities: Sequence[str], years: Sequence[int]):
    """{(community, admission year): children} and the newest as-of date among them.

    One grouped statement over the hukou table: the rows born inside the span of the windows
    asked and living in the communities asked, each put in its entry cohort by comparing its
    birth date with the windows' bounds (dates against dates: a third quicker on a million
    rows than taking the year and month apart). Rows between two windows asked for (years
    not asked) fall in no cohort and are dropped.
    """
    windows = {year: entry_cohort_window(year) for year in sorted(set(years))}
    first = min(start for start, _ in windows.values())
    last = max(end for _, end in windows.values())
    cohort = Case(
        *(
            When(birth_date__gte=start, birth_date__lte=end, then=Value(year))
            for year, (start, end) in windows.items()
        ),
        output_field=IntegerField(),
    )
    found, as_of = {}, None
    # One chunk on PostgreSQL, whatever the number of communities (an array parameter).
    for chunk in _chunks(list(communities)):
        rows = (
            HukouRecord.objects.filter(
                _among("community_code", chunk), birth_date__gte=first, birth_date__lte=last
            )
            .annotate(cohort=cohort)
            .order_by()
            .values_list("community_code", "cohort")
            .annotate(children=Count("id"), newest=Max("as_of"))
        )
        for community, year, children, newest in rows:
            if year is None:
                continue
            found[(community, year)] = children
            as_of = newest if as_of is None or newest > as_of else as_of
    return found, as_of
