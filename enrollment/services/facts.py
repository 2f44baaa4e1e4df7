"""From the registry's answers to the policy's facts, and from a score to a decision.

The registry answers the questions the policy asks (registry.contract); these functions turn
an answer, and any evidence an officer accepted, into the facts the policy scores, keep the
answer as JSON beside the decision, and build the decision row from a score.
"""

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date

from django.utils import timezone

from enrollment.models import (
    ApplicationState,
    Decision,
    Evidence,
    PolicyDocument,
    User,
)
from enrollment.policy import Facts, Score, facts_pack
from enrollment.policy.engine import FACT_CHILD_HUKOU, FACT_GUARDIANSHIP, FACT_HOUSING
from registry.contract import FamilyAnswer


def _evidence_ref(evidence: Evidence) -> dict:
    return {
        "source": "evidence",
        "key": str(evidence.pk),
        "kind": evidence.kind,
        "reviewed_by": evidence.reviewed_by_id,
        "reviewed_at": evidence.reviewed_at.isoformat() if evidence.reviewed_at else None,
    }


def _ref_json(record) -> dict | None:
    if record is None:
        return None
    return {
        "source": record.source,
        "key": record.key,
        "batch_id": record.batch_id,
        "as_of": record.as_of.isoformat(),
    }


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def answer_json(answer: FamilyAnswer) -> dict:
    """`registry.contract.to_json(answer)`, written out: a batch serialises 500 of these and
    the generic version walks every dataclass field by reflection."""
    hukou, housing, insurance, permit = (
        answer.child_hukou,
        answer.housing,
        answer.social_insurance,
        answer.permit,
    )
    return {
        "key": answer.key,
        "child_hukou": None
        if hukou is None
        else {
            "hukou_class": hukou.hukou_class,
            "district_code": hukou.district_code,
            "registered_on": hukou.registered_on.isoformat(),
            "record": _ref_json(hukou.record),
        },
        "related_guardians": [
            {
                "guardian_index": relation.guardian_index,
                "basis": relation.basis,
                "record": _ref_json(relation.record),
            }
            for relation in answer.related_guardians
        ],
        "housing": {
            "owned_share_percent": str(housing.owned_share_percent),
            "owned_record": _ref_json(housing.owned_record),
            "rental_record": _ref_json(housing.rental_record),
            "owns_elsewhere": housing.owns_elsewhere,
            "elsewhere_record": _ref_json(housing.elsewhere_record),
        },
        "social_insurance": {
            "qualifying_months": insurance.qualifying_months,
            "guardian_index": insurance.guardian_index,
            "window_start": _iso(insurance.window_start),
            "window_end": _iso(insurance.window_end),
            "record": _ref_json(insurance.record),
        },
        "permit": None
        if permit is None
        else {
            "qualifies": permit.qualifies,
            "issued_on": permit.issued_on.isoformat(),
            "expires_on": permit.expires_on.isoformat(),
            "record": _ref_json(permit.record),
        },
        "audit_entry_id": answer.audit_entry_id,
    }


