"""What a claimed verification job needs of its application, read as plain values, and the
question it asks the registry (services.verification runs the batch)."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Q

from enrollment.consent_tokens import consent_token_sign
from enrollment.models import (
    Evidence,
    Guardian,
    PolicyDocument,
    VerificationJob,
    applicant_is_related,
)
from enrollment.policy import Policy
from registry.contract import FamilyAnswer, FamilyQuestion


@dataclass(frozen=True)
class Case:
    """What one claimed job needs of its application, read as plain values (a batch of 500
    applications as model instances with prefetched guardians costs more than their lookup)."""

    id: int  # the job's
    application_id: int
    ref: str
    applicant_id: int | None
    applicant_id_number: str | None  # the account's verified ID number
    child_id_number: str
    home_community_code: str
    district_code: str
    admission_year: int
    grade: str
    consent_reference: str
    consent_purpose: str
    guardian_ids: tuple[str, ...]
    # Positions in guardian_ids (from 0) an officer accepted as related on evidence.
    related_on_evidence: tuple[int, ...] = ()


def cases_load(job_ids: Sequence[int], token: str) -> list[Case]:
    rows = list(
        VerificationJob.objects.filter(id__in=job_ids, claim_token=token)
        .order_by("id")
        .values_list(
            "id",
            "application_id",
            "application__ref",
            "application__applicant_id",
            "application__applicant__verified_id_number",
            "application__child_id_number",
            "application__home_community_code",
            "application__district_code",
            "application__admission_year",
            "application__grade",
            "application__consent__reference",
            "application__consent__purpose",
        )
    )
    application_ids = [row[1] for row in rows]
    guardians: dict[int, list[str]] = defaultdict(list)
    positions: dict[int, list[int]] = defaultdict(list)
    for application_id, id_number, position in (
        Guardian.objects.filter(application_id__in=application_ids)
        .order_by("application_id", "position")
        .values_list("application_id", "id_number", "position")
    ):
        guardians[application_id].append(id_number)
        positions[application_id].append(position)
    on_evidence: dict[int, set[int]] = defaultdict(set)
    for application_id, values in Evidence.objects.filter(
        application_id__in=application_ids,
        fact=Evidence.Fact.RELATION,
        review=Evidence.Review.ACCEPTED,
    ).values_list("application_id", "accepted_values"):
        position = (values or {}).get("guardian_position")
        if position in positions[application_id]:
            on_evidence[application_id].add(positions[application_id].index(position))
    return [
        Case(
            *row,
            guardian_ids=tuple(guardians[row[1]]),
            related_on_evidence=tuple(sorted(on_evidence[row[1]])),
        )
        for row in rows
    ]


def question_for(case: Case, policy: Policy) -> FamilyQuestion:
    doc = policy.document
    return FamilyQuestion(
        key=case.ref,
        consent_reference=case.consent_reference or "",
        end_user=f"user:{case.applicant_id}" if case.applicant_id else "counter",
        child_id_number=case.child_id_number,
        guardian_id_numbers=case.guardian_ids,
        home_community_code=case.home_community_code,
        cutoff=policy.cutoff,
        district_code=doc["district_code"],
        city_code=doc["city_code"],
        si_window_months=int(doc["si_window_months"]),
        permit_min_months=int(doc["permit_min_months"]),
        related_on_evidence=case.related_on_evidence,
        # Signed here, once per consent per batch, for the people this application names.
        consent_token=consent_token_sign(
            consent_reference=case.consent_reference,
            child_id_number=case.child_id_number,
            guardian_id_numbers=case.guardian_ids,
            purpose=case.consent_purpose,
        )
        if case.consent_reference
        else "",
    )


def policies_load(cases: Sequence[Case]) -> dict[int, PolicyDocument]:
    """The active policy of each case's application, one query for all of them."""
    keys = {(c.district_code, c.admission_year, c.grade) for c in cases}
    condition = Q()
    for district_code, year, grade in keys:
        condition |= Q(district_code=district_code, admission_year=year, grade=grade)
    documents = {
        (p.district_code, p.admission_year, p.grade): p
        for p in PolicyDocument.objects.filter(condition, is_active=True)
    }
    return {
        c.application_id: documents[(c.district_code, c.admission_year, c.grade)]
        for c in cases
        if (c.district_code, c.admission_year, c.grade) in documents
    }


def applicant_related_in(case: Case, answer: FamilyAnswer) -> bool:
    """Counter-entered applications have no account to relate; the question already carried
    the guardians accepted on evidence, so the answer's relations are the whole story."""
    if case.applicant_id is None:
        return True
    return applicant_is_related(
        applicant_id_number=case.applicant_id_number or "",
        # Only indexes matter here: no acceptance on evidence is passed (see above).
        guardians=list(enumerate(case.guardian_ids)),
        related_indexes={relation.guardian_index for relation in answer.related_guardians},
    )
