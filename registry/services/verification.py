"""Answers the points policy's questions about families, a batch at a time.

A batch of any size costs a fixed handful of queries (one per department table, plus the
audit append): the people asked about are gathered first, each table is read once for all of
them, and the answers are put together in memory.

Facts about an adult are looked up only when the adult is a related guardian of the child
(DOMAIN.md, "Guardianship"): their hukou is in the child's household, or the asking department
accepted evidence of the relation. The hukou table is read first, for the children and the
named adults together; the other tables only for the related guardians. An adult named but not
related has nothing looked up beyond that household comparison, and nothing about them is
returned: a family cannot borrow a stranger's flat or pension.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Max, Q

from registry.contract import (
    FamilyAnswer,
    FamilyQuestion,
    GuardianRelation,
    HousingAnswer,
    HukouAnswer,
    LookupContext,
    LookupRefused,
    PermitAnswer,
    RecordRef,
    RelationBasis,
    SocialInsuranceAnswer,
    full_months,
    month_window,
    to_json,
)
from registry.models import (
    AuditEntry,
    HukouRecord,
    PropertyRecord,
    RentalRecord,
    ResidencePermitRecord,
    SocialInsuranceRecord,
    Source,
)
from registry.services.audit import AuditItem, audit_append, refused
from registry.services.consents import consents_check


def _chunks(values: Sequence[str]) -> Iterable[list[str]]:
    # PostgreSQL takes the whole batch as one array parameter (`__any`), so a batch of
    # thousands of families is one query per table; SQLite needs chunks under its variable
    # limit.
    values = list(values)
    if not values:
        return  # nobody to ask about: no query at all
    if connection.vendor == "postgresql":
        yield values
        return
    for start in range(0, len(values), 900):
        yield values[start : start + 900]


def _among(field: str, values: list[str]) -> Q:
    lookup = "any" if connection.vendor == "postgresql" else "in"
    return Q(**{f"{field}__{lookup}": values})


def _ref(source: str, key: str, row) -> RecordRef:
    return RecordRef(source=source, key=key, batch_id=row.batch_id, as_of=row.as_of)


def _refuse(context: LookupContext, questions: Sequence[FamilyQuestion], code: str, why: str):
    raise refused(
        context=context,
        questions=questions,
        code=code,
        why=why,
        subjects=lambda q: (q.child_id_number, *q.guardian_id_numbers),
    )


def verify_families(
    *, questions: Sequence[FamilyQuestion], context: LookupContext
) -> list[FamilyAnswer]:
    """Answer every question, in order.

    A batch without a purpose, or with a question that carries no consent reference or no
    valid consent token (registry/consent.py), is refused whole: nothing is looked up, and
    the refusal is audited for every question.
    """
    if not context.purpose.strip():
        _refuse(context, questions, "PURPOSE_MISSING", "a lookup must state its purpose")
    if any(not q.consent_reference.strip() for q in questions):
        _refuse(context, questions, "CONSENT_MISSING", "every lookup needs a consent reference")
    if not questions:
        return []
    try:
        consents_check(questions=questions, context=context)
    except LookupRefused as refusal:
        _refuse(context, questions, refusal.code, str(refusal))

    children = {q.child_id_number for q in questions}
    named = {g for q in questions for g in q.guardian_id_numbers}

    # Named tuples of the few columns the answers need, not model instances: a batch of
    # 10,000 families reads tens of thousands of rows.
    hukou = {}
    for chunk in _chunks(sorted(children)):
        hukou.update(
            (row.id_number, row)
            for row in HukouRecord.objects.filter(_among("id_number", chunk)).values_list(
                "id_number",
                "hukou_district_code",
                "registered_on",
                "household_no",
                "batch_id",
                "as_of",
                named=True,
            )
        )
    # The named adults' hukou rows, only those in a household of a child asked about: an
    # adult in no such household is never read (nor, without a child's row, is anyone).
    households = sorted({row.household_no for row in hukou.values() if row.household_no})
    in_households = {}
    if households:
        for chunk in _chunks(sorted(named)):
            in_households.update(
                (row.id_number, row)
                for row in HukouRecord.objects.filter(
                    _among("id_number", chunk), _among("household_no", households)
                ).values_list("id_number", "household_no", "batch_id", "as_of", named=True)
            )
    relations = [_relations(question, hukou, in_households) for question in questions]
    guardians = {
        question.guardian_id_numbers[relation.guardian_index]
        for question, related in zip(questions, relations, strict=True)
        for relation in related
    }

    properties = defaultdict(list)
    rentals = defaultdict(list)
    permits = defaultdict(list)
    for chunk in _chunks(sorted(guardians)):
        for row in (
            PropertyRecord.objects.filter(_among("owner_id_number", chunk))
            .order_by("id")
            .values_list(
                "owner_id_number",
                "certificate_no",
                "share_percent",
                "community_code",
                "batch_id",
                "as_of",
                named=True,
            )
        ):
            properties[row.owner_id_number].append(row)
        for row in (
            RentalRecord.objects.filter(_among("tenant_id_number", chunk))
            .order_by("id")
            .values_list(
                "tenant_id_number",
                "registration_no",
                "community_code",
                "start_date",
                "end_date",
                "batch_id",
                "as_of",
                named=True,
            )
        ):
            rentals[row.tenant_id_number].append(row)
        for row in (
            ResidencePermitRecord.objects.filter(_among("id_number", chunk))
            .order_by("id")
            .values_list(
                "id_number",
                "permit_no",
                "issued_on",
                "expires_on",
                "batch_id",
                "as_of",
                named=True,
            )
        ):
            permits[row.id_number].append(row)

    si_months = _qualifying_months(questions, guardians)

    answers = [
        _answer(question, related, hukou, properties, rentals, permits, si_months)
        for question, related in zip(questions, relations, strict=True)
    ]
    entries = audit_append(
        items=[
            AuditItem(
                client_id=context.client_id,
                end_user=question.end_user,
                purpose=context.purpose,
                consent_reference=question.consent_reference,
                outcome=AuditEntry.Outcome.ANSWERED,
                question=to_json(question),
                answer=to_json(answer),
                subjects=(question.child_id_number, *question.guardian_id_numbers),
            )
            for question, answer in zip(questions, answers, strict=True)
        ]
    )
    return [
        FamilyAnswer(**{**answer.__dict__, "audit_entry_id": entry.id})
        for answer, entry in zip(answers, entries, strict=True)
    ]


def _qualifying_months(
    questions: Sequence[FamilyQuestion], guardians: set[str]
) -> dict[tuple[date, date], dict[str, tuple[int, object]]]:
    """Per window, per guardian: months with both pension and medical paid, and the row of the
    latest of them, which the answer names as its record (its batch and as-of date are those
    of the newest data counted)."""
    windows = {month_window(q.cutoff, q.si_window_months) for q in questions}
    result: dict[tuple[date, date], dict[str, tuple[int, object]]] = {}
    for window in windows:
        counts: dict[str, tuple[int, object]] = {}
        for chunk in _chunks(sorted(guardians)):
            qualifying = SocialInsuranceRecord.objects.filter(
                _among("id_number", chunk),
                month__gte=window[0],
                month__lte=window[1],
                pension=True,
                medical=True,
            )
            totals = {
                row["id_number"]: (row["months"], row["last"])
                for row in qualifying.values("id_number").annotate(
                    months=Count("month", distinct=True), last=Max("month")
                )
            }
            # One more query for the latest rows themselves: most guardians' latest month is
            # the window's last, so this reads about one row per guardian counted.
            latest = {
                (row.id_number, row.month): row
                for row in qualifying.filter(
                    month__in=sorted({last for _, last in totals.values()})
                ).only("id_number", "month", "batch_id", "as_of")
            }
            for id_number, (months, last) in totals.items():
                counts[id_number] = (months, latest.get((id_number, last)))
        result[window] = counts
    return result


def _relations(
    question: FamilyQuestion, hukou: dict, in_households: dict
) -> tuple[GuardianRelation, ...]:
    """The named adults who are related guardians of the child, in the order named."""
    child = hukou.get(question.child_id_number)
    household = child.household_no if child is not None else ""
    on_evidence = set(question.related_on_evidence)
    related = []
    for index, id_number in enumerate(question.guardian_id_numbers):
        adult = in_households.get(id_number)
        # An empty household number names no household, so it never matches.
        if household and adult is not None and adult.household_no == household:
            related.append(
                GuardianRelation(
                    guardian_index=index,
                    basis=RelationBasis.HOUSEHOLD,
                    record=_ref(Source.HUKOU, household, adult),
                )
            )
        elif index in on_evidence:
            related.append(GuardianRelation(guardian_index=index, basis=RelationBasis.EVIDENCE))
    return tuple(related)


def _answer(question, related, hukou, properties, rentals, permits, si_months) -> FamilyAnswer:
    cutoff = question.cutoff
    # Only related guardians' facts count; the others' positions stay empty so that an
    # index in the answer (social insurance's `guardian_index`) still names the adult as named.
    related_at = {relation.guardian_index for relation in related}
    guardians = tuple(
        id_number if index in related_at else ""
        for index, id_number in enumerate(question.guardian_id_numbers)
    )

    child = hukou.get(question.child_id_number)
    child_hukou = None
    if child is not None:
        if child.hukou_district_code == question.district_code:
            hukou_class = "D"
        elif child.hukou_district_code.startswith(question.city_code):
            hukou_class = "C"
        else:
            hukou_class = "N"
        child_hukou = HukouAnswer(
            hukou_class=hukou_class,
            district_code=child.hukou_district_code,
            registered_on=child.registered_on,
            record=_ref(Source.HUKOU, child.household_no or "-", child),
        )

    # Ownership in the home community: shares of guardians on one certificate add up.
    shares: dict[str, Decimal] = defaultdict(Decimal)
    first_row = {}
    elsewhere = None
    for guardian in guardians:
        for row in properties.get(guardian, ()):
            if row.community_code == question.home_community_code:
                shares[row.certificate_no] += row.share_percent
                first_row.setdefault(row.certificate_no, row)
            elif row.community_code.startswith(question.city_code) and elsewhere is None:
                elsewhere = row
    owned_share = Decimal("0")
    owned_record = None
    if shares:
        certificate = max(sorted(shares), key=lambda c: shares[c])
        owned_share = shares[certificate]
        owned_record = _ref(Source.PROPERTY, certificate, first_row[certificate])
    rental_record = None
    for guardian in guardians:
        for row in sorted(rentals.get(guardian, ()), key=lambda r: r.registration_no):
            if (
                row.community_code == question.home_community_code
                and row.start_date <= cutoff <= row.end_date
            ):
                rental_record = _ref(Source.RENTAL, row.registration_no, row)
                break
        if rental_record:
            break
    housing = HousingAnswer(
        owned_share_percent=owned_share,
        owned_record=owned_record,
        rental_record=rental_record,
        owns_elsewhere=elsewhere is not None,
        elsewhere_record=_ref(Source.PROPERTY, elsewhere.certificate_no, elsewhere)
        if elsewhere
        else None,
    )

    window = month_window(cutoff, question.si_window_months)
    counts = si_months.get(window, {})
    best_index, best, best_row = None, 0, None
    for index, guardian in enumerate(guardians):
        months, row = counts.get(guardian, (0, None))
        if months > best:
            best_index, best, best_row = index, months, row
    social_insurance = SocialInsuranceAnswer(
        qualifying_months=best,
        guardian_index=best_index,
        window_start=window[0],
        window_end=window[1],
        # The guardian's latest qualifying month: a contribution has no number of its own, so
        # the record is named by the feed's key, the ID number and the month.
        record=_ref(
            Source.SOCIAL_INSURANCE, f"{best_row.id_number} {best_row.month:%Y-%m}", best_row
        )
        if best_row is not None
        else None,
    )

    permit = None
    candidates = []
    for guardian in guardians:
        for row in permits.get(guardian, ()):
            qualifies = (
                row.issued_on <= cutoff <= row.expires_on
                and full_months(row.issued_on, cutoff) >= question.permit_min_months
            )
            candidates.append((qualifies, row.issued_on, row))
    if candidates:
        qualifies, _, row = max(candidates, key=lambda c: (c[0], -c[1].toordinal()))
        permit = PermitAnswer(
            qualifies=qualifies,
            issued_on=row.issued_on,
            expires_on=row.expires_on,
            record=_ref(Source.RESIDENCE_PERMIT, row.permit_no, row),
        )

    return FamilyAnswer(
        key=question.key,
        child_hukou=child_hukou,
        related_guardians=related,
        housing=housing,
        social_insurance=social_insurance,
        permit=permit,
    )