def facts_from_answer(answer: FamilyAnswer, evidence: Iterable[Evidence] = ()) -> Facts:
    """The facts of one family: the registry's answer, corrected by evidence an officer reviewed.

    Accepted evidence stands in for the fact it concerns (housing: scored as RENT; hukou: the
    class and registration date the officer stated; social insurance: the months the officer
    counted; residence permit: qualifying; relation: a related guardian, whose facts the
    registry then looks up when asked again). Rejected evidence for a fact the registry lacks
    closes that question. The record behind each fact is kept in `sources`.

    The adults' facts in the answer are the related guardians' alone (the registry looks up
    no other adult), so guardianship is verified exactly when the answer names one.
    """
    hukou = answer.child_hukou
    housing = answer.housing
    facts = Facts(
        hukou_class=hukou.hukou_class if hukou else None,
        guardianship_verified=bool(answer.related_guardians),
        hukou_registered_on=hukou.registered_on if hukou else None,
        owned_share_percent=housing.owned_share_percent,
        has_rental=housing.rental_record is not None,
        owns_elsewhere=housing.owns_elsewhere,
        si_months=answer.social_insurance.qualifying_months,
        permit_qualifies=bool(answer.permit and answer.permit.qualifies),
        sources={
            FACT_CHILD_HUKOU: _ref_json(hukou.record) if hukou else None,
            FACT_GUARDIANSHIP: [
                {
                    **(_ref_json(relation.record) or {"source": relation.basis}),
                    "guardian_index": relation.guardian_index,
                }
                for relation in answer.related_guardians
            ]
            or None,
            FACT_HOUSING: _ref_json(housing.owned_record or housing.rental_record),
            "owns_elsewhere": _ref_json(housing.elsewhere_record),
            "social_insurance": {
                "qualifying_months": answer.social_insurance.qualifying_months,
                "guardian_index": answer.social_insurance.guardian_index,
                "window_start": _iso(answer.social_insurance.window_start),
                "window_end": _iso(answer.social_insurance.window_end),
                # The record the months rest on, so the points line names its source.
                "record": _ref_json(answer.social_insurance.record),
            },
            "residence_permit": _ref_json(answer.permit.record) if answer.permit else None,
        },
    )
    reviewed = sorted(
        (e for e in evidence if e.review != Evidence.Review.PENDING),
        key=lambda e: (e.reviewed_at or timezone.now(), e.pk),
    )
    accepted: dict[str, Evidence] = {}
    rejected: set[str] = set()
    for row in reviewed:
        if row.review == Evidence.Review.ACCEPTED:
            accepted[row.fact] = row
        else:
            rejected.add(row.fact)
    sources = dict(facts.sources)
    changes: dict = {}
    if row := accepted.get(Evidence.Fact.HOUSING):
        changes["housing_evidence_accepted"] = True
        sources["housing_evidence"] = _evidence_ref(row)
        if sources[FACT_HOUSING] is None:
            sources[FACT_HOUSING] = sources["housing_evidence"]
    if row := accepted.get(Evidence.Fact.HUKOU):
        values = row.accepted_values
        changes["hukou_class"] = values["hukou_class"]
        changes["hukou_registered_on"] = date.fromisoformat(values["registered_on"])
        sources[FACT_CHILD_HUKOU] = _evidence_ref(row)
    if row := accepted.get(Evidence.Fact.SOCIAL_INSURANCE):
        changes["si_months"] = int(row.accepted_values["qualifying_months"])
        sources["social_insurance"] = _evidence_ref(row)
    if row := accepted.get(Evidence.Fact.RESIDENCE_PERMIT):
        changes["permit_qualifies"] = True
        sources["residence_permit"] = _evidence_ref(row)
    if row := accepted.get(Evidence.Fact.RELATION):
        changes["guardianship_verified"] = True
        sources[FACT_GUARDIANSHIP] = [
            *(sources[FACT_GUARDIANSHIP] or []),
            {
                **_evidence_ref(row),
                "guardian_position": row.accepted_values.get("guardian_position"),
            },
        ]
    closed = set()
    if Evidence.Fact.HUKOU in rejected - accepted.keys():
        closed.add(FACT_CHILD_HUKOU)
    if Evidence.Fact.HOUSING in rejected - accepted.keys():
        closed.add(FACT_HOUSING)
    if Evidence.Fact.RELATION in rejected - accepted.keys():
        closed.add(FACT_GUARDIANSHIP)
    return replace(facts, **changes, rejected_on_review=frozenset(closed), sources=sources)


def facts_as_json(facts: Facts) -> dict:
    return {
        "hukou_class": facts.hukou_class,
        "guardianship_verified": facts.guardianship_verified,
        "hukou_registered_on": facts.hukou_registered_on.isoformat()
        if facts.hukou_registered_on
        else None,
        "owned_share_percent": str(facts.owned_share_percent),
        "has_rental": facts.has_rental,
        "owns_elsewhere": facts.owns_elsewhere,
        "si_months": facts.si_months,
        "permit_qualifies": facts.permit_qualifies,
        "housing_evidence_accepted": facts.housing_evidence_accepted,
        "rejected_on_review": sorted(facts.rejected_on_review),
        "sources": facts.sources,
    }


def decision_from_score(
    *,
    application_id: int,
    policy: PolicyDocument,
    result: Score,
    facts: Facts,
    answer: FamilyAnswer | None = None,
    evidence_ids: Sequence[int] = (),
    basis: str = Decision.Basis.COMPUTED,
    decided_by: User | None = None,
    reason: str = "",
) -> Decision:
    """An unsaved Decision holding the score, the facts (with the record behind each), the
    registry's answer it rests on, and the trace."""
    return Decision(
        application_id=application_id,
        policy=policy,
        is_current=True,
        basis=basis,
        outcome=result.outcome,
        hukou_class=result.hukou_class,
        housing_class=result.housing_class,
        base_points=result.base_points,
        bonus_points=result.bonus_points,
        total_points=result.total_points,
        residence_months=result.residence_months,
        si_months=result.si_months,
        reasons=list(result.reasons),
        facts={
            "answer": answer_json(answer) if answer is not None else None,
            "facts": facts_as_json(facts),
            "evidence": list(evidence_ids),
        },
        facts_packed=facts_pack(facts),
        trace=list(result.trace),
        decided_by=decided_by,
        reason=reason,
    )


def state_for_outcome(outcome: str) -> str:
    return ApplicationState.NEEDS_REVIEW if outcome == "needs_review" else ApplicationState.DECIDED
